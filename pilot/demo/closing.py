"""The demo's last stages: the follow-up plan, the evaluation, and closing."""

from datetime import timedelta
from decimal import Decimal

from pilot.accounts.models import User
from pilot.cases.models import Case
from pilot.cases.services import close_case
from pilot.database import today
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round
from pilot.evaluation import services as evaluation
from pilot.evaluation.models import Verdict
from pilot.frameworks.models import Scale
from pilot.plan import services as plan_services


def plan(demo, case: Case, lead: User, state: str) -> None:
    """A follow-up plan answering every carried finding, left in `state`."""
    session = demo.session
    plan = plan_services.draft(session, lead, case)
    plan_services.save_text(
        session,
        lead,
        plan,
        summary="以卓越绩效自评为主线，巩固整改成果，推进品牌培育体系建设。",
        further_service="试点结束后每季度回访一次，全年安排两次一对一辅导。",
    )
    start = demo.start + timedelta(weeks=22)
    for finding in plan_services.carried_findings(session, case):
        plan_services.add_action(
            session,
            lead,
            plan,
            plan_services.ActionInput(
                what=f"针对“{finding.description[:24]}”制定改进计划并跟踪落实",
                owner="质量部",
                start_date=start,
                due_date=start + timedelta(weeks=12),
                finding_id=finding.id,
            ),
        )
    plan_services.add_action(
        session,
        lead,
        plan,
        plan_services.ActionInput(
            what="开展年度卓越绩效自评并形成自评报告",
            owner="总经理办公室",
            start_date=start,
            due_date=start + timedelta(weeks=20),
        ),
    )
    if state == "draft":
        return
    plan_services.submit(session, lead, plan)
    if state == "returned":
        plan_services.return_plan(
            session, demo.clerk, plan, "请补充品牌培育方面的具体措施和时间安排"
        )
    elif state == "approved":
        plan_services.approve(session, demo.clerk, plan)


def rescore(demo, case: Case, lead: User, seed: int) -> None:
    """The final round: the same frameworks re-scored, a little higher than the baseline."""
    session = demo.session
    baseline = diagnosis.diagnosis_of(session, case, Round.BASELINE)
    before = {s.item_id: s for s in baseline.scores}
    final = diagnosis.start(session, lead, case, Round.FINAL)
    for framework in diagnosis.frameworks_of(session, final):
        entries = []
        for n, item in enumerate(framework.items):
            old = before[item.id]
            if framework.scale == Scale.BAND:
                up = 10 if (seed + n) % 3 else 5
                entries.append(diagnosis.ScoreInput(item.id, percent=min(100, old.percent + up)))
            else:
                entries.append(diagnosis.ScoreInput(item.id, level=min(5, old.level + (n % 2))))
        diagnosis.save_scores(session, lead, final, entries)
    diagnosis.submit(session, lead, final)
    diagnosis.accept(session, demo.clerk, final, {}, today())


def evaluate(demo, case: Case, firm_user: User, lead: User, second: User, seed: int) -> None:
    """Actuals, the firm's rating, the assessment and the verdict."""
    session = demo.session
    for n, target in enumerate(diagnosis.targets_of(session, case)):
        gap = target.target - (target.baseline or target.target)
        actual = target.target + gap * Decimal("0.1") if (seed + n) % 4 else target.target - gap / 2
        row = evaluation.enter_actual(
            session,
            lead,
            target,
            actual=actual.quantize(Decimal("0.01")),
            period=f"{demo.start.year}年1-{demo.start.month + 5}月",
        )
        evaluation.check_actual(session, demo.clerk, row)
    rescore(demo, case, lead, seed)
    evaluation.rate(
        session,
        firm_user,
        case,
        expert_id=None,
        scores={"professionalism": 5, "timeliness": 4, "usefulness": 5},
        comment="专家深入一线，诊断问题准确，建议实用。",
    )
    for expert, points in ((lead, 5), (second, 4)):
        evaluation.rate(
            session,
            firm_user,
            case,
            expert_id=expert.id,
            scores={"professionalism": points, "timeliness": 4, "usefulness": points},
            comment="",
        )
    evaluation.write_assessment(
        session,
        lead,
        case,
        "企业按期完成整改，质量数据分析能力明显提升，主要目标基本实现，建议持续推进卓越绩效模式。",
    )
    verdict = Verdict.MET if seed % 2 == 0 else Verdict.BASICALLY_MET
    evaluation.give_verdict(session, demo.clerk, case, verdict, "试点目标完成情况良好")


def close(demo, case: Case) -> None:
    close_case(demo.session, demo.clerk, case, today())
