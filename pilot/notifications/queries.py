"""What the notification list reads: one page of a user's notifications, newest first, with the
firm, batch and actor each names, in one query (and one count for the pages)."""

from dataclasses import dataclass

from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.firms.models import Firm
from pilot.notifications.models import Notification

PER_PAGE = 30


@dataclass(frozen=True)
class Row:
    notification: Notification
    firm: str
    batch: str
    actor: str


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    number: int
    pages: int
    total: int
    unread: int


def page_of(session: Session, user_id: int, number: int = 1, per_page: int = PER_PAGE) -> Page:
    mine = Notification.recipient_id == user_id
    total, unread = session.exec(
        select(func.count(), func.count(Notification.id).filter(Notification.read_at.is_(None)))
        .select_from(Notification)
        .where(mine)
    ).one()
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    actor = aliased(User)
    rows = session.exec(
        select(Notification, Firm.name, Batch.name, actor.display_name)
        .join(Case, Case.id == Notification.case_id)
        .join(Firm, Firm.id == Case.firm_id)
        .join(Batch, Batch.id == Case.batch_id)
        .join(actor, actor.id == Notification.actor_id, isouter=True)
        .where(mine)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    ).all()
    return Page(
        rows=[Row(n, firm, batch, name or "") for n, firm, batch, name in rows],
        number=number,
        pages=pages,
        total=total,
        unread=unread,
    )
