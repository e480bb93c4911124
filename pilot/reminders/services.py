"""The rules of the e-mail digest: who gets one on a day, and the log that keeps it to one a day.
They never commit: the run (`pilot.reminders.run`) commits each claim before it sends."""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from pilot.accounts.models import DigestFrequency, User
from pilot.database import utcnow
from pilot.next_actions import Task
from pilot.reminders.models import DigestSent

#: The weekly digest goes out on Mondays (date.weekday()): the week's work at its start.
WEEKLY_ON = 0


def recipients(session: Session) -> list[User]:
    """Active users with an e-mail address who want a digest at all, in a fixed order."""
    return list(
        session.exec(
            select(User)
            .where(User.active, User.email != "", User.digest != DigestFrequency.NONE)
            .order_by(User.id)
        ).all()
    )


def wants_digest_on(user: User, day: date) -> bool:
    """Daily: every day; weekly: on Mondays; none: never."""
    if user.digest == DigestFrequency.DAILY:
        return True
    if user.digest == DigestFrequency.WEEKLY:
        return day.weekday() == WEEKLY_ON
    return False


def worth_sending(tasks: Sequence[Task], day: date, days_ahead: int) -> bool:
    """Whether something is due: a task overdue, without a due date (to do now), or due within
    `days_ahead` days. Tasks due later alone make no digest."""
    horizon = day + timedelta(days=days_ahead)
    return any(t.overdue or t.due is None or t.due <= horizon for t in tasks)


def sent_on(session: Session, day: date) -> set[int]:
    """The users whose digest of the day is recorded (sent, or being sent)."""
    return set(session.exec(select(DigestSent.user_id).where(DigestSent.day == day)).all())


def claim(session: Session, user: User, day: date, tasks: int) -> DigestSent | None:
    """Record the user's digest of the day before it is sent, or None when one is recorded
    already (sent earlier that day, or being sent by another run). The caller commits the claim
    before sending, so two runs never both send it."""
    if session.exec(
        select(DigestSent.id).where(DigestSent.user_id == user.id, DigestSent.day == day)
    ).first():
        return None
    claimed = DigestSent(user_id=user.id, day=day, tasks=tasks)
    try:
        with session.begin_nested():  # another run may claim it between the look and the insert
            session.add(claimed)
    except sa.exc.IntegrityError:
        return None
    return claimed


def mark_sent(claimed: DigestSent) -> None:
    claimed.sent_at = utcnow()


def release(session: Session, claimed: DigestSent) -> None:
    """Forget a claim whose message was not sent, so a later run may send it."""
    session.delete(claimed)
