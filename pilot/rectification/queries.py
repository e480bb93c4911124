"""Counts of rectification items for the board and the batch figures, in grouped queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, func, select

from pilot.cases.models import Case
from pilot.rectification.models import CLOSED_STATUSES, ItemStatus, RectificationItem
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
    counts: dict[int, ItemCounts] = defaultdict(ItemCounts)
    if not case_ids:
        return counts
    overdue = overdue_clause(today)
    rows = session.exec(
        select(
            RectificationItem.case_id,
            RectificationItem.status,
            RectificationItem.severity,
            func.count(),
            func.sum(sa.case((overdue, 1), else_=0)),
        )
        .where(RectificationItem.case_id.in_(case_ids))
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
    case_ids = session.exec(select(Case.id).where(Case.batch_id == batch_id)).all()
    total = ItemCounts()
    for c in counts_by_case(session, list(case_ids), today).values():
        for name in ("total", "open", "submitted", "returned", "closed", "overdue"):
            setattr(total, name, getattr(total, name) + getattr(c, name))
        for severity, (closed, n) in c.by_severity.items():
            total.by_severity[severity][0] += closed
            total.by_severity[severity][1] += n
    return total
