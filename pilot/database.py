"""Database plumbing: naming convention, SQLite pragmas, UTC-aware datetimes, "today"."""

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, values: Iterable[str]) -> sa.CheckConstraint:
    """A CHECK that a string column holds one of the values, named ck_<table>_<column>.

    NULL passes (SQL's IN gives unknown), so a nullable column stays nullable.
    """
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=column)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp that is always timezone-aware UTC, on SQLite (naive storage) and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIME_ZONE"])


def today() -> date:
    """The calendar date in the bureau's time zone, or the pinned TODAY of the config."""
    pinned = current_app.config.get("TODAY")
    if pinned:
        return date.fromisoformat(str(pinned))
    return datetime.now(local_zone()).date()


def sqlite_pragmas(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def register_engine_events(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)


def upsert_statement(session: Session, model: type[SQLModel]):
    """The database's INSERT that takes ON CONFLICT: an insert-or-update in one statement, with
    no gap between looking for a row and adding it (SQLite and PostgreSQL spell it alike)."""
    dialect = session.get_bind().dialect.name
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect](model)


def compare_and_set(session: Session, record: SQLModel, column: str, expected, new) -> bool:
    """Write `new` into the record's column if the row still holds `expected`; False if it no
    longer does (someone else changed it meanwhile).

    One UPDATE whose WHERE names the expected value: of two requests racing to make the same
    change only one matches the row, on SQLite and PostgreSQL alike (PostgreSQL re-checks the
    WHERE once the first one commits).
    """
    model = type(record)
    result = session.execute(
        sa.update(model)
        .where(model.id == record.id, getattr(model, column) == expected)
        .values({column: new})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    # The row holds the new value already; tell the ORM without marking the record dirty.
    set_committed_value(record, column, new)
    return True


class EditConflict(ValueError):
    """A save made on a version the record no longer has: someone else saved it since the page
    was loaded. `current` is the record as it is now. Features may subclass it for their own
    words (and their own error class)."""

    message = _l(
        "Someone else changed this record while you were editing it. "
        "Your input is kept below; check the current values before saving again."
    )

    def __init__(self, record: SQLModel):
        super().__init__(str(self.message))
        self.current = record


#: The largest version a form may send: an integer column holds it on every database.
MAX_VERSION = 2**31 - 1


def bump_version(
    session: Session,
    record: SQLModel,
    expected: int | None,
    *,
    column: str = "version",
    conflict: type[EditConflict] = EditConflict,
) -> None:
    """Raise the record's version, refusing (`conflict`) if it is no longer the one the user saw.

    Every change to a record that two people can edit calls this first; the version a form page
    was rendered from comes back as `expected`. None is a change made without a form (a worker,
    the CLI): it raises the version without comparing.
    """
    version = getattr(record, column) if expected is None else expected
    if not 0 <= version < MAX_VERSION or not compare_and_set(
        session, record, column, version, version + 1
    ):
        session.refresh(record)
        raise conflict(record)


_AFTER_COMMIT = "pilot.after_commit"
_AFTER_ROLLBACK = "pilot.after_rollback"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run action once the session's transaction commits; forget it if the transaction rolls back.

    For what the database cannot undo or cannot do inside the transaction (removing a file's
    bytes, rendering a report of the committed records), so it happens only when the change that
    calls for it is kept.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def after_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run action if the session's transaction ends without a commit (undo a file written for a
    record that is not kept); forget it once the transaction commits."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(action)


# Listened to on the class, once: listening on a scoped session would add a listener to its
# session factory at every request.
@sa.event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_ROLLBACK, None)
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()


@sa.event.listens_for(Session, "after_transaction_end")
def _run_after_rollback(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    session.info.pop(_AFTER_COMMIT, None)
    for action in session.info.pop(_AFTER_ROLLBACK, []):
        action()
