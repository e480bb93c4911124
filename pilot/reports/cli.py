"""`pilot report` and `pilot doctor`."""

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import select

from pilot.extensions import db


@click.command("report")
@click.argument("case_id", type=int, required=False)
@click.option("--batch", "batch_name", help="Every case of this batch, into a ZIP.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def report_command(case_id: int | None, batch_name: str | None, output: str) -> None:
    """Write a case's report (PDF), or with --batch every case's report (ZIP)."""
    from pilot.batches.models import Batch
    from pilot.cases.models import Case
    from pilot.database import today
    from pilot.reports.archive import batch_zip, render_case
    from pilot.reports.parallel import render_cases

    if (case_id is None) == (batch_name is None):
        raise click.UsageError("Give a CASE_ID or --batch NAME.")
    app = current_app._get_current_object()
    if case_id is not None:
        if db.session.get(Case, case_id) is None:
            raise click.ClickException(f"No case has the id {case_id}.")
        with app.test_request_context():
            rendered = render_case(db.session, case_id, today())
        Path(output).write_bytes(rendered.pdf)
        click.echo(f"{output}\t{rendered.pages} pages\t{len(rendered.pdf)} bytes")
        return
    batch = db.session.exec(select(Batch).where(Batch.name == batch_name)).first()
    if batch is None:
        raise click.ClickException(f"No batch is named {batch_name}.")
    case_ids = db.session.exec(select(Case.id).where(Case.batch_id == batch.id)).all()
    with click.progressbar(length=len(case_ids), label="Reports", file=sys.stderr) as bar:
        shown = [0]

        def progress(done: int) -> None:
            bar.update(done - shown[0])
            shown[0] = done

        data = batch_zip(
            db.session, case_ids, today(), lambda ids: render_cases(app, ids, today()), progress
        )
    Path(output).write_bytes(data)
    click.echo(f"{output}\t{len(case_ids)} reports\t{len(data)} bytes")


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check that what the app needs is here: fonts, HarfBuzz subsetting, database, folders."""
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from pilot.migrate import alembic_config
    from pilot.reports.pdf import missing_pieces

    problems = 0
    for missing in missing_pieces():
        click.echo(f"MISSING\t{missing.what}: {missing.consequence}")
        problems += 1
    app = current_app._get_current_object()
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config(app)).get_current_head()
        if current != head:
            click.echo(
                f"MISSING\tdatabase migrations: at {current}, code expects {head} "
                "(run `pilot db upgrade`)"
            )
            problems += 1
        else:
            click.echo(f"ok\tdatabase at migration {head}")
    except sa.exc.SQLAlchemyError as error:
        click.echo(f"MISSING\tdatabase: {error.__class__.__name__}: {error}")
        problems += 1
    for key in ("FILES_PATH", "REPORTS_PATH"):
        path = Path(app.config[key])
        path.mkdir(parents=True, exist_ok=True)
        click.echo(f"ok\t{key} {path}")
    if problems:
        raise SystemExit(1)
    click.echo("ok\tCJK fonts and HarfBuzz subsetting found")
