"""Staff's weekly review of a batch: what happened from Monday to Sunday (the bureau's calendar
days), read from the records' own timestamps — stages finished, items verified and items that
fell overdue, diagnoses accepted and plans approved, visits and their hours — each with its firm
and a link."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import url_for
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import local_zone
from pilot.diagnosis.labels import ROUND_LABELS
from pilot.diagnosis.models import Diagnosis
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.firms.models import Firm
from pilot.plan.models import FollowUpPlan
from pilot.rectification.models import ItemStatus, RectificationItem
from pilot.rectification.services import ITEM_STATUS_LABELS
from pilot.stage_history import facts_at, waived_at
from pilot.stages import STAGES, evaluate
from pilot.visits.models import Visit, VisitExpert, VisitStatus


@dataclass(frozen=True)
class Week:
    """Monday to Sunday, in the bureau's time zone."""

    monday: date

    @classmethod
    def of(cls, day: date) -> "Week":
        return cls(day - timedelta(days=day.weekday()))

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def previous(self) -> "Week":
        return Week(self.monday - timedelta(days=7))

    @property
    def next(self) -> "Week":
        return Week(self.monday + timedelta(days=7))

    @property
    def number(self) -> int:
        return self.monday.isocalendar().week

    @property
    def year(self) -> int:
        return self.monday.isocalendar().year

    def starts(self) -> datetime:
        """Monday's first moment."""
        return datetime.combine(self.monday, time.min, tzinfo=local_zone())

    def ends(self) -> datetime:
        """The next Monday's first moment (the week is everything before it)."""
        return self.next.starts()

    def __contains__(self, day: date) -> bool:
        return self.monday <= day <= self.sunday


def week_day(value: str) -> date:
    """A day from the query string, for `request.args.get(..., type=week_day)`: an ISO date
    within the years the app serves (anything else is "not given")."""
    day = date.fromisoformat(value)
    if not 2000 <= day.year <= 2999:
        raise ValueError(f"not a day of the pilot: {value!r}")
    return day


@dataclass(frozen=True)
class Line:
    """One thing that happened: which firm, what, when, and where to see it."""

    firm: str
    what: str
    url: str
    on: date | None = None
    note: str = ""
    case_id: int | None = None


@dataclass(frozen=True)
class StagesLine:
    """A case's stages finished in the week."""

    firm: str
    url: str
    stages: list[str]
    case_id: int


@dataclass(frozen=True)
class VisitLine:
    firm: str
    url: str
    on: date
    hours: Decimal
    status: str
    experts: str


@dataclass
class Review:
    week: Week
    stages: list[StagesLine] = field(default_factory=list)
    verified: list[Line] = field(default_factory=list)
    overdue: list[Line] = field(default_factory=list)
    diagnoses: list[Line] = field(default_factory=list)
    plans: list[Line] = field(default_factory=list)
    visits: list[VisitLine] = field(default_factory=list)

    @property
    def stages_finished(self) -> int:
        return sum(len(line.stages) for line in self.stages)

    @property
    def hours(self) -> Decimal:
        return sum((v.hours for v in self.visits), Decimal(0))

    @property
    def confirmed_hours(self) -> Decimal:
        return sum((v.hours for v in self.visits if v.status == VisitStatus.CONFIRMED), Decimal(0))


def _local_day(moment: datetime) -> date:
    return moment.astimezone(local_zone()).date()


def review_of(session: Session, batch: Batch, week: Week, today: date) -> Review:
    """The batch's week, in a fixed number of queries whatever the number of cases."""
    review = Review(week)
    cases = {
        case.id: (case, firm)
        for case, firm in session.exec(
            select(Case, Firm.name)
            .join(Firm, Firm.id == Case.firm_id)
            .where(Case.batch_id == batch.id)
            .order_by(Firm.name, Case.id)
        ).all()
    }
    if not cases:
        return review
    start, end = week.starts(), week.ends()

    def in_week(column):
        return sa.and_(column >= start, column < end)

    ids = sa.bindparam("case_ids", list(cases), expanding=True)
    firm_of = {case_id: firm for case_id, (_, firm) in cases.items()}

    review.stages = _stages_finished(session, cases, start, end)

    for item, verifier in session.exec(
        select(RectificationItem, User.display_name)
        .join(User, User.id == RectificationItem.verified_by_id, isouter=True)
        .where(RectificationItem.case_id.in_(ids), in_week(RectificationItem.verified_at))
        .order_by(RectificationItem.verified_at, RectificationItem.id)
    ).all():
        review.verified.append(
            Line(
                firm_of[item.case_id],
                item.description,
                url_for("rectification.show", item_id=item.id),
                _local_day(item.verified_at),
                verifier or "",
                item.case_id,
            )
        )

    review.overdue = _newly_overdue(session, cases, week, today)

    for diagnosis in session.exec(
        select(Diagnosis)
        .where(Diagnosis.case_id.in_(ids), in_week(Diagnosis.accepted_at))
        .order_by(Diagnosis.accepted_at, Diagnosis.id)
    ).all():
        review.diagnoses.append(
            Line(
                firm_of[diagnosis.case_id],
                str(ROUND_LABELS[diagnosis.round]),
                url_for("diagnosis.edit", case_id=diagnosis.case_id, round_=diagnosis.round),
                _local_day(diagnosis.accepted_at),
                case_id=diagnosis.case_id,
            )
        )

    for plan in session.exec(
        select(FollowUpPlan)
        .where(FollowUpPlan.case_id.in_(ids), in_week(FollowUpPlan.approved_at))
        .order_by(FollowUpPlan.approved_at, FollowUpPlan.id)
    ).all():
        review.plans.append(
            Line(
                firm_of[plan.case_id],
                str(plan.version),
                url_for("plan.version", case_id=plan.case_id, number=plan.version),
                _local_day(plan.approved_at),
                case_id=plan.case_id,
            )
        )

    review.visits = _visits(session, ids, firm_of, week)
    return review


def _stages_finished(
    session: Session, cases: dict, start: datetime, end: datetime
) -> list[StagesLine]:
    """Per case, the stages done at the week's end that were not done at its start (the rules
    of pilot.stages, on the facts as they stood then)."""
    rows = [case for case, _ in cases.values()]
    before, after = facts_at(session, rows, start), facts_at(session, rows, end)
    lines = []
    for case_id, (_, firm) in cases.items():
        # The day does not decide whether a stage is done, only whether it is overdue.
        was = evaluate(before[case_id], start.date())
        now = evaluate(after[case_id], end.date())
        finished = [
            f"{stage.number}. {stage.label}"
            for stage in STAGES
            if now[stage.code].is_done and not was[stage.code].is_done
        ]
        if finished:
            lines.append(
                StagesLine(firm, url_for("cases.show", case_id=case_id), finished, case_id)
            )
    return lines


def _newly_overdue(session: Session, cases: dict, week: Week, today: date) -> list[Line]:
    """Items that fell overdue this week: their due date passed during it (up to today) while
    the firm still had to act — not submitted, verified or waived by the end of the due day — on
    a case neither closed nor withdrawn by then."""
    last_due = min(week.sunday, today) - timedelta(days=1)
    first_due = week.monday - timedelta(days=1)
    if last_due < first_due:
        return []
    waived = waived_at()
    rows = session.exec(
        select(RectificationItem, waived.c.at)
        .join(waived, waived.c.record_id == RectificationItem.id, isouter=True)
        .where(
            RectificationItem.case_id.in_(sa.bindparam("case_ids", list(cases), expanding=True)),
            RectificationItem.due_date >= first_due,
            RectificationItem.due_date <= last_due,
        )
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all()
    lines = []
    for item, waived_on in rows:
        case, firm = cases[item.case_id]
        # The first moment the item is overdue: the day after its due date.
        overdue_from = datetime.combine(
            item.due_date + timedelta(days=1), time.min, tzinfo=local_zone()
        )
        handed_in = [item.verified_at, waived_on]
        if item.status != ItemStatus.RETURNED:  # its last submission was sent back
            handed_in.append(item.submitted_at)
        if any(moment is not None and moment < overdue_from for moment in handed_in):
            continue
        if any(
            moment is not None and moment < overdue_from
            for moment in (case.closed_at, case.withdrawn_at)
        ):
            continue
        lines.append(
            Line(
                firm,
                item.description,
                url_for("rectification.show", item_id=item.id),
                item.due_date,
                f"{SEVERITY_LABELS[item.severity]} · {ITEM_STATUS_LABELS[item.status]}",
                item.case_id,
            )
        )
    return lines


def _visits(session: Session, ids, firm_of: dict[int, str], week: Week) -> list[VisitLine]:
    visits = session.exec(
        select(Visit)
        .where(
            Visit.case_id.in_(ids), Visit.visit_date >= week.monday, Visit.visit_date <= week.sunday
        )
        .order_by(Visit.visit_date, Visit.id)
    ).all()
    names: dict[int, list[str]] = defaultdict(list)
    if visits:
        for visit_id, name in session.exec(
            select(VisitExpert.visit_id, User.display_name)
            .join(User, User.id == VisitExpert.expert_id)
            .where(VisitExpert.visit_id.in_([v.id for v in visits]))
            .order_by(User.display_name)
        ).all():
            names[visit_id].append(name)
    return [
        VisitLine(
            firm_of[v.case_id],
            url_for("visits.show", visit_id=v.id),
            v.visit_date,
            v.hours,
            v.status,
            "、".join(names[v.id]),
        )
        for v in visits
    ]
