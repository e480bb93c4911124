"""Making and reading notifications. The services that perform an event call `notify` in the
same transaction, so every door (a page, the command line, an API) notifies alike; like every
service, these never commit."""

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, func, select

from pilot.accounts.models import Role, User
from pilot.cases.models import Case
from pilot.database import utcnow
from pilot.notifications.models import Kind, Notification


class NotificationError(ValueError):
    pass


def notify(
    session: Session,
    users: Iterable[int],
    kind: Kind,
    case: Case,
    *,
    actor: User | None = None,
    record_id: int | None = None,
    **params,
) -> list[Notification]:
    """One notification of `kind` on `case` for each of `users` (ids), each once, never for the
    actor: nobody is told what they did themselves."""
    wanted = dict.fromkeys(u for u in users if u is not None and (actor is None or u != actor.id))
    made = [
        Notification(
            recipient_id=user_id,
            kind=kind,
            case_id=case.id,
            record_id=record_id,
            params=params,
            actor_id=actor.id if actor else None,
        )
        for user_id in wanted
    ]
    session.add_all(made)
    return made


def excerpt(text: str, length: int = 60) -> str:
    """A record's words as a notification quotes them: the start of a long text."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


# Who is concerned --------------------------------------------------------------------------------


def firm_users(session: Session, cases: Iterable[Case]) -> dict[int, list[int]]:
    """The active users of each case's firm, by case id, in one query."""
    by_firm: dict[int, list[int]] = {}
    cases = list(cases)
    firm_ids = {c.firm_id for c in cases}
    if firm_ids:
        rows = session.exec(
            select(User.id, User.firm_id)
            .where(User.firm_id.in_(firm_ids), User.role == Role.FIRM, User.active)
            .order_by(User.id)
        ).all()
        for user_id, firm_id in rows:
            by_firm.setdefault(firm_id, []).append(user_id)
    return {c.id: by_firm.get(c.firm_id, []) for c in cases}


def firm_users_of(session: Session, case: Case) -> list[int]:
    return firm_users(session, [case])[case.id]


def experts_of(case: Case, lead_only: bool = False) -> list[int]:
    """The case's assigned experts (or its lead only)."""
    return [a.expert_id for a in case.assignments if a.is_lead or not lead_only]


def forget(session: Session, user_ids: Iterable[int], case: Case) -> None:
    """Remove what these users were told about the case: an expert taken off a case no longer
    reads anything of it, notifications included."""
    ids = list(user_ids)
    if ids:
        session.execute(
            sa.delete(Notification).where(
                Notification.case_id == case.id, Notification.recipient_id.in_(ids)
            )
        )


# Reading ----------------------------------------------------------------------------------------


def unread_count(session: Session, user_id: int) -> int:
    """The bell's number: one COUNT on the (recipient, read) index."""
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
    ).one()


def mark_read(session: Session, user: User, notification: Notification) -> None:
    if notification.recipient_id != user.id:
        raise NotificationError(_("This notification is not yours."))
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(session: Session, user: User) -> int:
    """Mark every unread notification of the user read; how many were."""
    result = session.execute(
        sa.update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
