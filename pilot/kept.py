"""Pages kept per data version: rendered once, served again until the next write.

A GET page is kept under the data version (`pilot.data_version`), the user, its URL with the query
string, the language and the day (`kept_page`): the user's data and permissions are records, so
any change to what the page shows is a write, which replaces the version. The version is read
before the data the page shows, so what is kept under a version is never older than it. Each app
keeps at most `size` pages of a name, the oldest going first; with no version (no stamp's row)
nothing is kept.
"""

import functools
import secrets
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import Response, current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from pilot import data_version
from pilot.database import today
from pilot.extensions import db
from pilot.forms import new_submission_token

_KEEPING = threading.Lock()
T = TypeVar("T")


def kept(
    name: str, size: int, version: int | None, key: tuple[Hashable, ...], make: Callable[[], T]
) -> T:
    """What `make` makes, kept under the version and the key (nothing is kept when it raises)."""
    if version is None:
        return make()
    parts = current_app.extensions.setdefault(f"pilot_kept_{name}", {})
    full_key = (version, *key)
    part = parts.get(full_key)
    if part is None:
        part = make()
        with _KEEPING:
            while len(parts) >= size:
                parts.pop(next(iter(parts)))
            parts[full_key] = part
    return part


#: What a kept page holds in place of its tokens, filled in anew on every request: the forms'
#: CSRF token (signed with the time, and the session's own) and a create form's submission token
#: (pilot.forms.SubmissionTokenField: one per rendering of the page). Random per process, so no
#: text a user typed can name them.
CSRF_MARKER = f"kept-csrf-{secrets.token_hex(16)}"
SUBMISSION_MARKER = f"kept-submission-{secrets.token_hex(16)}"


class _NotKept(Exception):
    """The view answered something other than a page (a redirect, an error): served, not kept."""

    def __init__(self, response: Response) -> None:
        self.response = response


def kept_page(name: str, size: int):
    """A GET page (or an API answer) kept per data version, user, URL (with its query string),
    language and day.

    For pages whose every part follows from those: the user's own data and permissions are
    records (any change is a write), the header's unread count too. A page with a message to
    flash is rendered afresh, as is anything but a 200 page or JSON answer (a 404 is never
    kept)."""

    def decorate(view):
        @functools.wraps(view)
        def kept_view(**values):
            if session.get("_flashes"):
                return view(**values)
            # The version first, then the data: what is kept under it is never older than it.
            version = data_version.current(db.session)
            key = (current_user.get_id(), request.full_path, str(get_locale()), today())
            try:
                body, headers = kept(name, size, version, key, lambda: _with_markers(view, values))
            except _NotKept as not_kept:
                return not_kept.response
            if CSRF_MARKER in body:
                body = body.replace(CSRF_MARKER, generate_csrf())
            if SUBMISSION_MARKER in body:
                body = body.replace(SUBMISSION_MARKER, new_submission_token())
            return Response(body, headers=headers)

        return kept_view

    return decorate


#: What is kept: pages, and the API's answers.
KEPT_TYPES = {"text/html", "application/json"}


def _with_markers(view, values) -> tuple[str, list[tuple[str, str]]]:
    """The view's page and its headers (its type, an API answer's ETag), rendered with markers
    where its tokens go."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    setattr(g, field, CSRF_MARKER)
    g.pilot_submission_marker = SUBMISSION_MARKER
    try:
        response = current_app.make_response(view(**values))
    finally:
        g.pop(field, None)
        g.pop("pilot_submission_marker", None)
    if response.status_code != 200 or response.mimetype not in KEPT_TYPES:
        raise _NotKept(response)
    headers = [(k, v) for k, v in response.headers if k not in ("Content-Length", "Set-Cookie")]
    return response.get_data(as_text=True), headers
