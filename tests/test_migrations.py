"""Migrations: upgrade an empty database to head, match the models, downgrade to base and
upgrade again."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import pilot.models  # noqa: F401
from pilot import create_app, migrate
from pilot.extensions import db
from tests.conftest import PG_URL, drop_database, make_database


def _empty_database_url(tmp_path) -> str:
    if PG_URL:
        return make_database(PG_URL, "pilot_migrate")
    return f"sqlite:///{tmp_path / 'migrate.sqlite'}"


def test_upgrade_matches_models_downgrades_to_base_and_upgrades_again(tmp_path):
    url = _empty_database_url(tmp_path)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)})
    try:
        migrate.upgrade(app)
        with app.app_context(), db.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert set(SQLModel.metadata.tables) <= tables
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []

        migrate.downgrade(app, "base")
        with app.app_context(), db.engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}

        migrate.upgrade(app)
        with app.app_context(), db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
            assert {c["name"] for c in sa.inspect(conn).get_check_constraints("visit")} == {
                "ck_visit_status"
            }
    finally:
        with app.app_context():
            db.engine.dispose()
        if PG_URL:
            drop_database(url)
