"""A realistic, fictional first batch (首批) of the pilot, dated relative to the day it is loaded.

Everything is made through the same services the pages use, so the demo follows the real rules.
"""

from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session, select

from pilot.accounts.services import create_user
from pilot.batches.services import create_batch
from pilot.cases.services import assign_experts, mark_stage, open_case, withdraw_case
from pilot.database import today
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round
from pilot.firms.credit_code import complete
from pilot.firms.services import create_firm
from pilot.frameworks.models import Scale
from pilot.frameworks.services import load_kpi_catalogue, load_shipped, set_batch_frameworks
from pilot.kpis.models import Kpi
from pilot.stages import MANUAL_STAGES, STAGE_CODES
from pilot.survey.services import save_survey, write_analysis
from pilot.visits.services import confirm_visit, log_visit

DEMO_PASSWORD = "pilot-demo-2026"

#: name, district, GB/T 4754 division, employees, revenue (10k RMB), land (mu), certifications
FIRMS = [
    ("郑州华岳耐火材料有限公司", "410183", "30", 420, "38600", "126", ["ISO9001", "ISO14001"]),
    ("巩义市恒通铝箔科技有限公司", "410181", "32", 860, "152000", "310", ["ISO9001", "IATF16949"]),
    ("郑州中研磨料磨具有限公司", "410103", "30", 380, "27500", "88", ["ISO9001"]),
    ("郑州金穗速冻食品有限公司", "410108", "14", 1250, "96400", "205", ["ISO9001", "ISO22000"]),
    ("郑州宏远矿山机械有限公司", "410106", "35", 540, "61800", "150", ["ISO9001", "ISO45001"]),
    ("郑州瑞驰汽车零部件有限公司", "410173", "36", 690, "83200", "172", ["IATF16949", "ISO14001"]),
    (
        "郑州航港智能电子科技有限公司",
        "410171",
        "39",
        1480,
        "210500",
        "260",
        ["ISO9001", "ISO14001", "ISO45001"],
    ),
    ("登封市嵩阳耐材有限公司", "410185", "30", 310, "22800", "95", ["ISO9001"]),
    ("荥阳市豫通阀门有限公司", "410182", "34", 260, "18900", "60", ["ISO9001"]),
    ("新郑市好禾枣业食品有限公司", "410184", "13", 450, "35200", "110", ["ISO9001", "GBT27925"]),
    ("郑州上街精密铝型材有限公司", "410106", "32", 720, "118000", "230", ["ISO9001", "ISO14001"]),
    ("郑州中原特种电缆有限公司", "410104", "38", 520, "74300", "140", ["ISO9001", "CCC"]),
    ("郑州德润智能仪表有限公司", "410172", "40", 280, "21600", "45", ["ISO9001", "GBT29490"]),
    ("郑州康宁药业有限公司", "410173", "27", 610, "68900", "130", ["ISO9001", "ISO14001"]),
    ("中牟县宇丰汽车配件有限公司", "410122", "36", 390, "41700", "98", ["IATF16949"]),
    ("郑州恒力起重设备有限公司", "410103", "34", 470, "52600", "120", ["ISO9001", "ISO45001"]),
    ("郑州卓立超硬材料有限公司", "410172", "30", 350, "46800", "70", ["ISO9001", "GBT29490"]),
    ("郑州金水锦绣服饰有限公司", "410105", "18", 830, "39500", "55", ["ISO9001"]),
    ("郑州雅美塑胶制品有限公司", "410108", "29", 300, "24300", "66", ["ISO9001", "ISO14001"]),
    ("巩义市永固耐火材料有限公司", "410181", "30", 340, "29800", "105", ["ISO9001"]),
]

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建华", "秀英", "志强", "海燕", "国庆", "丽娟", "卫东", "晓明", "红梅", "振宇"]

EXPERTS = [
    (
        "expert1",
        "张建国",
        "河南中质卓越质量管理咨询有限公司",
        "卓越绩效评价；过程管理",
        "全国质量奖评审员",
    ),
    ("expert2", "李敏", "郑州大学管理学院", "品牌培育；顾客与市场", "品牌培育管理体系评价师"),
    (
        "expert3",
        "赵卫东",
        "河南中质卓越质量管理咨询有限公司",
        "质量管理体系；测量分析与改进",
        "ISO 9001 高级审核员",
    ),
    ("expert4", "陈晓燕", "郑州市质量技术服务中心", "标准化；计量；检验检测", "注册质量工程师"),
]

#: How many stages each demo case has done (stages 3–6 by staff's marks until their records
#: exist). Cases with 1 done show the diagnosis under way in different states.
DONE_STAGES = [6, 6, 5, 5, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 0, 0]
#: For cases with only the survey done: the state their baseline diagnosis is in.
DIAGNOSIS_UNDER_WAY = {15: "submitted", 16: "returned", 17: "draft"}

#: (framework item code, severity, description): the findings experts write.
FINDINGS = [
    ("4.5.3", "severe", "关键工序（烧成、熔炼）工艺参数记录不完整，未开展过程能力（CPK）分析"),
    ("4.1.2", "general", "质量方针和目标未分解到车间班组，一线员工对质量目标知晓率低"),
    ("4.6.2", "general", "质量数据分散在各部门台账中，缺少统计分析和趋势跟踪"),
    ("4.3.3", "severe", "顾客投诉处理未形成闭环，缺少原因分析和纠正措施有效性验证"),
    ("4.4.5", "severe", "部分计量器具超期未检定，检定台账与实物不一致"),
    ("4.4.2", "general", "质量岗位人员培训计划未按期实施，缺少培训效果评价"),
    ("4.7.2", "observation", "产品一次交检合格率低于同行业先进水平，缺少对标数据"),
    ("5.1", "general", "尚未制定品牌战略规划，品牌定位和核心价值不清晰"),
    ("7.3", "general", "品牌培育关键过程未识别，商标使用和许可无管理制度"),
    ("8.1", "observation", "未开展品牌知名度、美誉度测量"),
]
#: (KPI code, baseline, target) per work target; varied per firm below.
TARGETS = [
    ("first_pass_yield", "95.2", "97.5"),
    ("quality_loss_rate", "2.80", "2.00"),
    ("customer_satisfaction", "84", "90"),
    ("complaints", "18", "10"),
]


def org_code(serial: int) -> str:
    """A GB 11714 organisation code (8 digits + check), part of the credit code."""
    body = f"{serial:08d}"
    total = sum(int(d) * w for d, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def _score(framework, seed: int) -> list[diagnosis.ScoreInput]:
    """Plausible item scores for a mid-level firm, varying by firm and item."""
    entries = []
    for n, item in enumerate(framework.items):
        wiggle = (seed * 7 + n * 3) % 5
        if framework.scale == Scale.BAND:
            percent = 30 + 5 * wiggle + (5 if item.kind == "result" and n % 2 else 0)
            entries.append(
                diagnosis.ScoreInput(
                    item.id,
                    percent=percent,
                    strengths="制度文件较齐全，管理层重视",
                    opportunities="过程监测和数据分析有待加强" if wiggle < 2 else "",
                )
            )
        else:
            entries.append(diagnosis.ScoreInput(item.id, level=2 + (wiggle >= 3)))
    return entries


def _diagnose(session, case, lead, staff_user, frameworks, seed: int, state: str, day) -> None:
    """A baseline diagnosis through the services: scores, findings, targets, then `state`."""
    d = diagnosis.start(session, lead, case, Round.BASELINE)
    for framework in frameworks:
        diagnosis.save_scores(session, lead, d, _score(framework, seed))
    items = {item.code: item for f in frameworks for item in f.items}
    for k in range(4):
        code, severity, text = FINDINGS[(seed + k * 3) % len(FINDINGS)]
        diagnosis.add_finding(
            session, lead, d, item_id=items[code].id, description=text, severity=severity
        )
    kpis = {k.code: k for k in session.exec(select(Kpi)).all()}
    for code, baseline, target in TARGETS[: 2 + seed % 3]:
        diagnosis.add_target(
            session,
            lead,
            d,
            diagnosis.TargetInput(
                kpi_id=kpis[code].id,
                baseline=Decimal(baseline),
                target=Decimal(target),
                target_date=case.evaluation_due,
            ),
        )
    if state == "draft":
        return
    diagnosis.submit(session, lead, d)
    if state == "returned":
        diagnosis.return_diagnosis(
            session, staff_user, d, "请补充4.5.3过程管理的现场证据，并核实目标值"
        )
    elif state == "accepted":
        diagnosis.accept(session, staff_user, d, {}, day)


def load_demo(session: Session) -> str:
    start = today() - timedelta(weeks=15)
    frameworks = load_shipped(session)
    load_kpi_catalogue(session)
    session.flush()
    admin = create_user(
        session, None, DEMO_PASSWORD, username="admin", display_name="系统管理员", role="admin"
    )
    staff = [
        create_user(
            session,
            admin,
            DEMO_PASSWORD,
            username="staff1",
            display_name="王丽",
            role="staff",
            email="wangli@example.cn",
        ),
        create_user(
            session,
            admin,
            DEMO_PASSWORD,
            username="staff2",
            display_name="刘洋",
            role="staff",
            email="liuyang@example.cn",
        ),
    ]
    experts = [
        create_user(
            session,
            admin,
            DEMO_PASSWORD,
            username=u,
            display_name=n,
            role="expert",
            organisation=o,
            specialties=s,
            qualifications=q,
        )
        for u, n, o, s, q in EXPERTS
    ]
    batch = create_batch(
        session,
        staff[0],
        name=f"{start.year}年首批质量提升品牌培育试点",
        year=start.year,
        start_date=start,
        end_date=start + timedelta(weeks=26),
        service_provider="河南中质卓越质量管理咨询有限公司",
        contract_ref=f"ZZSJG-{start.year}-ZL-017",
        expert_hours_bought=Decimal("960"),
    )
    set_batch_frameworks(session, batch.id, [f.id for f in frameworks])
    kpis = {k.code: k for k in session.exec(select(Kpi)).all()}
    for i, (name, district, industry, employees, revenue, land, certs) in enumerate(FIRMS):
        person = SURNAMES[i] + GIVEN[i % len(GIVEN)]
        firm = create_firm(
            session,
            staff[0],
            name=name,
            credit_code=complete(f"91{district}{org_code(35120000 + i * 7919)}"),
            district=district,
            industry_code=industry,
            mujun_class="A",
            mujun_year=start.year - 1,
            land_mu=Decimal(land),
            employees=employees,
            revenue=Decimal(revenue),
            contacts=[
                {"name": person, "title": "质量部部长", "phone": f"1380371{i:04d}", "email": ""},
            ],
            certifications=certs,
            awards="郑州市市长质量奖提名" if i % 7 == 0 else "",
            brands=name[2:6] if i % 3 == 0 else "",
        )
        firm_user = create_user(
            session,
            staff[0],
            DEMO_PASSWORD,
            username=f"firm{i + 1:02d}",
            display_name=person,
            role="firm",
            firm_id=firm.id,
        )
        case = open_case(session, staff[0], batch, firm)
        lead, second = experts[i % 4], experts[(i + 1) % 4]
        session.refresh(case, ["assignments"])
        assign_experts(session, staff[0], case, [lead.id, second.id], lead.id)
        done = STAGE_CODES[: DONE_STAGES[i]]
        if done or i == 18:
            save_survey(
                session,
                firm_user,
                case,
                submit=bool(done),
                systems=certs,
                weak_areas=["process", "measurement", "brand"][: 1 + i % 3],
                pain_points="质量数据统计分析薄弱，品牌建设缺少规划",
                wanted_help="卓越绩效导入、过程能力分析、品牌培育辅导",
                baselines=[
                    (kpis[c].id, Decimal(b), f"{start.year - 1}年") for c, b, _t in TARGETS[:2]
                ],
            )
        if done:
            write_analysis(
                session,
                staff[0],
                case,
                "企业质量管理体系运行基本有效，主要短板在过程数据分析和品牌战略，建议以卓越绩效自评为主线开展诊断。",
            )
        if "diagnosis" in done or i in DIAGNOSIS_UNDER_WAY:
            visit = log_visit(
                session,
                lead,
                case,
                visit_date=start + timedelta(weeks=5, days=i % 5),
                hours=Decimal("6.5"),
                expert_ids=[lead.id, second.id],
                activities="现场查看生产线，访谈高层和质量部门，查阅体系文件和质量记录",
                firm_participants=f"{person}（质量部）等5人",
                today=today(),
            )
            if "diagnosis" in done:
                confirm_visit(session, firm_user, visit)
            _diagnose(
                session,
                case,
                lead,
                staff[0],
                frameworks,
                i,
                "accepted" if "diagnosis" in done else DIAGNOSIS_UNDER_WAY[i],
                start + timedelta(weeks=7),
            )
        for stage in done:
            if stage in MANUAL_STAGES:
                mark_stage(session, staff[0], case, stage, "演示数据：阶段工作已完成")
        if i == 17:
            withdraw_case(session, staff[0], case, "企业生产线搬迁，申请退出本批试点")
    session.flush()
    return (
        f"Loaded batch {batch.name}: {len(FIRMS)} firms, {2 + len(EXPERTS) + len(FIRMS) + 1} users."
    )
