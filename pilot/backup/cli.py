"""`pilot backup -o FILE` and `pilot restore FILE`."""

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from pilot.backup import services


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _echo_summary(summary: services.Summary) -> None:
    database = f"{summary.database_kind} at migration {summary.revision}"
    click.echo(f"database\t{database}\t{_size(summary.counts['database'][1])}")
    for folder in services.FOLDERS:
        count, size = summary.counts[folder]
        click.echo(f"{folder}\t{count} files\t{_size(size)}")
    click.echo(f"archive\t{summary.archive}\t{_size(summary.archive_size)}")
    click.echo(f"sha256\t{summary.archive_sha256}")


@click.command("backup")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The archive to write (.tar; .tar.gz or .tgz to compress).",
)
@with_appcontext
def backup_command(output: Path) -> None:
    """Write one archive of the database, the uploaded files and the archived reports."""
    try:
        summary = services.backup(current_app._get_current_object(), output)
    except services.BackupError as error:
        raise click.ClickException(str(error)) from None
    _echo_summary(summary)


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(archive: Path) -> None:
    """Restore ARCHIVE (from `pilot backup`) into this instance, which must be empty."""
    try:
        summary = services.restore(current_app._get_current_object(), archive)
    except services.BackupError as error:
        raise click.ClickException(str(error)) from None
    _echo_summary(summary)
    if summary.migrated_to:
        click.echo(f"migrated\t{summary.revision} -> {summary.migrated_to}")
    click.echo("restored: every member matched its SHA-256 in the manifest")


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
