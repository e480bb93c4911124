"""`pilot import-firms`: the roster import and its template on the command line."""

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pilot.extensions import db


def error_line(error) -> str:
    return _(
        "Row %(row)d, %(column)s: %(message)s",
        row=error.row,
        column=error.header,
        message=error.message,
    )


@click.command("import-firms")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--batch", "batch_name", help="The batch the firms join (its name).")
@click.option(
    "--update", is_flag=True, help="Change firms already registered to the file's values."
)
@click.option(
    "--template",
    "template_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the roster template to this file instead.",
)
@click.option(
    "--marked",
    type=click.Path(dir_okay=False, writable=True),
    help="Where the copy with the bad cells marked goes (default: beside FILE, .errors.xlsx).",
)
@with_appcontext
def import_firms(file, batch_name, update, template_path, marked) -> None:
    """Import the firms of FILE (.xlsx, sheet 企业名录) into the batch, all or nothing; each
    firm gets a case in the batch. With --template FILE.xlsx, write the template."""
    from pilot.batches.models import Batch
    from pilot.firms import roster, roster_workbooks

    if template_path:
        Path(template_path).write_bytes(roster_workbooks.template())
        click.echo(template_path)
        return
    if not file or not batch_name:
        raise click.UsageError("Give FILE and --batch NAME (or --template FILE).")
    batch = db.session.exec(select(Batch).where(Batch.name == batch_name)).first()
    if batch is None:
        raise click.ClickException(_("No batch is named %(name)s.", name=batch_name))
    path = Path(file)
    if not path.is_file():
        raise click.ClickException(_("No such file: %(path)s", path=file))
    data = path.read_bytes()
    try:
        result = roster.import_roster(db.session, None, batch, data, update=update)
    except roster.RosterError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    if result.errors:
        db.session.rollback()
        for error in result.errors:
            click.echo(error_line(error), err=True)
        out = Path(marked) if marked else path.with_suffix(".errors.xlsx")
        out.write_bytes(roster_workbooks.marked_copy(data, result.errors))
        click.echo(
            _(
                "Nothing was imported: %(count)d errors. The marked copy: %(path)s",
                count=len(result.errors),
                path=str(out),
            ),
            err=True,
        )
        sys.exit(1)
    try:
        db.session.commit()
    except IntegrityError:  # another import or a page added one of these firms meanwhile
        db.session.rollback()
        raise click.ClickException(
            _("A firm of the file was added meanwhile: import again.")
        ) from None
    for change in result.updated:
        details = "；".join(f"{h}：{b or '—'} → {a or '—'}" for h, (b, a) in change.changes.items())
        click.echo(
            _(
                "Row %(row)d, %(firm)s changed: %(changes)s",
                row=change.row,
                firm=change.name,
                changes=details,
            )
        )
    click.echo(result.summary())
