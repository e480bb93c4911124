"""Opening cases, assigning experts, due dates, withdrawing, and staff's manual stage marks."""

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot.accounts.models import Role, User
from pilot.accounts.queries import people_by_id
from pilot.audit.services import changed, log, log_many, snapshot
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment, StageMark
from pilot.database import utcnow
from pilot.firms.models import Firm
from pilot.notifications.models import Kind
from pilot.notifications.services import experts_of, firm_users_of, forget, notify
from pilot.rectification.models import CLOSED_STATUSES, RectificationItem
from pilot.reports.archive import archive_on_commit
from pilot.stages import MANUAL_STAGES, STAGE_CODES, progress_of

DUE_FIELDS = [f"{code}_due" for code in STAGE_CODES]


class CaseError(ValueError):
    """A refused change to a case, with a message for the user."""


def batch_due_dates(batch: Batch) -> dict[str, date]:
    return {
        f"{code}_due": batch.start_date + timedelta(weeks=batch.due_weeks(code))
        for code in STAGE_CODES
    }


def open_case(session: Session, actor: User | None, batch: Batch, firm: Firm) -> Case:
    exists = session.exec(
        select(Case).where(Case.batch_id == batch.id, Case.firm_id == firm.id)
    ).first()
    if exists:
        raise CaseError(_("%(firm)s already has a case in this batch.", firm=firm.name))
    case = Case(batch_id=batch.id, firm_id=firm.id, **batch_due_dates(batch))
    session.add(case)
    session.flush()
    log(session, actor, case, "open", case_id=case.id, after=snapshot(case), public=True)
    return case


def open_cases(
    session: Session, actor: User | None, batch: Batch, firm_ids: list[int]
) -> list[int]:
    """A case in the batch for each of many firms (the roster import): `open_case`'s rule (one
    case per firm and batch) checked for all in one query, then one insert for the cases and
    one for their log entries. Returns the new case ids in the firms' order."""
    if not firm_ids:
        return []
    wanted = sa.bindparam("firm_ids", list(firm_ids), expanding=True)
    exists = session.exec(
        select(Firm.name)
        .join(Case, Case.firm_id == Firm.id)
        .where(Case.batch_id == batch.id, Case.firm_id.in_(wanted))
    ).first()
    if exists or len(set(firm_ids)) != len(firm_ids):
        raise CaseError(_("%(firm)s already has a case in this batch.", firm=exists or ""))
    dues = batch_due_dates(batch)
    now = utcnow()
    rows = [
        {
            "batch_id": batch.id,
            "firm_id": firm_id,
            **dues,
            "created_at": now,
            "withdrawn_reason": "",
        }
        for firm_id in firm_ids
    ]
    ids = list(
        session.scalars(sa.insert(Case).returning(Case.id, sort_by_parameter_order=True), rows)
    )
    empty = {"withdrawn_at": None, "closed_at": None}
    log_many(
        session,
        actor,
        Case.__tablename__,
        "open",
        [(i, i, {"id": i, **row, **empty}) for i, row in zip(ids, rows, strict=True)],
        public=True,
    )
    return ids


def set_due_dates(session: Session, actor: User, case: Case, dues: dict[str, date]) -> None:
    before = snapshot(case, DUE_FIELDS)
    for name in DUE_FIELDS:
        setattr(case, name, dues[name])
    b, a = changed(before, snapshot(case, DUE_FIELDS))
    if a:
        log(session, actor, case, "due_dates", case_id=case.id, before=b, after=a)


def assign_experts(
    session: Session, actor: User, case: Case, expert_ids: list[int], lead_id: int
) -> None:
    """Make the case's experts exactly these, with one lead."""
    if lead_id not in expert_ids:
        raise CaseError(_("The lead expert must be one of the assigned experts."))
    experts = list(people_by_id(session, expert_ids).values())
    if len(experts) != len(set(expert_ids)) or any(e.role != Role.EXPERT for e in experts):
        raise CaseError(_("Only expert accounts can be assigned."))
    before = {a.expert_id: a.is_lead for a in case.assignments}
    for assignment in list(case.assignments):
        if assignment.expert_id not in expert_ids:
            case.assignments.remove(assignment)
            session.delete(assignment)
    forget(session, set(before) - set(expert_ids), case)
    current = {a.expert_id: a for a in case.assignments}
    for expert_id in expert_ids:
        assignment = current.get(expert_id)
        if assignment is None:
            assignment = ExpertAssignment(case_id=case.id, expert_id=expert_id)
            case.assignments.append(assignment)
        assignment.is_lead = expert_id == lead_id
    after = {expert_id: expert_id == lead_id for expert_id in expert_ids}
    if before != after:
        log(
            session,
            actor,
            case,
            "assign_experts",
            case_id=case.id,
            before={"experts": _names(session, before)},
            after={"experts": _names(session, after)},
            public=True,
        )


def _names(session: Session, leads: dict[int, bool]) -> list[str]:
    users = people_by_id(session, leads)
    return [users[i].display_name + (" *" if lead else "") for i, lead in leads.items()]


def withdraw_case(session: Session, actor: User, case: Case, reason: str) -> None:
    if not reason.strip():
        raise CaseError(_("Give a reason for withdrawing the case."))
    if case.is_withdrawn:
        raise CaseError(_("The case is already withdrawn."))
    case.withdrawn_at = utcnow()
    case.withdrawn_reason = reason.strip()
    log(session, actor, case, "withdraw", case_id=case.id, reason=reason.strip(), public=True)


def reinstate_case(session: Session, actor: User, case: Case, reason: str) -> None:
    if not reason.strip():
        raise CaseError(_("Give a reason for taking the case back into the pilot."))
    if not case.is_withdrawn:
        raise CaseError(_("The case is not withdrawn."))
    case.withdrawn_at = None
    case.withdrawn_reason = ""
    log(session, actor, case, "reinstate", case_id=case.id, reason=reason.strip(), public=True)


def close_case(session: Session, actor: User, case: Case, today: date) -> list[int]:
    """结案: allowed once stage 6 is done; items still open are recorded as unfinished. The
    final report is archived right after the closing is committed (`archive_on_commit`)."""
    if case.is_read_only:
        raise CaseError(_("The case is already closed or withdrawn."))
    if not progress_of(session, case, today).ready_to_close:
        raise CaseError(_("A case is closed once its evaluation is done."))
    unfinished = session.exec(
        select(RectificationItem).where(
            RectificationItem.case_id == case.id,
            RectificationItem.status.not_in(CLOSED_STATUSES),
        )
    ).all()
    for item in unfinished:
        item.unfinished_at_closing = True
    case.closed_at = utcnow()
    log(
        session,
        actor,
        case,
        "close",
        case_id=case.id,
        after={"unfinished_items": [i.id for i in unfinished]},
        public=True,
    )
    notify(
        session,
        [*firm_users_of(session, case), *experts_of(case)],
        Kind.CASE_CLOSED,
        case,
        actor=actor,
    )
    archive_on_commit(session, actor, case, today)
    return [i.id for i in unfinished]


def reopen_case(session: Session, actor: User, case: Case, reason: str) -> None:
    if not case.is_closed:
        raise CaseError(_("The case is not closed."))
    if not reason.strip():
        raise CaseError(_("Give a reason for reopening the case."))
    for item in session.exec(
        select(RectificationItem).where(
            RectificationItem.case_id == case.id, RectificationItem.unfinished_at_closing
        )
    ).all():
        item.unfinished_at_closing = False
    case.closed_at = None
    log(session, actor, case, "reopen", case_id=case.id, reason=reason.strip(), public=True)


def mark_stage(session: Session, actor: User, case: Case, stage: str, reason: str) -> None:
    if stage not in MANUAL_STAGES:
        raise CaseError(_("This stage follows its records and cannot be marked by hand."))
    if not reason.strip():
        raise CaseError(_("Give a reason for marking the stage done."))
    mark = session.exec(
        select(StageMark).where(StageMark.case_id == case.id, StageMark.stage == stage)
    ).first()
    if mark:
        raise CaseError(_("The stage is already marked done."))
    mark = StageMark(case_id=case.id, stage=stage, reason=reason.strip(), marked_by_id=actor.id)
    session.add(mark)
    log(
        session,
        actor,
        mark,
        "mark_done",
        case_id=case.id,
        after={"stage": stage},
        reason=reason.strip(),
        public=True,
    )


def unmark_stage(session: Session, actor: User, case: Case, stage: str, reason: str) -> None:
    if not reason.strip():
        raise CaseError(_("Give a reason for taking the mark back."))
    mark = session.exec(
        select(StageMark).where(StageMark.case_id == case.id, StageMark.stage == stage)
    ).first()
    if mark is None:
        raise CaseError(_("The stage is not marked done."))
    log(
        session,
        actor,
        mark,
        "unmark",
        case_id=case.id,
        before={"stage": stage},
        reason=reason.strip(),
        public=True,
    )
    session.delete(mark)
