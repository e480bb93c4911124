"""The rectification card on the case page."""

from sqlmodel import func, select

from pilot.cases.models import Case
from pilot.database import today
from pilot.extensions import db
from pilot.rectification import services
from pilot.rectification.models import ItemStatus, RectificationItem
from pilot.rectification.pages import GROUPS, labels, row

#: How many of the next due items the case page's card lists.
NEXT_DUE = 3


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None."""
    on = today()
    counts = dict(
        db.session.exec(
            select(RectificationItem.status, func.count())
            .where(RectificationItem.case_id == case.id)
            .group_by(RectificationItem.status)
        ).all()
    )
    pending = select(RectificationItem).where(
        RectificationItem.case_id == case.id,
        RectificationItem.status.in_(services.WORKABLE),
    )
    next_due = db.session.exec(
        pending.order_by(RectificationItem.due_date, RectificationItem.id).limit(NEXT_DUE)
    ).all()
    overdue = db.session.exec(
        select(func.count()).where(
            RectificationItem.case_id == case.id, services.overdue_clause(on)
        )
    ).one()
    total = sum(counts.values())
    closed = counts.get(ItemStatus.VERIFIED, 0) + counts.get(ItemStatus.WAIVED, 0)
    return {
        "template": "rectification/_section.html",
        "L": labels(),
        "counts": counts,
        "total": total,
        "closed": closed,
        "overdue": overdue,
        "next_due": [row(item, 0, on) for item in next_due],
        "statuses": [s for _code, _label, group in GROUPS for s in group if counts.get(s)],
    }
