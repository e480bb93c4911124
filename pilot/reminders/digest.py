"""A user's digest, written from their tasks (`pilot.next_actions.tasks_for`): a subject, a plain
text part and an HTML part, in the user's language, with absolute links from BASE_URL."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from pilot.accounts.models import User
from pilot.next_actions import Task
from pilot.reminders.mail import Mail


@dataclass(frozen=True)
class Line:
    """One task as the digest shows it."""

    firm: str
    label: str
    when: str
    overdue: bool
    url: str


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[Line]
    #: The overdue tasks' heading (shown in red).
    late: bool = False


def language_of(user: User) -> str:
    """The user's language if the app knows it, else the default (Chinese)."""
    config = current_app.config
    return user.locale if user.locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


@contextmanager
def writing_for(user: User, base_url: str) -> Iterator[None]:
    """A request context on BASE_URL (so links are built as the site serves them) speaking the
    user's language: tasks made inside it carry labels in that language."""
    with current_app.test_request_context("/", base_url=base_url), force_locale(language_of(user)):
        yield


def _when(task: Task) -> str:
    if task.due is None:
        return _("No due date")
    if task.overdue:
        return _("Overdue: was due %(date)s", date=task.due.isoformat())
    return _("Due %(date)s", date=task.due.isoformat())


def sections(tasks: Sequence[Task], day: date, days_ahead: int) -> list[Section]:
    """The tasks (in `sort_key` order) under three headings: overdue; due soon, or without a
    due date; later. Empty headings are left out."""
    site = request.host_url.rstrip("/")
    horizon = day + timedelta(days=days_ahead)
    groups: dict[str, list[Line]] = {"overdue": [], "soon": [], "later": []}
    for task in tasks:
        line = Line(task.firm_name, task.label, _when(task), task.overdue, site + task.url)
        if task.overdue:
            groups["overdue"].append(line)
        elif task.due is None or task.due <= horizon:
            groups["soon"].append(line)
        else:
            groups["later"].append(line)
    titles = {
        "overdue": _("Overdue"),
        "soon": ngettext("Due within %(num)d day", "Due within %(num)d days", days_ahead),
        "later": _("Also waiting on you"),
    }
    return [
        Section(titles[key], lines, late=key == "overdue") for key, lines in groups.items() if lines
    ]


def subject(tasks: Sequence[Task]) -> str:
    overdue = sum(1 for t in tasks if t.overdue)
    if overdue:
        return ngettext(
            "Quality pilot: %(num)d task waits on you, %(overdue)d overdue",
            "Quality pilot: %(num)d tasks wait on you, %(overdue)d overdue",
            len(tasks),
            overdue=overdue,
        )
    return ngettext(
        "Quality pilot: %(num)d task waits on you",
        "Quality pilot: %(num)d tasks wait on you",
        len(tasks),
    )


def write_digest(user: User, tasks: Sequence[Task], day: date, days_ahead: int) -> Mail:
    """The digest of `tasks` for `user`, inside `writing_for(user, …)`."""
    context = {
        "user": user,
        "day": day,
        "sections": sections(tasks, day, days_ahead),
        "home_url": url_for("board.home", _external=True),
        "profile_url": url_for("accounts.profile", _external=True),
    }
    return Mail(
        to_name=user.display_name,
        to_address=user.email,
        subject=subject(tasks),
        text=render_template("reminders/digest.txt", **context),
        html=render_template("reminders/digest.html", **context),
    )
