"""`pilot remind`: the day's e-mail digests, or with --dry-run what they would say."""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from pilot.database import today
from pilot.reminders.jobs import LOCAL_BASE_URL, remind
from pilot.reminders.mail import MailNotConfigured


@click.command("remind")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print each digest that would be sent, with its recipient's address; send nothing.",
)
@with_appcontext
def remind_command(dry_run: bool) -> None:
    """E-mail each user with something due or overdue the digest of what waits on them (daily,
    or on Mondays for those who chose weekly), at most once a day. Exits with status 1 when a
    recipient failed, after trying all the others."""
    if dry_run and not current_app.config["BASE_URL"]:
        click.echo(f"BASE_URL is not set: the links point at {LOCAL_BASE_URL}.", err=True)
    try:
        outcome = remind(today(), dry_run=dry_run)
    except MailNotConfigured as missing:
        raise click.ClickException(f"{missing} See the README's Configuration.") from None
    if dry_run:
        for mail in outcome.mails:
            click.echo(f"To: {mail.to_name} <{mail.to_address}>")
            click.echo(f"Subject: {mail.subject}\n")
            click.echo(mail.text.rstrip())
            click.echo("-" * 72)
    done = "would be sent" if dry_run else "sent"
    click.echo(f"{len(outcome.mails)} digest(s) {done}; {outcome.already_sent} sent earlier today.")
    for address, reason in outcome.failed:
        click.echo(f"failed\t{address}\t{reason}", err=True)
    if outcome.failed:
        click.echo(f"{len(outcome.failed)} digest(s) failed.", err=True)
        sys.exit(1)
