"""What the rectification pages and the board read: evidence counts, the verification queue, and
the item counts per case and per batch, in grouped queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, func, select

from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment
from pilot.database import local_zone, today
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.firms.models import Firm
from pilot.permissions import can, visible_cases_query
from pilot.rectification.models import (
    CLOSED_STATUSES,
    EVIDENCE,
    ItemStatus,
    RectificationItem,
)
from pilot.rectification.services import overdue_clause


@dataclass
class ItemCounts:
    total: int = 0
    open: int = 0  # open or in progress
    submitted: int = 0
    returned: int = 0
    closed: int = 0  # verified or waived
    overdue: int = 0  # rectification.services.is_overdue
    by_severity: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.total if self.total else None


def counts_by_case(session: Session, case_ids: list[int], today: date) -> dict[int, ItemCounts]:
    if not case_ids:
        return defaultdict(ItemCounts)
    # One expanding parameter: no per-id coercion of a long list.
    ids = sa.bindparam("case_ids", list(case_ids), expanding=True)
    return _counts(session, RectificationItem.case_id.in_(ids), today)


def _counts(session: Session, which, today: date) -> dict[int, ItemCounts]:
    """Item counts per case of the items matching `which`, in one grouped query."""
    counts: dict[int, ItemCounts] = defaultdict(ItemCounts)
    overdue = overdue_clause(today)
    rows = session.exec(
        select(
            RectificationItem.case_id,
            RectificationItem.status,
            RectificationItem.severity,
            func.count(),
            func.sum(sa.case((overdue, 1), else_=0)),
        )
        .where(which)
        .group_by(RectificationItem.case_id, RectificationItem.status, RectificationItem.severity)
    ).all()
    for case_id, status, severity, n, late in rows:
        c = counts[case_id]
        c.total += n
        c.overdue += late or 0
        c.by_severity[severity][1] += n
        if status in CLOSED_STATUSES:
            c.closed += n
            c.by_severity[severity][0] += n
        elif status == ItemStatus.SUBMITTED:
            c.submitted += n
        elif status == ItemStatus.RETURNED:
            c.returned += n
        else:
            c.open += n
    return counts


def batch_counts(session: Session, batch_id: int, today: date) -> ItemCounts:
    """All of a batch's items together: closure rate by severity, overdue count."""
    batch_cases = select(Case.id).where(Case.batch_id == batch_id)
    total = ItemCounts()
    for c in _counts(session, RectificationItem.case_id.in_(batch_cases), today).values():
        for name in ("total", "open", "submitted", "returned", "closed", "overdue"):
            setattr(total, name, getattr(total, name) + getattr(c, name))
        for severity, (closed, n) in c.by_severity.items():
            total.by_severity[severity][0] += closed
            total.by_severity[severity][1] += n
    return total


def item_numbers(session: Session, case_ids: set[int]) -> dict[int, int]:
    """Each item's number within its case (1, 2, …): its place in the checklist's order (due
    date, then creation), as the report numbers its rectification list."""
    rows = session.exec(
        select(RectificationItem.id, RectificationItem.case_id)
        .where(RectificationItem.case_id.in_(case_ids))
        .order_by(RectificationItem.case_id, RectificationItem.due_date, RectificationItem.id)
    ).all()
    numbers, counters = {}, defaultdict(int)
    for item_id, case_id in rows:
        counters[case_id] += 1
        numbers[item_id] = counters[case_id]
    return numbers


def evidence_counts(case_id: int) -> dict[int, int]:
    """Current evidence files per item of the case, in one grouped query."""
    return dict(
        db.session.exec(
            select(StoredFile.owner_id, func.count())
            .where(StoredFile.case_id == case_id, StoredFile.owner_type == EVIDENCE)
            .where(StoredFile.is_current)
            .group_by(StoredFile.owner_id)
        ).all()
    )


def queue_entries(user: User) -> list[dict]:
    """Submitted items of the cases the user sees, still in the pilot, oldest submission first,
    each with its case, firm, batch, current evidence and days waiting."""
    visible = visible_cases_query(user).with_only_columns(Case.id)
    rows = db.session.exec(
        select(RectificationItem, Case, Firm, Batch)
        .join(Case, Case.id == RectificationItem.case_id)
        .join(Firm, Firm.id == Case.firm_id)
        .join(Batch, Batch.id == Case.batch_id)
        .where(RectificationItem.status == ItemStatus.SUBMITTED)
        .where(Case.id.in_(visible))
        .where(Case.withdrawn_at.is_(None), Case.closed_at.is_(None))
        .options(selectinload(Case.assignments).selectinload(ExpertAssignment.expert))
        .order_by(RectificationItem.submitted_at, RectificationItem.id)
    ).all()
    ids = [item.id for item, *_rest in rows]
    evidence: dict[int, list[StoredFile]] = {}
    if ids:
        for stored in db.session.exec(
            select(StoredFile)
            .where(StoredFile.owner_type == EVIDENCE, StoredFile.owner_id.in_(ids))
            .where(StoredFile.is_current)
            .order_by(StoredFile.id)
        ).all():
            evidence.setdefault(stored.owner_id, []).append(stored)
    on, zone = today(), local_zone()
    return [
        {
            "item": item,
            "case": case,
            "firm": firm,
            "batch": batch,
            "evidence": evidence.get(item.id, []),
            # Never negative, should the clock and a pinned "today" disagree (the demo).
            "waiting": max((on - item.submitted_at.astimezone(zone).date()).days, 0)
            if item.submitted_at
            else 0,
            "may_verify": can(user, "verify_item", case),
        }
        for item, case, firm, batch in rows
    ]
