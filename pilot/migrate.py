"""Alembic, driven from the app's configuration: the schema changes only through migrations/."""

from alembic import command
from alembic.config import Config
from flask import Flask

from pilot.config import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["flask_app"] = app
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app), revision)


def downgrade(app: Flask, revision: str) -> None:
    command.downgrade(alembic_config(app), revision)


def revision(app: Flask, message: str) -> None:
    command.revision(alembic_config(app), message=message, autogenerate=True)
