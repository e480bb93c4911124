"""Alembic environment: the app's engine and every model's metadata."""

from alembic import context
from flask import Flask
from sqlmodel import SQLModel

import pilot.models  # noqa: F401  (every table must be imported for autogenerate)
from pilot.extensions import db

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_, obj, autogen_context):
    """Write SQLModel's AutoString as plain sa.String, so migrations need no sqlmodel import."""
    if type_ == "type" and type(obj).__name__ == "AutoString":
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        autogen_context.imports.add("import pilot.database")
        return "pilot.database.UTCDateTime()"
    return False


def run_migrations_online() -> None:
    app: Flask = config.attributes["flask_app"]
    with app.app_context(), db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename): dropping a table other rows refer
            # to fails while foreign keys are enforced. The pragma only changes outside a
            # transaction; the keys are checked again before committing.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            render_item=render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `pilot db upgrade`.")
run_migrations_online()
