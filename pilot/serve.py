"""`pilot serve`: the app under gunicorn, the production server."""

import os
import shutil
import sys

import click


def default_workers() -> int:
    """gunicorn's advice (2 × cores + 1), capped: each sync worker holds a database connection."""
    return min(2 * (os.cpu_count() or 1) + 1, 9)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port.")
@click.option("--workers", type=int, default=default_workers, help="Default: 2 × cores + 1.")
@click.option("--timeout", type=int, default=120, show_default=True, help="Seconds per request.")
def serve_command(bind: str, workers: int, timeout: int) -> None:
    """Serve the app with gunicorn (sync workers; the app loaded once before forking)."""
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which(
        "gunicorn"
    )
    if gunicorn is None:
        raise click.ClickException("gunicorn is not installed")
    args = [
        gunicorn,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        "--preload",
        "--access-logfile",
        "-",
        "pilot.wsgi:app",
    ]
    # B606: Gunicorn with fixed arguments, no shell.
    os.execv(gunicorn, args)  # nosec B606
