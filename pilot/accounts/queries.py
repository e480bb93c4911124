"""Reading accounts: the users a page or a report names, by id, in one query."""

from collections.abc import Iterable

from sqlmodel import Session, select

from pilot.accounts.models import User


def people_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    """The users with these ids, by id, in one query (None is skipped; no ids, no query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.exec(select(User).where(User.id.in_(wanted))).all()}
