"""The data version: one stamp that every write to the database replaces, in the writing
transaction, so a page rendered from the data can be kept and served again until the next write
(the cohort board: `pilot.board.views`).

Any flush with changes and any ORM insert, update or delete statement through a session sets a
new random stamp, in the same transaction as the change: readers see the new stamp exactly when
they see the change. A random stamp, not a counter, so that one stamp always means one state of
the data, even after a backup is restored. A reader reads the stamp before the data it renders,
so what it keeps under a stamp is never older than that stamp. Writes that bypass the session
(the bulk scale loader) call `bump` themselves. Without the stamp's row (a database made by
`create_all` and emptied), the version is None and nothing is kept.
"""

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel


class DataVersion(SQLModel, table=True):
    __tablename__ = "data_version"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: int = Field(default=0, sa_type=sa.BigInteger)


_ROW = 1
_TABLE = DataVersion.__table__


def bump(connection: sa.Connection) -> None:
    """A new stamp, in the connection's transaction."""
    connection.execute(
        sa.update(_TABLE).where(_TABLE.c.id == _ROW).values(value=secrets.randbits(62))
    )


# The row, also on databases made by create_all (the migration inserts it on the others).
sa.event.listen(
    DataVersion.__table__,
    "after_create",
    sa.DDL("INSERT INTO data_version (id, value) VALUES (1, 0)"),
)


def current(session: Session) -> int | None:
    """The data version as this session sees it (None: no counter, keep nothing)."""
    return session.execute(sa.select(_TABLE.c.value).where(_TABLE.c.id == _ROW)).scalar()


@sa.event.listens_for(OrmSession, "before_flush")
def _bump_on_flush(session, flush_context, instances) -> None:
    if session.new or session.dirty or session.deleted:
        bump(session.connection())


@sa.event.listens_for(OrmSession, "do_orm_execute")
def _bump_on_bulk_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        bump(state.session.connection())
