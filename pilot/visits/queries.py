"""What the visit pages and the case card read: a case's visits, a visit's photos and people,
and a batch's hours delivered against hours bought."""

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.files.models import StoredFile
from pilot.firms.models import Firm
from pilot.visits.models import Visit, VisitExpert, VisitStatus
from pilot.visits.services import PHOTO_TYPE


def case_visits(session: Session, case: Case) -> list[Visit]:
    """The case's visits with their experts, newest first."""
    return session.exec(
        select(Visit)
        .where(Visit.case_id == case.id)
        .options(selectinload(Visit.experts))
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
    ).all()


def visit_photos(session: Session, visit: Visit) -> list[StoredFile]:
    return session.exec(
        select(StoredFile)
        .where(StoredFile.owner_type == PHOTO_TYPE, StoredFile.owner_id == visit.id)
        .order_by(StoredFile.id)
    ).all()


def visit_people(session: Session, visit: Visit) -> dict[int, User]:
    """Who logged the visit and who answered it, in one query."""
    return people_by_id(session, [visit.logged_by_id, visit.answered_by_id])


@dataclass
class HoursRow:
    label: str
    confirmed: Decimal
    pending: Decimal


def hours_summary(session: Session, batch: Batch) -> dict[str, list[HoursRow] | Decimal]:
    """Visit hours of a batch per expert and per firm; confirmed hours count as delivered.

    An expert's hours are the visit's hours for every expert present (each expert's time is
    bought); the firm's are the visit's hours once.
    """
    confirmed = sa.case((Visit.status == VisitStatus.CONFIRMED, Visit.hours), else_=0)
    pending = sa.case((Visit.status != VisitStatus.CONFIRMED, Visit.hours), else_=0)
    in_batch = select(Case.id).where(Case.batch_id == batch.id)
    per_expert = session.exec(
        select(User.display_name, sa.func.sum(confirmed), sa.func.sum(pending))
        .join(VisitExpert, VisitExpert.expert_id == User.id)
        .join(Visit, Visit.id == VisitExpert.visit_id)
        .where(Visit.case_id.in_(in_batch))
        .group_by(User.id, User.display_name)
        .order_by(User.display_name)
    ).all()
    per_firm = session.exec(
        select(Firm.name, sa.func.sum(confirmed), sa.func.sum(pending))
        .join(Case, Case.firm_id == Firm.id)
        .join(Visit, Visit.case_id == Case.id, isouter=True)  # firms without a visit show 0
        .where(Case.batch_id == batch.id)
        .group_by(Firm.id, Firm.name)
        .order_by(Firm.name)
    ).all()
    experts = [HoursRow(n, Decimal(c or 0), Decimal(p or 0)) for n, c, p in per_expert]
    return {
        "experts": experts,
        "firms": [HoursRow(n, Decimal(c or 0), Decimal(p or 0)) for n, c, p in per_firm],
        "delivered": sum((r.confirmed for r in experts), Decimal(0)),
        "bought": batch.expert_hours_bought,
    }
