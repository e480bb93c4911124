"""`pilot worker`, the consumer of the background queue, and `pilot run`, the development
server with a consumer beside it so the demo needs no second command."""

import logging
import os

import click
from flask import current_app
from flask.cli import ScriptInfo, pass_script_info, with_appcontext
from flask.cli import run_command as flask_run_command
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from pilot import background


@click.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Tasks run at once (threads; a batch ZIP renders on every core by itself).",
)
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Run the scheduled tasks too. With several workers on one queue, one is enough.",
)
@with_appcontext
def worker_command(workers: int, periodic: bool) -> None:
    """Run the background tasks (batch ZIPs, reports archived after closing) until stopped:
    Ctrl-C or SIGINT waits for the running tasks, SIGTERM stops at once."""
    app = current_app._get_current_object()
    if app.config["QUEUE_IMMEDIATE"]:
        raise click.ClickException("QUEUE_IMMEDIATE is set: tasks run where they are asked for.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    click.echo(background.where(app), err=True)
    background.consumer(app, workers=workers, periodic=periodic).run()


def serves_here(reload: bool | None) -> bool:
    """Whether this process is the one that serves: with the reloader, a watching process
    starts the serving one and restarts it on each change, and only the latter may consume
    (else every task would be taken by two consumers' threads, and a reload would add one)."""
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


@click.command(
    "run",
    params=[
        *flask_run_command.params,
        click.Option(
            ["--worker/--no-worker"],
            default=True,
            show_default=True,
            help="Consume the background queue in a thread of the server's process.",
        ),
    ],
    short_help="Run the development server (with a background worker).",
)
@pass_script_info
@click.pass_context
def run_command(ctx: click.Context, info: ScriptInfo, worker: bool, **options) -> None:
    """Run the development server and, in its process, a background worker: the demo's batch
    ZIPs and closings need no second command. `pilot worker` is the worker for production."""
    if worker and serves_here(options["reload"]):
        app = info.load_app()
        background.start_beside_server(app)
        click.echo(f" * Background worker: {background.where(app)} (pid {os.getpid()})")
    ctx.invoke(flask_run_command, **options)
