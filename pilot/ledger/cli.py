"""`pilot export-ledger`: a batch's ledger (台账) as a workbook."""

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlmodel import select

from pilot.extensions import db


@click.command("export-ledger")
@click.option("--batch", "batch_name", required=True, help="The batch (its name).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_ledger(batch_name: str, output: str) -> None:
    """Write the batch's ledger: the firm roster and a sheet per concern (.xlsx)."""
    from pilot.batches.models import Batch
    from pilot.database import today
    from pilot.excel import to_bytes
    from pilot.ledger.workbooks import ledger

    batch = db.session.exec(select(Batch).where(Batch.name == batch_name)).first()
    if batch is None:
        raise click.ClickException(_("No batch is named %(name)s.", name=batch_name))
    workbook = ledger(db.session, batch, today())
    Path(output).write_bytes(to_bytes(workbook))
    sheets = len(workbook.worksheets)
    click.echo(f"{output}\t{sheets} sheets")
