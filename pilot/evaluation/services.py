"""Stage 6: KPI actuals and achievement, the service rating, the closing assessment, the verdict.

Every command here refuses while stage 6 is not open (the follow-up plan approved and the
training done, per `pilot.stages`), whoever calls it.

Achievement is the share of the way from baseline to target that the actual went, with the
target's direction: reaching or passing the target is 100 %, not moving (or moving the wrong
way) is 0 %. Without a baseline, or when the target equals the baseline, it is met or not.
"""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from pilot.accounts.models import Role, User
from pilot.audit.services import log
from pilot.cases.models import Case
from pilot.database import upsert_statement, utcnow
from pilot.diagnosis.models import WorkTarget
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating, Verdict
from pilot.kpis.models import Direction, wrong_side
from pilot.stages import facts_of, stage_open

VERDICT_LABELS = {
    Verdict.MET: _l("Met"),
    Verdict.BASICALLY_MET: _l("Basically met"),
    Verdict.NOT_MET: _l("Not met"),
}
RATING_ASPECTS = ("professionalism", "timeliness", "usefulness")
HUNDRED = Decimal(100)


class EvaluationError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class StageNotOpen(EvaluationError):
    """Stage 6 input before the stages it needs (the plan, the training) are done."""


def require_open(session: Session, case: Case) -> None:
    """Refuse stage 6 input until the follow-up plan is approved and the training is done."""
    session.flush()
    if not stage_open(session, case, "evaluation"):
        raise StageNotOpen(
            _(
                "Stage 6 opens once the follow-up plan is approved and the training is done: "
                "nothing was saved."
            )
        )


@dataclass(frozen=True)
class Achievement:
    percent: Decimal
    met: bool


def achievement(
    direction: str, baseline: Decimal | None, target: Decimal, actual: Decimal
) -> Achievement:
    better = (lambda a, b: a >= b) if direction == Direction.HIGHER else (lambda a, b: a <= b)
    met = better(actual, target)
    if met:
        return Achievement(HUNDRED, True)
    if baseline is None or baseline == target or wrong_side(direction, baseline, target):
        # No way from baseline to target to measure a share of: met or not.
        return Achievement(Decimal(0), False)
    share = (actual - baseline) / (target - baseline) * HUNDRED
    return Achievement(max(Decimal(0), min(HUNDRED, share)), False)


def actuals_of(session: Session, case: Case) -> dict[int, KpiActual]:
    rows = session.exec(select(KpiActual).where(KpiActual.case_id == case.id)).all()
    return {a.target_id: a for a in rows}


def enter_actual(
    session: Session,
    actor: User,
    target: WorkTarget,
    *,
    actual: Decimal,
    period: str,
    note: str = "",
) -> KpiActual:
    """The expert enters (or corrects) an actual; a correction needs staff's check again."""
    require_open(session, session.get(Case, target.case_id))
    if not actual.is_finite():
        raise EvaluationError(_("Enter a number."), "actual")
    row = session.exec(select(KpiActual).where(KpiActual.target_id == target.id)).first()
    before = {"actual": str(row.actual)} if row else None
    if row is None:
        row = KpiActual(
            target_id=target.id, case_id=target.case_id, actual=actual, entered_by_id=actor.id
        )
        session.add(row)
    row.actual, row.period, row.note = actual, period.strip(), note.strip()
    row.entered_by_id, row.entered_at = actor.id, utcnow()
    row.checked_by_id = row.checked_at = None
    session.flush()
    log(
        session,
        actor,
        row,
        "enter",
        case_id=target.case_id,
        before=before,
        after={"target": target.name, "actual": str(actual), "period": row.period},
    )
    return row


def check_actual(session: Session, actor: User, row: KpiActual) -> None:
    require_open(session, session.get(Case, row.case_id))
    if row.checked_at:
        raise EvaluationError(_("This actual is checked already."))
    row.checked_by_id, row.checked_at = actor.id, utcnow()
    log(
        session,
        actor,
        row,
        "check",
        case_id=row.case_id,
        after={"actual": str(row.actual)},
        public=True,
    )


def rates_for_the_firm(user: User) -> bool:
    """Anyone but the firm's own user who rates its service does so on the firm's behalf."""
    return user.role != Role.FIRM


def rate(
    session: Session,
    actor: User,
    case: Case,
    *,
    expert_id: int | None,
    scores: dict[str, int],
    comment: str,
    on_behalf_reason: str = "",
) -> ServiceRating:
    """The firm rates the service (overall, or one expert) 1–5 on each aspect; staff may rate
    on its behalf, with a reason."""
    require_open(session, case)
    for aspect in RATING_ASPECTS:
        value = scores.get(aspect)
        if not isinstance(value, int) or not 1 <= value <= 5:
            raise EvaluationError(_("Give every rating from 1 to 5."), aspect)
    if rates_for_the_firm(actor) and not on_behalf_reason.strip():
        raise EvaluationError(
            _("Give a reason for rating on the firm's behalf."), "on_behalf_reason"
        )
    if expert_id is not None and expert_id not in {a.expert_id for a in case.assignments}:
        raise EvaluationError(_("Rate one of the experts who served the firm."), "expert_id")
    # One statement, so two saves at once still leave one row: the second updates the first.
    values = {aspect: scores[aspect] for aspect in RATING_ASPECTS} | {
        "comment": comment.strip(),
        "rated_by_id": actor.id,
        "on_behalf_reason": on_behalf_reason.strip(),
        "rated_at": utcnow(),
    }
    insert = upsert_statement(session, ServiceRating).values(
        case_id=case.id, expert_id=expert_id, **values
    )
    if expert_id is None:  # the overall rating: its unique index is partial
        conflict = {"index_elements": ["case_id"], "index_where": ServiceRating.expert_id.is_(None)}
    else:
        conflict = {"index_elements": ["case_id", "expert_id"]}
    insert = insert.on_conflict_do_update(
        **conflict, set_={column: insert.excluded[column] for column in values}
    ).returning(ServiceRating)
    rating = session.scalars(insert, execution_options={"populate_existing": True}).one()
    log(
        session,
        actor,
        rating,
        "rate",
        case_id=case.id,
        reason=rating.on_behalf_reason,
        after={"expert_id": expert_id, **scores},
        public=expert_id is None,
    )
    return rating


def evaluation_of(session: Session, case: Case) -> Evaluation:
    row = session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()
    if row is None:
        row = Evaluation(case_id=case.id)
        session.add(row)
    return row


def write_assessment(session: Session, actor: User, case: Case, text: str) -> Evaluation:
    require_open(session, case)
    if not text.strip():
        raise EvaluationError(_("Write the closing assessment."), "assessment")
    row = evaluation_of(session, case)
    row.assessment = text.strip()
    row.assessed_by_id, row.assessed_at = actor.id, utcnow()
    session.flush()
    log(session, actor, row, "assessment", case_id=case.id, public=True)
    return row


def give_verdict(
    session: Session, actor: User, case: Case, verdict: str, comment: str
) -> Evaluation:
    """Staff's verdict, once actuals are checked, the final round accepted, the service rated
    and the assessment written."""
    require_open(session, case)
    if verdict not in VERDICT_LABELS:
        raise EvaluationError(_("Choose a verdict."), "verdict")
    session.flush()
    if not facts_of(session, case).ready_for_verdict:
        raise EvaluationError(
            _(
                "The verdict comes after actuals are checked, the final "
                "re-scoring is accepted, the service is rated and the closing "
                "assessment is written."
            )
        )
    row = evaluation_of(session, case)
    row.verdict, row.verdict_comment = verdict, comment.strip()
    row.verdict_by_id, row.verdict_at = actor.id, utcnow()
    session.flush()
    log(
        session,
        actor,
        row,
        "verdict",
        case_id=case.id,
        reason=row.verdict_comment,
        after={"verdict": verdict},
        public=True,
    )
    return row
