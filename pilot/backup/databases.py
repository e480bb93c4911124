"""A consistent copy of the database and its restore: SQLite's online backup, pg_dump/pg_restore."""

import os
import shutil
import sqlite3

# B404: Pg_dump and pg_restore, run without a shell.
import subprocess  # nosec B404
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


class BackupError(Exception):
    """A backup or a restore is refused or failed; the message says why, for the operator."""


#: Rows in any of these tables mean people worked in the instance: a restore would lose them.
#: Other tables may hold reference data (frameworks, KPI catalogue) that the archive brings back.
PEOPLES_TABLES = ("user", "firm", "batch")

DUMP_NAMES = {"sqlite": "pilot.sqlite", "postgresql": "pilot.dump"}


def database_kind(url: str) -> str:
    kind = sa.make_url(url).get_backend_name()
    if kind not in DUMP_NAMES:
        raise BackupError(f"Backups support SQLite and PostgreSQL databases, not {kind}.")
    return kind


def sqlite_path(url: str) -> Path:
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("The SQLite database is in memory: there is no file to back up.")
    return Path(database)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool)


def current_revision(url: str) -> str | None:
    """The migration the database is at (None: not migrated, or no such SQLite file yet)."""
    from alembic.runtime.migration import MigrationContext

    if database_kind(url) == "sqlite" and not sqlite_path(url).is_file():
        return None
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def why_not_empty(url: str) -> str | None:
    """None when the database can take a restore; otherwise what it holds."""
    if database_kind(url) == "sqlite" and not sqlite_path(url).is_file():
        return None
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            for name in PEOPLES_TABLES:
                if name in tables:
                    count = conn.execute(sa.select(sa.func.count()).select_from(sa.table(name)))
                    if count.scalar_one():
                        return f"its database has rows in the table {name}"
    finally:
        engine.dispose()
    return None


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """The --dbname argument for pg_dump/pg_restore (no driver, no password) and the
    environment that carries the password, so it never shows in the process list."""
    parsed = sa.make_url(url)
    dbname = parsed.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return [f"--dbname={dbname.render_as_string(hide_password=False)}"], env


def _run(command: list[str], env: dict[str, str]) -> None:
    program = shutil.which(command[0])
    if program is None:
        raise BackupError(f"{command[0]} is needed for a PostgreSQL database and was not found.")
    # B603: A fixed program; the URL is the app's own setting.
    result = subprocess.run(  # nosec B603
        [program, *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def dump(url: str, target: Path) -> None:
    """Write a consistent copy of the database to the file `target`."""
    if database_kind(url) == "sqlite":
        source_path = sqlite_path(url)
        if not source_path.is_file():
            raise BackupError(f"The SQLite database {source_path} does not exist.")
        # Read-only: never create or change the source. The online backup API copies a
        # consistent snapshot even while the app writes.
        source = sqlite3.connect(source_path.resolve().as_uri() + "?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    dbname, env = _libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", f"--file={target}", *dbname], env)


def restore(url: str, dump_file: Path) -> None:
    """Replace the (empty) database with the dump: the SQLite file is moved into place;
    PostgreSQL's tables (reference data only, checked before) are dropped, then pg_restore runs
    in one transaction."""
    if database_kind(url) == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.move(dump_file, path)
        return
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            tables = sa.inspect(conn).get_table_names()
            if tables:
                quoted = ", ".join(conn.dialect.identifier_preparer.quote(t) for t in tables)
                conn.execute(sa.text(f"DROP TABLE {quoted} CASCADE"))
    finally:
        engine.dispose()
    dbname, env = _libpq(url)
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            *dbname,
            str(dump_file),
        ],
        env,
    )
