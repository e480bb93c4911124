"""The stage rules: every page, the board, the API, the PDF and the CLI ask this module.

A stage's status is derived from records, never stored. Each stage has a rule saying whether
its own records are complete ("met"); a stage is *done* only when it is met and every stage it
needs is done. Until a stage's records exist in the app, its rule is staff's manual mark.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, func, select

from pilot.batches.models import Batch
from pilot.cases.models import Case, StageMark
from pilot.cases.queries import CaseRow
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round, WorkTarget
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating
from pilot.plan.models import FollowUpPlan, PlanStatus
from pilot.rectification.models import CLOSED_STATUSES, RectificationItem
from pilot.survey.models import NeedsSurvey
from pilot.training.models import Attendance
from pilot.visits.models import Visit, VisitStatus


class Status(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Stage:
    code: str
    number: int
    label: str
    needs: tuple[str, ...]


STAGES: tuple[Stage, ...] = (
    Stage("survey", 1, _l("Needs survey and analysis"), ()),
    Stage("diagnosis", 2, _l("On-site quality diagnosis"), ("survey",)),
    Stage("rectification", 3, _l("Rectification list"), ("diagnosis",)),
    Stage("training", 4, _l("Centralised training"), ("diagnosis",)),
    Stage("plan", 5, _l("Follow-up service plan"), ("diagnosis",)),
    Stage("evaluation", 6, _l("Evaluation of targets and service"), ("plan", "training")),
)
STAGE_CODES = tuple(s.code for s in STAGES)
BY_CODE = {s.code: s for s in STAGES}

#: Codes a case's "current stage" can take besides the six stages.
CLOSED = "closed"
WITHDRAWN = "withdrawn"

#: A stage under way: the board counts a running case under each stage in one of these.
ACTIVE_STATUSES = frozenset({Status.IN_PROGRESS, Status.OVERDUE})

STATUS_LABELS = {
    Status.NOT_STARTED: _l("Not started"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.DONE: _l("Done"),
    Status.OVERDUE: _l("Overdue"),
}
CURRENT_LABELS = {CLOSED: _l("Closed"), WITHDRAWN: _l("Withdrawn")}


def current_label(code: str) -> str:
    return str(CURRENT_LABELS[code]) if code in CURRENT_LABELS else str(BY_CODE[code].label)


@dataclass
class CaseFacts:
    """What the rules read about one case, loaded for many cases in a few queries."""

    case_id: int
    due: dict[str, date]
    withdrawn: bool = False
    closed: bool = False
    #: stage code -> reason of staff's manual mark
    marks: dict[str, str] = field(default_factory=dict)
    survey_submitted: bool = False
    analysis_written: bool = False
    confirmed_visits: int = 0
    baseline_accepted: bool = False
    #: Rectification items not yet verified or waived.
    open_items: int = 0
    sessions_attended: int = 0
    sessions_required: int = 0
    plan_approved: bool = False
    targets: int = 0
    checked_actuals: int = 0
    final_accepted: bool = False
    service_rated: bool = False
    assessment_written: bool = False
    verdict_given: bool = False

    @property
    def ready_for_verdict(self) -> bool:
        """Everything of stage 6 but staff's verdict."""
        return (
            self.targets > 0
            and self.checked_actuals >= self.targets
            and self.final_accepted
            and self.service_rated
            and self.assessment_written
        )


@dataclass(frozen=True)
class Met:
    met: bool
    why: str = ""


def _manual_mark(stage: str) -> Callable[[CaseFacts], Met]:
    def rule(facts: CaseFacts) -> Met:
        reason = facts.marks.get(stage)
        return Met(True, reason) if reason is not None else Met(False)

    return rule


def _survey(facts: CaseFacts) -> Met:
    """The firm (or staff for it) submitted the questionnaire and staff wrote the analysis."""
    return Met(facts.survey_submitted and facts.analysis_written)


def _diagnosis(facts: CaseFacts) -> Met:
    """A confirmed on-site visit, and the baseline diagnosis accepted by staff."""
    return Met(facts.confirmed_visits > 0 and facts.baseline_accepted)


def _rectification(facts: CaseFacts) -> Met:
    """Every item verified by an expert or waived by staff (no items: done with the diagnosis)."""
    return Met(facts.open_items == 0)


def _training(facts: CaseFacts) -> Met:
    """The required number of the batch's sessions attended, or staff's mark with a reason."""
    if facts.sessions_attended >= facts.sessions_required:
        return Met(True)
    return _manual_mark("training")(facts)


def _plan(facts: CaseFacts) -> Met:
    """A version of the follow-up plan approved (认定) by staff."""
    return Met(facts.plan_approved)


def _evaluation(facts: CaseFacts) -> Met:
    """Actuals checked, final re-scoring accepted, service rated, assessment written, verdict."""
    return Met(facts.ready_for_verdict and facts.verdict_given)


#: Stages staff may mark done by hand, with a reason (the case page offers the mark for these).
MANUAL_STAGES: set[str] = {"training"}

#: stage code -> rule telling whether the stage's own records are complete.
RULES: dict[str, Callable[[CaseFacts], Met]] = {
    "survey": _survey,
    "diagnosis": _diagnosis,
    "rectification": _rectification,
    "training": _training,
    "plan": _plan,
    "evaluation": _evaluation,
}


@dataclass(frozen=True)
class StageState:
    stage: Stage
    status: Status
    due: date
    why: str = ""

    @property
    def code(self) -> str:
        return self.stage.code

    @property
    def is_active(self) -> bool:
        """In progress or overdue: under way, whether or not the case still runs."""
        return self.status in ACTIVE_STATUSES

    @property
    def is_done(self) -> bool:
        return self.status == Status.DONE


@dataclass(frozen=True)
class Progress:
    case_id: int
    stages: tuple[StageState, ...]
    current: str

    def __getitem__(self, code: str) -> StageState:
        return next(s for s in self.stages if s.code == code)

    @property
    def is_running(self) -> bool:
        """Neither closed nor withdrawn."""
        return self.current not in (CLOSED, WITHDRAWN)

    @property
    def active_stages(self) -> tuple[StageState, ...]:
        """The stages under way of a running case (a closed or withdrawn case has none)."""
        return tuple(s for s in self.stages if s.is_active) if self.is_running else ()

    @property
    def is_overdue(self) -> bool:
        return any(s.status == Status.OVERDUE for s in self.stages)

    @property
    def all_done(self) -> bool:
        return all(s.is_done for s in self.stages)

    def is_open(self, code: str) -> bool:
        """Are the stages this stage needs done, so that its own records may be entered?"""
        return all(self[n].is_done for n in BY_CODE[code].needs)

    @property
    def ready_to_close(self) -> bool:
        """结案 is allowed: the case is neither closed nor withdrawn and stage 6 is done. Items
        still open (stage 3) do not hold it back: closing records them as unfinished."""
        return self.is_running and self["evaluation"].is_done


def past_due(due: date, today: date) -> bool:
    """A due date has passed: the day after it, in the bureau's calendar (stages and the tasks
    of `pilot.next_actions` alike)."""
    return today > due


def evaluate(facts: CaseFacts, today: date) -> Progress:
    """Each stage's status and the case's current stage, on the given day."""
    done: dict[str, bool] = {}
    states = []
    for stage in STAGES:  # in order, so what a stage needs is already decided
        met = RULES[stage.code](facts)
        needs_done = all(done[n] for n in stage.needs)
        done[stage.code] = met.met and needs_done
        due = facts.due[stage.code]
        if done[stage.code]:
            status = Status.DONE
        elif past_due(due, today) and not (facts.withdrawn or facts.closed):
            status = Status.OVERDUE
        elif needs_done:
            status = Status.IN_PROGRESS
        else:
            status = Status.NOT_STARTED
        states.append(StageState(stage, status, due, met.why))
    if facts.withdrawn:
        current = WITHDRAWN
    elif facts.closed:
        current = CLOSED
    else:
        # A case whose six stages are done waits in "evaluation" for staff to close it.
        current = next((s.code for s in states if s.status != Status.DONE), STAGES[-1].code)
    return Progress(facts.case_id, tuple(states), current)


def load_facts(session: Session, cases: Iterable[Case | CaseRow]) -> dict[int, CaseFacts]:
    cases = list(cases)
    facts = {
        c.id: CaseFacts(
            case_id=c.id,
            due={code: c.due(code) for code in STAGE_CODES},
            withdrawn=c.is_withdrawn,
            closed=c.is_closed,
        )
        for c in cases
    }
    if not facts:
        return facts
    # One expanding parameter for the ids: no per-id coercion in each of the queries below.
    ids = sa.bindparam("case_ids", list(facts), expanding=True)
    marks = session.exec(
        select(StageMark.case_id, StageMark.stage, StageMark.reason).where(
            StageMark.case_id.in_(ids)
        )
    ).all()
    for case_id, stage, reason in marks:
        facts[case_id].marks[stage] = reason
    surveys = session.exec(
        select(NeedsSurvey.case_id, NeedsSurvey.submitted_at, NeedsSurvey.analysis).where(
            NeedsSurvey.case_id.in_(ids)
        )
    ).all()
    for case_id, submitted_at, analysis in surveys:
        facts[case_id].survey_submitted = submitted_at is not None
        facts[case_id].analysis_written = bool(analysis.strip())
    visits = session.exec(
        select(Visit.case_id, func.count())
        .where(Visit.case_id.in_(ids), Visit.status == VisitStatus.CONFIRMED)
        .group_by(Visit.case_id)
    ).all()
    for case_id, count in visits:
        facts[case_id].confirmed_visits = count
    accepted = session.exec(
        select(Diagnosis.case_id).where(
            Diagnosis.case_id.in_(ids),
            Diagnosis.round == Round.BASELINE,
            Diagnosis.status == DiagnosisStatus.ACCEPTED,
        )
    ).all()
    for case_id in accepted:
        facts[case_id].baseline_accepted = True
    open_items = session.exec(
        select(RectificationItem.case_id, func.count())
        .where(RectificationItem.case_id.in_(ids))
        .where(RectificationItem.status.not_in(CLOSED_STATUSES))
        .group_by(RectificationItem.case_id)
    ).all()
    for case_id, count in open_items:
        facts[case_id].open_items = count
    required = session.exec(
        select(Case.id, Batch.required_training_sessions)
        .join(Batch, Batch.id == Case.batch_id)
        .where(Case.id.in_(ids))
    ).all()
    for case_id, count in required:
        facts[case_id].sessions_required = count
    attended = session.exec(
        select(Attendance.case_id, func.count())
        .where(Attendance.case_id.in_(ids), Attendance.count > 0)
        .group_by(Attendance.case_id)
    ).all()
    for case_id, count in attended:
        facts[case_id].sessions_attended = count
    _load_evaluation_facts(session, facts, ids)
    return facts


def _load_evaluation_facts(
    session: Session, facts: dict[int, CaseFacts], ids: sa.BindParameter
) -> None:
    approved = session.exec(
        select(FollowUpPlan.case_id).where(
            FollowUpPlan.case_id.in_(ids), FollowUpPlan.status == PlanStatus.APPROVED
        )
    ).all()
    for case_id in approved:
        facts[case_id].plan_approved = True
    targets = session.exec(
        select(WorkTarget.case_id, func.count(WorkTarget.id), func.count(KpiActual.checked_at))
        .join(KpiActual, KpiActual.target_id == WorkTarget.id, isouter=True)
        .where(WorkTarget.case_id.in_(ids))
        .group_by(WorkTarget.case_id)
    ).all()
    for case_id, count, checked in targets:
        facts[case_id].targets, facts[case_id].checked_actuals = count, checked
    finals = session.exec(
        select(Diagnosis.case_id).where(
            Diagnosis.case_id.in_(ids),
            Diagnosis.round == Round.FINAL,
            Diagnosis.status == DiagnosisStatus.ACCEPTED,
        )
    ).all()
    for case_id in finals:
        facts[case_id].final_accepted = True
    rated = session.exec(
        select(ServiceRating.case_id).where(
            ServiceRating.case_id.in_(ids), ServiceRating.expert_id.is_(None)
        )
    ).all()
    for case_id in rated:
        facts[case_id].service_rated = True
    evaluations = session.exec(
        select(Evaluation.case_id, Evaluation.assessment, Evaluation.verdict).where(
            Evaluation.case_id.in_(ids)
        )
    ).all()
    for case_id, assessment, verdict in evaluations:
        facts[case_id].assessment_written = bool(assessment.strip())
        facts[case_id].verdict_given = verdict is not None


def progress(session: Session, cases: Iterable[Case | CaseRow], today: date) -> dict[int, Progress]:
    return {cid: evaluate(f, today) for cid, f in load_facts(session, cases).items()}


def facts_of(session: Session, case: Case) -> CaseFacts:
    return load_facts(session, [case])[case.id]


def progress_of(session: Session, case: Case, today: date) -> Progress:
    return evaluate(facts_of(session, case), today)


def stage_open(session: Session, case: Case, code: str) -> bool:
    """`Progress.is_open` for services, which have no "today": whether a stage is done does not
    depend on the day (only whether it is overdue does), so any day gives the same answer."""
    return evaluate(facts_of(session, case), date.min).is_open(code)
