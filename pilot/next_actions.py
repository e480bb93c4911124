"""Who must act next: for cases and a day, the open tasks, whose turn each is, what to do, where
it is done and by when. Every home page reads this (the board's "waiting on" column, the expert's
and the firm's lists); nothing else decides what a user must do.

Built like `pilot.stages`, which it reads for the stage rules and due dates: `open_tasks` loads
any number of cases in a fixed number of grouped queries, then decides each case from plain facts
(`decide`). Withdrawn and closed cases have no task.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlmodel import Session, select

from pilot.accounts.models import Role, User
from pilot.cases.models import Case, ExpertAssignment
from pilot.cases.queries import CaseRow
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round, WorkTarget
from pilot.evaluation.models import KpiActual
from pilot.firms.models import Firm
from pilot.permissions import visible_cases_query
from pilot.plan.models import FollowUpPlan, PlanStatus
from pilot.rectification.models import ItemStatus, RectificationItem
from pilot.rectification.services import WORKABLE
from pilot.stages import CaseFacts, Progress, evaluate, load_facts, past_due
from pilot.training.models import Attendance, SessionInvite, TrainingSession
from pilot.training.services import sheet_open
from pilot.visits.models import Visit, VisitStatus


class Party(StrEnum):
    """Whose turn a task is."""

    FIRM = "firm"
    LEAD_EXPERT = "lead_expert"  # the case's lead expert
    EXPERT = "expert"  # any expert assigned to the case
    STAFF = "staff"


PARTY_LABELS = {
    Party.STAFF: _l("Bureau staff"),
    Party.LEAD_EXPERT: _l("Lead expert"),
    Party.EXPERT: _l("Expert"),
    Party.FIRM: _l("Firm"),
}


class Kind(StrEnum):
    """What a task is, in the order of the stages (the order tasks of one day are listed in)."""

    FILL_SURVEY = "fill_survey"
    ANALYSE_SURVEY = "analyse_survey"
    ASSIGN_LEAD = "assign_lead"
    LOG_VISIT = "log_visit"
    CONFIRM_VISIT = "confirm_visit"
    FILE_DIAGNOSIS = "file_diagnosis"
    FIX_DIAGNOSIS = "fix_diagnosis"
    ACCEPT_DIAGNOSIS = "accept_diagnosis"
    WORK_ITEMS = "work_items"
    RESUBMIT_ITEM = "resubmit_item"
    VERIFY_ITEM = "verify_item"
    RECORD_ATTENDANCE = "record_attendance"
    DRAFT_PLAN = "draft_plan"
    FIX_PLAN = "fix_plan"
    APPROVE_PLAN = "approve_plan"
    ENTER_ACTUALS = "enter_actuals"
    CHECK_ACTUALS = "check_actuals"
    FILE_RESCORE = "file_rescore"
    FIX_RESCORE = "fix_rescore"
    ACCEPT_RESCORE = "accept_rescore"
    RATE_SERVICE = "rate_service"
    WRITE_ASSESSMENT = "write_assessment"
    GIVE_VERDICT = "give_verdict"
    CLOSE_CASE = "close_case"


#: Whose turn each kind is: who holds the action in `pilot.permissions.ACTIONS` (staff may also
#: fill the survey, confirm a visit or rate the service for the firm, with a reason: the turn is
#: still the firm's).
PARTY_OF: dict[Kind, Party] = {
    Kind.FILL_SURVEY: Party.FIRM,
    Kind.ANALYSE_SURVEY: Party.STAFF,
    Kind.ASSIGN_LEAD: Party.STAFF,
    Kind.LOG_VISIT: Party.EXPERT,
    Kind.CONFIRM_VISIT: Party.FIRM,
    Kind.FILE_DIAGNOSIS: Party.LEAD_EXPERT,  # any assigned expert scores; the lead submits
    Kind.FIX_DIAGNOSIS: Party.LEAD_EXPERT,
    Kind.ACCEPT_DIAGNOSIS: Party.STAFF,
    Kind.WORK_ITEMS: Party.FIRM,
    Kind.RESUBMIT_ITEM: Party.FIRM,
    Kind.VERIFY_ITEM: Party.EXPERT,
    Kind.RECORD_ATTENDANCE: Party.STAFF,
    Kind.DRAFT_PLAN: Party.LEAD_EXPERT,
    Kind.FIX_PLAN: Party.LEAD_EXPERT,
    Kind.APPROVE_PLAN: Party.STAFF,
    Kind.ENTER_ACTUALS: Party.EXPERT,
    Kind.CHECK_ACTUALS: Party.STAFF,
    Kind.FILE_RESCORE: Party.LEAD_EXPERT,
    Kind.FIX_RESCORE: Party.LEAD_EXPERT,
    Kind.ACCEPT_RESCORE: Party.STAFF,
    Kind.RATE_SERVICE: Party.FIRM,
    Kind.WRITE_ASSESSMENT: Party.LEAD_EXPERT,
    Kind.GIVE_VERDICT: Party.STAFF,
    Kind.CLOSE_CASE: Party.STAFF,
}

#: What waits on staff's review of an expert's work: the board's "awaiting staff review" filter.
STAFF_REVIEW = frozenset(
    {Kind.ACCEPT_DIAGNOSIS, Kind.ACCEPT_RESCORE, Kind.APPROVE_PLAN, Kind.CHECK_ACTUALS}
)
#: The expert home's counts: items to verify, diagnoses (either round) and plans to file.
TO_VERIFY = frozenset({Kind.VERIFY_ITEM})
DIAGNOSES_TO_FILE = frozenset(
    {Kind.FILE_DIAGNOSIS, Kind.FIX_DIAGNOSIS, Kind.FILE_RESCORE, Kind.FIX_RESCORE}
)
PLANS_TO_FILE = frozenset({Kind.DRAFT_PLAN, Kind.FIX_PLAN})

_KIND_ORDER = {kind: n for n, kind in enumerate(Kind)}
_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True)
class Task:
    """One thing someone must do on a case: whose turn (`party`), what (`label`, translated as
    the task is made), where (`url`), and by when (`due`; `overdue` once that day has passed)."""

    case_id: int
    firm_name: str
    kind: Kind
    party: Party
    label: str
    endpoint: str
    values: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    anchor: str = ""
    due: date | None = None
    overdue: bool = False
    #: How many records the task covers (items to work, actuals to enter or check).
    count: int = 1

    @property
    def url(self) -> str:
        """The page where the task is done (needs an app or request context)."""
        return url_for(self.endpoint, **self.values) + (f"#{self.anchor}" if self.anchor else "")

    @property
    def party_label(self) -> str:
        return str(PARTY_LABELS[self.party])

    @property
    def is_staff_review(self) -> bool:
        return self.kind in STAFF_REVIEW


def sort_key(task: Task) -> tuple:
    """Overdue first, then by due date (undated last), then by firm and stage order."""
    return (not task.overdue, task.due or date.max, task.firm_name, _KIND_ORDER[task.kind])


# The facts a case's tasks are decided from -------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    id: int
    description: str
    status: str
    due: date


@dataclass(frozen=True)
class PastSession:
    id: int
    topic: str


@dataclass
class CaseDetails:
    """What the tasks read beyond the stage facts, loaded for many cases in a few queries."""

    firm_name: str
    has_lead: bool = False
    #: Logged visits not yet confirmed nor disputed: (id, date).
    unanswered_visits: list[tuple[int, date]] = field(default_factory=list)
    #: A visit logged and not disputed.
    visit_logged: bool = False
    #: round -> status of the case's diagnosis of that round.
    diagnoses: dict[str, str] = field(default_factory=dict)
    #: Items neither verified nor waived.
    items: list[OpenItem] = field(default_factory=list)
    #: Sessions the firm was invited to, held by now, with no attendance recorded for it.
    unrecorded_sessions: list[PastSession] = field(default_factory=list)
    #: Status of the newest version of the follow-up plan.
    plan_status: str | None = None
    actuals_missing: int = 0
    actuals_unchecked: int = 0


def load_details(
    session: Session, cases: list[Case | CaseRow], today: date
) -> dict[int, CaseDetails]:
    """The details of each running case (withdrawn and closed ones have no task to read them
    for), in one query per kind of record, whatever the number of cases."""
    running = [c.id for c in cases if not (c.is_withdrawn or c.is_closed)]
    if not running:
        return {}
    ids = sa.bindparam("case_ids", running, expanding=True)
    has_lead = (
        sa.exists()
        .where(ExpertAssignment.case_id == Case.id, ExpertAssignment.is_lead)
        .correlate(Case)
    )
    details = {
        case_id: CaseDetails(firm_name, lead)
        for case_id, firm_name, lead in session.exec(
            select(Case.id, Firm.name, has_lead)
            .join(Firm, Firm.id == Case.firm_id)
            .where(Case.id.in_(ids))
        ).all()
    }
    for visit_id, case_id, status, visit_date in session.exec(
        select(Visit.id, Visit.case_id, Visit.status, Visit.visit_date)
        .where(Visit.case_id.in_(ids))
        .order_by(Visit.visit_date, Visit.id)
    ).all():
        if status != VisitStatus.DISPUTED:
            details[case_id].visit_logged = True
        if status == VisitStatus.LOGGED:
            details[case_id].unanswered_visits.append((visit_id, visit_date))
    for case_id, round_, status in session.exec(
        select(Diagnosis.case_id, Diagnosis.round, Diagnosis.status).where(
            Diagnosis.case_id.in_(ids)
        )
    ).all():
        details[case_id].diagnoses[round_] = status
    for item_id, case_id, description, status, due in session.exec(
        select(
            RectificationItem.id,
            RectificationItem.case_id,
            RectificationItem.description,
            RectificationItem.status,
            RectificationItem.due_date,
        )
        .where(RectificationItem.case_id.in_(ids))
        .where(RectificationItem.status.in_([*WORKABLE, ItemStatus.SUBMITTED]))
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all():
        details[case_id].items.append(OpenItem(item_id, description, status, due))
    unrecorded = session.exec(
        select(SessionInvite.case_id, TrainingSession)
        .join(TrainingSession, TrainingSession.id == SessionInvite.session_id)
        .outerjoin(
            Attendance,
            sa.and_(
                Attendance.session_id == SessionInvite.session_id,
                Attendance.case_id == SessionInvite.case_id,
            ),
        )
        .where(SessionInvite.case_id.in_(ids), Attendance.id.is_(None))
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    ).all()
    for case_id, training in unrecorded:
        if sheet_open(training, today):
            details[case_id].unrecorded_sessions.append(PastSession(training.id, training.topic))
    for case_id, _version, status in session.exec(
        select(FollowUpPlan.case_id, FollowUpPlan.version, FollowUpPlan.status)
        .where(FollowUpPlan.case_id.in_(ids))
        .order_by(FollowUpPlan.case_id, FollowUpPlan.version)
    ).all():
        details[case_id].plan_status = status  # the newest version comes last
    for case_id, targets, entered, checked in session.exec(
        select(
            WorkTarget.case_id,
            sa.func.count(WorkTarget.id),
            sa.func.count(KpiActual.id),
            sa.func.count(KpiActual.checked_at),
        )
        .join(KpiActual, KpiActual.target_id == WorkTarget.id, isouter=True)
        .where(WorkTarget.case_id.in_(ids))
        .group_by(WorkTarget.case_id)
    ).all():
        details[case_id].actuals_missing = targets - entered
        details[case_id].actuals_unchecked = entered - checked
    return details


# Deciding ---------------------------------------------------------------------------------------


def _short(text: str, length: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def decide(
    facts: CaseFacts, state: Progress, details: CaseDetails | None, today: date
) -> list[Task]:
    """The open tasks of one case on the given day, from what was loaded for it."""
    if not state.is_running or details is None:
        return []
    case_id = facts.case_id
    tasks: list[Task] = []

    def add(kind, label, endpoint, due, anchor="", count=1, **values):
        tasks.append(
            Task(
                case_id=case_id,
                firm_name=details.firm_name,
                kind=kind,
                party=PARTY_OF[kind],
                label=label,
                endpoint=endpoint,
                values=MappingProxyType(values),
                anchor=anchor,
                due=due,
                overdue=due is not None and past_due(due, today),
                count=count,
            )
        )

    stage_due = {s.code: s.due for s in state.stages}

    # Stage 1: the firm fills the questionnaire, staff analyse it.
    if not state["survey"].is_done:
        if not facts.survey_submitted:
            add(
                Kind.FILL_SURVEY,
                _("Fill in and submit the needs survey"),
                "survey.edit",
                stage_due["survey"],
                case_id=case_id,
            )
        elif not facts.analysis_written:
            add(
                Kind.ANALYSE_SURVEY,
                _("Write the needs analysis"),
                "survey.edit",
                stage_due["survey"],
                "needs-analysis",
                case_id=case_id,
            )

    # Stage 2: a visit logged and confirmed, the baseline diagnosis filed and accepted.
    diagnosis_open = not state["diagnosis"].is_done and state.is_open("diagnosis")
    due = stage_due["diagnosis"]
    if diagnosis_open and not details.has_lead:
        add(Kind.ASSIGN_LEAD, _("Assign a lead expert"), "cases.experts", due, case_id=case_id)
    if diagnosis_open and not details.visit_logged:
        add(Kind.LOG_VISIT, _("Log the on-site visit"), "visits.new", due, case_id=case_id)
    for visit_id, visit_date in details.unanswered_visits:
        add(
            Kind.CONFIRM_VISIT,
            _("Confirm the expert visit of %(date)s", date=visit_date.isoformat()),
            "visits.show",
            None if state["diagnosis"].is_done else due,
            visit_id=visit_id,
        )
    baseline = details.diagnoses.get(Round.BASELINE)
    if baseline == DiagnosisStatus.SUBMITTED:
        add(
            Kind.ACCEPT_DIAGNOSIS,
            _("Accept or return the baseline diagnosis"),
            "diagnosis.edit",
            due,
            "review",
            case_id=case_id,
            round_=Round.BASELINE,
        )
    elif baseline == DiagnosisStatus.RETURNED:
        add(
            Kind.FIX_DIAGNOSIS,
            _("Revise and resubmit the returned diagnosis"),
            "diagnosis.edit",
            due,
            "return-comment",
            case_id=case_id,
            round_=Round.BASELINE,
        )
    elif baseline != DiagnosisStatus.ACCEPTED and diagnosis_open:
        add(
            Kind.FILE_DIAGNOSIS,
            _("File the baseline diagnosis"),
            "diagnosis.edit",
            due,
            case_id=case_id,
            round_=Round.BASELINE,
        )

    # Stage 3: the firm works its items, an expert verifies what was submitted.
    to_work = [i for i in details.items if i.status in (ItemStatus.OPEN, ItemStatus.IN_PROGRESS)]
    if to_work:
        add(
            Kind.WORK_ITEMS,
            ngettext(
                "Work on %(num)d rectification item",
                "Work on %(num)d rectification items",
                len(to_work),
            ),
            "rectification.checklist",
            min(i.due for i in to_work),
            count=len(to_work),
            case_id=case_id,
        )
    for item in details.items:
        if item.status == ItemStatus.RETURNED:
            add(
                Kind.RESUBMIT_ITEM,
                _("Returned: complete and resubmit “%(item)s”", item=_short(item.description)),
                "rectification.show",
                item.due,
                "returned",
                item_id=item.id,
            )
    for item in details.items:
        if item.status == ItemStatus.SUBMITTED:
            add(
                Kind.VERIFY_ITEM,
                _("Verify “%(item)s”", item=_short(item.description)),
                "rectification.show",
                stage_due["rectification"],
                "verify",
                item_id=item.id,
            )

    # Stage 4: staff record whether the firm attended the sessions held so far (one task per
    # case, at the first session whose sheet lacks the firm).
    held = details.unrecorded_sessions
    if held and not state["training"].is_done and state.is_open("training"):
        add(
            Kind.RECORD_ATTENDANCE,
            ngettext(
                "Record the attendance at “%(topic)s” and %(num)d more session",
                "Record the attendance at “%(topic)s” and %(num)d more sessions",
                len(held) - 1,
                topic=_short(held[0].topic),
            )
            if len(held) > 1
            else _("Record the attendance at “%(topic)s”", topic=_short(held[0].topic)),
            "training.show",
            stage_due["training"],
            "attendance",
            count=len(held),
            session_id=held[0].id,
        )

    # Stage 5: the lead expert drafts the plan, staff approve it (认定).
    if not state["plan"].is_done and state.is_open("plan"):
        due = stage_due["plan"]
        if details.plan_status == PlanStatus.SUBMITTED:
            add(
                Kind.APPROVE_PLAN,
                _("Approve or return the follow-up plan"),
                "plan.edit",
                due,
                "review",
                case_id=case_id,
            )
        elif details.plan_status == PlanStatus.RETURNED:
            add(
                Kind.FIX_PLAN,
                _("Revise and resubmit the returned follow-up plan"),
                "plan.edit",
                due,
                "return-comment",
                case_id=case_id,
            )
        else:
            add(
                Kind.DRAFT_PLAN,
                _("Draft and submit the follow-up plan"),
                "plan.edit",
                due,
                case_id=case_id,
            )

    # Stage 6: actuals, the final re-scoring, the rating, the assessment, then the verdict.
    if not state["evaluation"].is_done and state.is_open("evaluation"):
        due = stage_due["evaluation"]
        if details.actuals_missing:
            n = details.actuals_missing
            add(
                Kind.ENTER_ACTUALS,
                ngettext(
                    "Enter the actual of %(num)d work target",
                    "Enter the actuals of %(num)d work targets",
                    n,
                ),
                "evaluation.show",
                due,
                "targets",
                count=n,
                case_id=case_id,
            )
        if details.actuals_unchecked:
            n = details.actuals_unchecked
            add(
                Kind.CHECK_ACTUALS,
                ngettext("Check %(num)d entered actual", "Check %(num)d entered actuals", n),
                "evaluation.show",
                due,
                "targets",
                count=n,
                case_id=case_id,
            )
        final = details.diagnoses.get(Round.FINAL)
        if final == DiagnosisStatus.SUBMITTED:
            add(
                Kind.ACCEPT_RESCORE,
                _("Accept or return the final re-scoring"),
                "diagnosis.edit",
                due,
                "review",
                case_id=case_id,
                round_=Round.FINAL,
            )
        elif final == DiagnosisStatus.RETURNED:
            add(
                Kind.FIX_RESCORE,
                _("Revise and resubmit the returned final re-scoring"),
                "diagnosis.edit",
                due,
                "return-comment",
                case_id=case_id,
                round_=Round.FINAL,
            )
        elif final != DiagnosisStatus.ACCEPTED:
            add(
                Kind.FILE_RESCORE,
                _("File the final re-scoring"),
                "diagnosis.edit",
                due,
                case_id=case_id,
                round_=Round.FINAL,
            )
        if not facts.service_rated:
            add(
                Kind.RATE_SERVICE,
                _("Rate the service"),
                "evaluation.show",
                due,
                "rating",
                case_id=case_id,
            )
        if not facts.assessment_written:
            add(
                Kind.WRITE_ASSESSMENT,
                _("Write the closing assessment"),
                "evaluation.show",
                due,
                "assessment",
                case_id=case_id,
            )
        if facts.ready_for_verdict and not facts.verdict_given:
            add(
                Kind.GIVE_VERDICT,
                _("Give the verdict"),
                "evaluation.show",
                due,
                "verdict",
                case_id=case_id,
            )

    if state.ready_to_close:
        add(
            Kind.CLOSE_CASE,
            _("Close the case"),
            "evaluation.show",
            stage_due["evaluation"],
            "closing",
            case_id=case_id,
        )
    return tasks


def open_tasks(
    session: Session, cases: Iterable[Case | CaseRow], today: date
) -> dict[int, list[Task]]:
    """Case id -> its open tasks on the given day (none for a withdrawn or closed case), for any
    number of cases in a fixed number of grouped queries."""
    return progress_and_tasks(session, cases, today)[1]


def progress_and_tasks(
    session: Session, cases: Iterable[Case | CaseRow], today: date
) -> tuple[dict[int, Progress], dict[int, list[Task]]]:
    """Each case's progress (`pilot.stages.progress`) and open tasks, the stage facts loaded
    once for both."""
    cases = list(cases)
    facts = load_facts(session, cases)
    states = {case_id: evaluate(f, today) for case_id, f in facts.items()}
    details = load_details(session, cases, today)
    tasks = {
        case_id: decide(f, states[case_id], details.get(case_id), today)
        for case_id, f in facts.items()
    }
    return states, tasks


def tasks_for(session: Session, user: User, today: date) -> list[Task]:
    """What waits on this user, overdue first then by due date: a firm user their firm's tasks;
    an expert the expert tasks of their cases, and the lead expert's where they are the lead;
    staff the staff tasks of every running case."""
    cases = session.exec(
        visible_cases_query(user).where(Case.withdrawn_at.is_(None), Case.closed_at.is_(None))
    ).all()
    leading = {
        c.id for c in cases if any(a.expert_id == user.id and a.is_lead for a in c.assignments)
    }
    return waiting_on(user, open_tasks(session, cases, today), leading)


def waiting_on(
    user: User, tasks: Mapping[int, list[Task]], leading: Iterable[int] = ()
) -> list[Task]:
    """Of the given cases' tasks (cases the user may see), those whose turn is this user's, in
    `sort_key` order; `leading`: ids of the cases the user is the lead expert of."""
    role = Role(user.role)
    if role == Role.FIRM:
        wanted = {Party.FIRM}
    elif role == Role.EXPERT:
        wanted = {Party.EXPERT}
    elif user.is_staff:
        wanted = {Party.STAFF}
    else:
        return []
    leading = set(leading)
    found = [
        task
        for case_id, case_tasks in tasks.items()
        for task in case_tasks
        if task.party in wanted or (task.party == Party.LEAD_EXPERT and case_id in leading)
    ]
    return sorted(found, key=sort_key)


def by_party(tasks: Iterable[Task]) -> dict[Party, list[Task]]:
    """Tasks grouped by whose turn they are, staff first, each group in `sort_key` order."""
    groups: dict[Party, list[Task]] = defaultdict(list)
    for task in sorted(tasks, key=sort_key):
        groups[task.party].append(task)
    return {party: groups[party] for party in PARTY_LABELS if party in groups}
