"""A realistic, fictional first batch (首批) of the pilot, dated relative to the day it is loaded.

Everything is made through the same services the pages use, so the demo follows the real rules.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from io import BytesIO

from sqlmodel import Session, select
from werkzeug.datastructures import FileStorage

from pilot import fonts
from pilot.accounts.models import User
from pilot.accounts.services import create_user
from pilot.batches.models import Batch
from pilot.batches.services import create_batch
from pilot.cases.models import Case
from pilot.cases.services import assign_experts, open_case, withdraw_case
from pilot.database import today
from pilot.demo import closing, data
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round
from pilot.files.store import save_upload
from pilot.firms.credit_code import complete
from pilot.firms.services import create_firm
from pilot.frameworks.models import Framework, Scale
from pilot.frameworks.services import load_kpi_catalogue, load_shipped, set_batch_frameworks
from pilot.kpis.models import Kpi
from pilot.rectification import services as rectification
from pilot.stages import STAGE_CODES
from pilot.survey.services import save_survey, write_analysis
from pilot.training import services as training
from pilot.training.models import TrainingSession
from pilot.visits.services import confirm_visit, log_visit


def org_code(serial: int) -> str:
    """A GB 11714 organisation code (8 digits + check), part of the credit code."""
    body = f"{serial:08d}"
    total = sum(int(d) * w for d, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


@cache
def evidence_pdf() -> bytes:
    """One small Chinese PDF, rendered once, uploaded as every demo item's evidence."""
    from weasyprint import HTML

    font = fonts.font_path("sans")
    face = f"@font-face {{ font-family: Demo; src: url({font.as_uri()}); }}" if font else ""
    html = (
        f"<style>{face} body {{ font-family: Demo; }}</style>"
        f"<h1>整改佐证材料</h1><p>{data.EVIDENCE_TEXT}</p>"
    )
    return HTML(string=html).write_pdf()


class Demo:
    """The people and reference data every case of the demo batch uses."""

    def __init__(self, session: Session, start: date):
        self.session = session
        self.start = start
        self.frameworks: list[Framework] = load_shipped(session)
        load_kpi_catalogue(session)
        session.flush()
        self.kpis = {k.code: k for k in session.exec(select(Kpi)).all()}
        # Every account has an address for the e-mail digest; the administrator chose none.
        self.admin = self._user(
            "admin", "系统管理员", "admin", email="admin@example.cn", digest="none"
        )
        self.staff = [
            self._user("staff1", "王丽", "staff", email="wangli@example.cn"),
            self._user("staff2", "刘洋", "staff", email="liuyang@example.cn"),
        ]
        self.experts = [
            self._user(
                u,
                n,
                "expert",
                email=f"{u}@example.cn",
                organisation=o,
                specialties=s,
                qualifications=q,
                # One expert reads the digest once a week.
                digest="weekly" if u == data.EXPERTS[-1][0] else "daily",
            )
            for u, n, o, s, q in data.EXPERTS
        ]
        self.batch = self._batch()
        self.sessions = self._sessions()

    @property
    def clerk(self) -> User:
        return self.staff[0]

    def _user(self, username: str, name: str, role: str, **fields) -> User:
        return create_user(
            self.session,
            None,
            data.DEMO_PASSWORD,
            username=username,
            display_name=name,
            role=role,
            **fields,
        )

    def _batch(self) -> Batch:
        batch = create_batch(
            self.session,
            self.clerk,
            name=f"{self.start.year}年首批质量提升品牌培育试点",
            year=self.start.year,
            start_date=self.start,
            end_date=self.start + timedelta(weeks=26),
            service_provider="河南中质卓越质量管理咨询有限公司",
            contract_ref=f"ZZSJG-{self.start.year}-ZL-017",
            expert_hours_bought=Decimal("960"),
        )
        set_batch_frameworks(self.session, batch.id, [f.id for f in self.frameworks])
        return batch

    def _sessions(self) -> list[TrainingSession]:
        created = []
        for weeks, topic, trainer, areas in data.SESSIONS:
            day = self.start + timedelta(weeks=weeks, days=2)
            created.append(
                training.save_session(
                    self.session,
                    self.clerk,
                    self.batch,
                    None,
                    case_ids=[],
                    finding_ids=[],
                    topic=topic,
                    trainer=trainer,
                    areas=areas,
                    hours=Decimal(3),
                    starts_at=datetime.combine(day, time(1, 30), tzinfo=UTC),  # 09:30 Beijing
                    place="郑州市市场监督管理局三楼会议室",
                    description="面向首批试点企业质量负责人",
                )
            )
        return created

    def firm(self, i: int, row) -> tuple[Case, User, User, User]:
        name, district, industry, employees, revenue, land, certs = row
        person = data.SURNAMES[i] + data.GIVEN[i % len(data.GIVEN)]
        firm = create_firm(
            self.session,
            self.clerk,
            name=name,
            credit_code=complete(f"91{district}{org_code(35120000 + i * 7919)}"),
            district=district,
            industry_code=industry,
            mujun_class="A",
            mujun_year=self.start.year - 1,
            land_mu=Decimal(land),
            employees=employees,
            revenue=Decimal(revenue),
            contacts=[
                {"name": person, "title": "质量部部长", "phone": f"1380371{i:04d}", "email": ""}
            ],
            certifications=certs,
            awards="郑州市市长质量奖提名" if i % 7 == 0 else "",
            brands=name[2:6] if i % 3 == 0 else "",
        )
        firm_user = create_user(
            self.session,
            self.clerk,
            data.DEMO_PASSWORD,
            username=f"firm{i + 1:02d}",
            display_name=person,
            role="firm",
            email=f"firm{i + 1:02d}@example.cn",
            firm_id=firm.id,
        )
        case = open_case(self.session, self.clerk, self.batch, firm)
        lead, second = self.experts[i % 4], self.experts[(i + 1) % 4]
        self.session.refresh(case, ["assignments"])
        assign_experts(self.session, self.clerk, case, [lead.id, second.id], lead.id)
        return case, firm_user, lead, second

    # Stage 1 -----------------------------------------------------------------------------------

    def survey(self, case: Case, firm_user: User, i: int, submit: bool) -> None:
        save_survey(
            self.session,
            firm_user,
            case,
            submit=submit,
            systems=data.FIRMS[i][6],
            weak_areas=["process", "measurement", "brand"][: 1 + i % 3],
            pain_points="质量数据统计分析薄弱，品牌建设缺少规划",
            wanted_help="卓越绩效导入、过程能力分析、品牌培育辅导",
            baselines=[
                (self.kpis[c].id, Decimal(b), f"{self.start.year - 1}年")
                for c, b, _t in data.TARGETS[:2]
            ],
        )
        if submit:
            write_analysis(
                self.session,
                self.clerk,
                case,
                "企业质量管理体系运行基本有效，主要短板在过程数据分析和品牌战略，"
                "建议以卓越绩效自评为主线开展诊断。",
            )

    # Stage 2 -----------------------------------------------------------------------------------

    def visit(self, case, firm_user, lead, second, i: int, confirm: bool) -> None:
        visit = log_visit(
            self.session,
            lead,
            case,
            visit_date=self.start + timedelta(weeks=5, days=i % 5),
            hours=Decimal("6.5"),
            expert_ids=[lead.id, second.id],
            activities="现场查看生产线，访谈高层和质量部门，查阅体系文件和质量记录",
            firm_participants=f"{firm_user.display_name}（质量部）等5人",
            today=today(),
        )
        if confirm:
            confirm_visit(self.session, firm_user, visit)

    def diagnose(self, case: Case, lead: User, seed: int, state: str) -> None:
        """A baseline diagnosis: scores, findings, targets, then left in `state`."""
        d = diagnosis.start(self.session, lead, case, Round.BASELINE)
        for framework in self.frameworks:
            diagnosis.save_scores(self.session, lead, d, _scores(framework, seed))
        items = {item.code: item for f in self.frameworks for item in f.items}
        for k in range(4):
            code, severity, text = data.FINDINGS[(seed + k * 3) % len(data.FINDINGS)]
            diagnosis.add_finding(
                self.session, lead, d, item_id=items[code].id, description=text, severity=severity
            )
        for code, baseline, target in data.TARGETS[: 2 + seed % 3]:
            diagnosis.add_target(
                self.session,
                lead,
                d,
                diagnosis.TargetInput(
                    kpi_id=self.kpis[code].id,
                    baseline=Decimal(baseline),
                    target=Decimal(target),
                    target_date=case.evaluation_due,
                ),
            )
        if state == "draft":
            return
        diagnosis.submit(self.session, lead, d)
        if state == "returned":
            diagnosis.return_diagnosis(
                self.session, self.clerk, d, "请补充4.5.3过程管理的现场证据，并核实目标值"
            )
        elif state == "accepted":
            diagnosis.accept(self.session, self.clerk, d, {}, self.start + timedelta(weeks=7))

    # Stage 3 -----------------------------------------------------------------------------------

    def rectify(self, case: Case, firm_user: User, lead: User, finish: bool) -> None:
        """Work the case's items: all closed when `finish`, else spread over the statuses."""
        for n, item in enumerate(rectification.items_of(self.session, case.id)):
            step = 4 if finish else n % 5  # 0 open, 1 in progress, 2 submitted, 3 returned
            if step == 0:
                continue
            if finish and n == 3:
                rectification.waive(
                    self.session,
                    self.clerk,
                    item,
                    "该问题已随生产线技改一并解决，经现场核实同意免于整改",
                )
                continue
            rectification.work(
                self.session,
                firm_user,
                item,
                version=None,
                root_cause=data.ROOT_CAUSE,
                measure=data.MEASURE,
                owner_name=firm_user.display_name,
                owner_dept="质量部",
                note="已完成制度修订，正在组织培训",
            )
            if step == 1:
                continue
            upload = FileStorage(
                BytesIO(evidence_pdf()), filename="整改佐证材料.pdf", content_type="application/pdf"
            )
            save_upload(
                self.session,
                firm_user,
                upload,
                owner_type="item",
                owner_id=item.id,
                case_id=case.id,
            )
            rectification.submit(self.session, firm_user, item)
            if step == 3:
                rectification.return_item(
                    self.session, lead, item, "佐证材料缺少培训签到表和考核记录，请补充后重新提交"
                )
            elif step == 4:
                rectification.verify(self.session, lead, item)

    # Stage 4 -----------------------------------------------------------------------------------

    def attend(self, case: Case, firm_user: User, sessions: int) -> None:
        for training_session in self.sessions[:sessions]:
            training.record_attendance(
                self.session,
                self.clerk,
                training_session,
                case,
                names=f"{firm_user.display_name}、质量部工程师",
                count=2,
                today=today(),
            )


def _scores(framework: Framework, seed: int) -> list[diagnosis.ScoreInput]:
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


def load_demo(session: Session) -> str:
    """Load the demo batch and commit it (the closed cases' reports are rendered as it commits)."""
    demo = Demo(session, today() - timedelta(weeks=19))
    for i, row in enumerate(data.FIRMS):
        case, firm_user, lead, second = demo.firm(i, row)
        done = STAGE_CODES[: data.DONE_STAGES[i]]
        if done or i == 18:
            demo.survey(case, firm_user, i, submit=bool(done))
        if "diagnosis" in done or i in data.DIAGNOSIS_UNDER_WAY:
            demo.visit(case, firm_user, lead, second, i, confirm="diagnosis" in done)
            state = "accepted" if "diagnosis" in done else data.DIAGNOSIS_UNDER_WAY[i]
            demo.diagnose(case, lead, i, state)
        if "diagnosis" in done:
            demo.rectify(case, firm_user, lead, finish="rectification" in done)
            demo.attend(case, firm_user, 2 if "training" in done else 1)
        if "plan" in done or i in data.PLAN_UNDER_WAY:
            closing.plan(demo, case, lead, "approved" if "plan" in done else data.PLAN_UNDER_WAY[i])
        if "evaluation" in done:
            closing.evaluate(demo, case, firm_user, lead, second, i)
        if i in data.CLOSED:
            closing.close(demo, case)
        if i == 17:
            withdraw_case(session, demo.clerk, case, "企业生产线搬迁，申请退出本批试点")
    active = [
        c.id
        for c in session.exec(select(Case).where(Case.batch_id == demo.batch.id)).all()
        if not c.is_withdrawn
    ]
    for training_session in demo.sessions:
        training.save_session(
            session, demo.clerk, demo.batch, training_session, case_ids=active, finding_ids=[]
        )
    session.commit()  # the closed cases' final reports are archived as this commits
    return f"Loaded batch {demo.batch.name}: {len(data.FIRMS)} firms."
