"""The `pilot` command: the app's Flask CLI with database, user, demo and listing commands."""

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.extensions import db


def main() -> None:
    from flask.cli import routes_command, shell_command

    from pilot import create_app
    from pilot.worker import run_command

    # Flask's commands, with `run` starting a background worker beside the server.
    cli = FlaskGroup(create_app=create_app, add_default_commands=False)
    for command in (run_command, shell_command, routes_command):
        cli.add_command(command)
    cli.main(prog_name="pilot")


@click.group("db", help="Create or migrate the database.")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from flask import current_app

    from pilot import migrate

    migrate.upgrade(current_app._get_current_object(), revision)


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ("base" undoes all)."""
    from flask import current_app

    from pilot import migrate

    migrate.downgrade(current_app._get_current_object(), revision)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models."""
    from flask import current_app

    from pilot import migrate

    migrate.revision(current_app._get_current_object(), message)


@db_group.command("is-empty")
@with_appcontext
def db_is_empty() -> None:
    """Exit 0 if the database holds no batch yet (used by `make run` to load the demo)."""
    from pilot.batches.models import Batch

    sys.exit(0 if db.session.exec(select(Batch).limit(1)).first() is None else 1)


@click.group("users", help="Manage user accounts.")
def users_group() -> None:
    pass


@users_group.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "staff", "expert", "firm"]))
@click.option("--name", "display_name", help="Name shown on pages (default: the username).")
@click.option("--firm", "credit_code", help="The firm's credit code, for a firm user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(username, role, display_name, credit_code, password_stdin) -> None:
    """Create a user."""
    from pilot.accounts.services import UserError, create_user
    from pilot.firms.models import Firm

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    firm_id = None
    if credit_code:
        firm = db.session.exec(select(Firm).where(Firm.credit_code == credit_code.upper())).first()
        if firm is None:
            raise click.ClickException(f"No firm has the credit code {credit_code}.")
        firm_id = firm.id
    try:
        user = create_user(
            db.session,
            None,
            password,
            username=username,
            display_name=display_name or username,
            role=role,
            firm_id=firm_id,
        )
    except UserError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created {user.username} ({user.role})")


@click.group("batches", help="Pilot batches.")
def batches_group() -> None:
    pass


@batches_group.command("list")
@with_appcontext
def batches_list() -> None:
    """Tab-separated: id, name, start date, end date."""
    from pilot.batches.models import Batch

    for batch in db.session.exec(select(Batch).order_by(Batch.start_date, Batch.id)).all():
        click.echo(f"{batch.id}\t{batch.name}\t{batch.start_date}\t{batch.end_date}")


@click.group("cases", help="Cases (一企一策档案).")
def cases_group() -> None:
    pass


@cases_group.command("list")
@click.option("--batch", "batch_name", help="Only this batch (its name).")
@with_appcontext
def cases_list(batch_name: str | None) -> None:
    """Tab-separated: credit code, firm, case id, current stage, batch, the stages under way
    (comma-separated, "-" for none), overdue rectification items."""
    from pilot.batches.models import Batch
    from pilot.cases.models import Case
    from pilot.database import today
    from pilot.firms.models import Firm
    from pilot.rectification.queries import counts_by_case
    from pilot.stages import progress

    query = (
        select(Case)
        .join(Batch)
        .join(Firm)
        .options(selectinload(Case.firm), selectinload(Case.batch))
        .order_by(Batch.start_date, Firm.name)
    )
    if batch_name:
        batch = db.session.exec(select(Batch).where(Batch.name == batch_name)).first()
        if batch is None:
            raise click.ClickException(f"No batch is named {batch_name}.")
        query = query.where(Case.batch_id == batch.id)
    cases = db.session.exec(query).all()
    on = today()
    states = progress(db.session, cases, on)
    items = counts_by_case(db.session, [c.id for c in cases], on)
    for case in cases:
        state = states[case.id]
        active = ",".join(s.code for s in state.active_stages) or "-"
        click.echo(
            f"{case.firm.credit_code}\t{case.firm.name}\t{case.id}\t"
            f"{state.current}\t{case.batch.name}\t{active}\t{items[case.id].overdue}"
        )


@click.group("frameworks", help="Assessment frameworks and the KPI catalogue.")
def frameworks_group() -> None:
    pass


@frameworks_group.command("load")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def frameworks_load(files: tuple[str, ...]) -> None:
    """Load framework YAML FILES; without FILES, the shipped frameworks and KPI catalogue."""
    from pathlib import Path

    from pilot.frameworks import services

    try:
        if files:
            for path in files:
                framework, written = services.load(
                    db.session, None, Path(path).read_text(encoding="utf-8")
                )
                state = "loaded" if written else "unchanged"
                click.echo(f"{state}\t{framework.code}\tv{framework.version}\t{framework.name}")
        else:
            for framework in services.load_shipped(db.session):
                click.echo(f"ready\t{framework.code}\tv{framework.version}\t{framework.name}")
            click.echo(f"KPIs added: {services.load_kpi_catalogue(db.session)}")
    except services.FrameworkError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()


@click.group("demo", help="Demonstration data.")
def demo_group() -> None:
    pass


@demo_group.command("load")
@click.option(
    "--firms",
    type=click.IntRange(min=20),
    default=20,
    show_default=True,
    help="More than 20: province-scale data, the demo batch's cases copied (multiple of 20).",
)
@click.option(
    "--per-batch",
    type=click.IntRange(min=20),
    default=200,
    show_default=True,
    help="Firms per batch with --firms (multiple of 20).",
)
@with_appcontext
def demo_load(firms: int, per_batch: int) -> None:
    """Load a fictional first batch (首批) of 20 firms, dated relative to today; with --firms N,
    then copies of its cases until N firms, in batches half a year apart."""
    from flask import current_app

    from pilot.background import run_here
    from pilot.demo import DEMO_PASSWORD, load_demo
    from pilot.demo.scale import TEMPLATE, load_scale

    if firms % TEMPLATE or per_batch % TEMPLATE:
        raise click.BadParameter(f"--firms and --per-batch must be multiples of {TEMPLATE}")
    # The closed cases' reports are archived before the command ends, not by a worker later.
    with run_here(current_app._get_current_object()):
        if firms > TEMPLATE:
            summary = load_scale(db.session, firms, per_batch)
        else:
            summary = load_demo(db.session)
        db.session.commit()
    click.echo(summary)
    click.echo(f"Demo password for every account: {DEMO_PASSWORD}")


def init_app(app: Flask) -> None:
    from pilot.api.cli import tokens_group
    from pilot.firms.cli import import_firms
    from pilot.ledger.cli import export_ledger
    from pilot.reminders.cli import remind_command
    from pilot.reports.cli import doctor_command, report_command
    from pilot.serve import serve_command
    from pilot.worker import worker_command

    groups = (
        db_group,
        users_group,
        batches_group,
        cases_group,
        frameworks_group,
        demo_group,
        tokens_group,
    )
    commands = (report_command, doctor_command, serve_command, worker_command, remind_command)
    for command in (*groups, *commands, import_firms, export_ledger):
        app.cli.add_command(command)
    from pilot.backup.cli import register as register_backup_commands

    register_backup_commands(app)
