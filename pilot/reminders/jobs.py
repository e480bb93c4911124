"""The digest run, one for `pilot remind` and the daily task of the background queue: each user
who wants a digest today and has something due gets one, at most once a day.

Each user's digest is claimed in the log and committed before it is sent (so a second run, the
same day or in parallel, skips that user), and the claim is removed if the server does not take
the message. A recipient that fails is reported and the run goes on with the others.
"""

import logging
import smtplib
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date

from flask import current_app

from pilot import background
from pilot.database import today
from pilot.extensions import db
from pilot.next_actions import tasks_for
from pilot.reminders import services
from pilot.reminders.digest import write_digest, writing_for
from pilot.reminders.mail import Mail, Mailer, MailNotConfigured, MailSettings

logger = logging.getLogger(__name__)

#: Where a dry run's links point when BASE_URL is not set: the address `make run` serves.
LOCAL_BASE_URL = "http://127.0.0.1:5000"


@dataclass
class Outcome:
    """What a run did: the digests sent (or, in a dry run, to send), the users whose digest of
    the day had gone out already, and the recipients that failed with why."""

    mails: list[Mail] = field(default_factory=list)
    already_sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def remind(day: date, *, dry_run: bool = False) -> Outcome:
    """Send (or with `dry_run` only write) the day's digests. MailNotConfigured when sending
    lacks a setting."""
    config = current_app.config
    settings = None if dry_run else MailSettings.of(current_app)
    base_url = config["BASE_URL"] or LOCAL_BASE_URL
    days_ahead = int(config["DIGEST_DAYS_AHEAD"])
    session = db.session
    outcome = Outcome()
    done = services.sent_on(session, day)
    wanting = [u for u in services.recipients(session) if services.wants_digest_on(u, day)]
    with nullcontext() if settings is None else Mailer(settings) as mailer:
        for user in wanting:
            if user.id in done:
                outcome.already_sent += 1
                continue
            address = user.email
            try:
                with writing_for(user, base_url):
                    tasks = tasks_for(session, user, day)
                    if not services.worth_sending(tasks, day, days_ahead):
                        continue
                    mail = write_digest(user, tasks, day, days_ahead)
                if mailer is None or _send(mailer, mail, user, day, len(tasks), outcome):
                    outcome.mails.append(mail)
            except Exception as error:  # noqa: BLE001 — one recipient must not stop the others
                session.rollback()
                logger.exception("The digest of user %s was not written", user.id)
                outcome.failed.append((address, f"{error.__class__.__name__}: {error}"))
    return outcome


def _send(mailer: Mailer, mail: Mail, user, day: date, tasks: int, outcome: Outcome) -> bool:
    """Claim, send, and keep or release the claim; False when it was claimed already."""
    session = db.session
    claimed = services.claim(session, user, day, tasks)
    if claimed is None:
        session.rollback()
        outcome.already_sent += 1
        return False
    session.commit()
    try:
        mailer.send(mail)
    except Exception as error:  # noqa: BLE001 — whatever failed, the message was not sent
        services.release(session, claimed)
        session.commit()
        outcome.failed.append((mail.to_address, _reason(error)))
        return False
    services.mark_sent(claimed)
    session.commit()
    return True


def _reason(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{code} {message.decode(errors='replace')}"
            for code, message in error.recipients.values()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
    return f"{error.__class__.__name__}: {error}"


@background.periodic("reminders.digest", hour="7", minute="30")
def send_daily_digests() -> None:
    """Every day at 07:30 (the app's TIME_ZONE): the same run as `pilot remind`."""
    try:
        outcome = remind(today())
    except MailNotConfigured as missing:
        logger.warning("No e-mail digest sent: %s", missing)
        return
    logger.info("E-mail digests sent: %d", len(outcome.mails))
    for address, reason in outcome.failed:
        logger.error("The digest to %s failed: %s", address, reason)
