"""The API's blueprint: bearer-token sign-in for every call, errors as JSON, shared helpers.

The API accepts only bearer tokens: a browser's cookie session is ignored, so a page of another
site cannot make a signed-in browser call the API, and the API needs no CSRF token.
"""

import re

from flask import Blueprint, g, request
from flask_babel import gettext as _
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from pilot.api import services
from pilot.api.errors import ApiError, error_response
from pilot.database import MAX_VERSION
from pilot.extensions import csrf, db
from pilot.forms import NUL

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

#: Endpoints open without a token: the document and its page (they hold no data).
PUBLIC = {"api.openapi", "api.docs"}


@bp.before_request
def authenticate() -> None:
    if request.endpoint in PUBLIC:
        return
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    user = None
    if scheme.lower() == "bearer" and secret.strip():
        user = services.user_of_secret(db.session, secret.strip())
    if user is None:
        raise ApiError(401)
    # Flask-Login's current user for this request: the permission module reads it as on pages.
    g._login_user = user


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


@bp.before_request
def refuse_nul() -> None:
    """A NUL character cannot be stored (PostgreSQL) nor compared with a column: refused in the
    query string, the form fields and the JSON body alike."""
    body = request.get_json(silent=True) if request.is_json else None
    if _holds_nul([*request.args.values(), *request.form.values(), body]):
        raise ApiError(422, _("Remove the invisible control character from this text."))


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    db.session.rollback()
    return error_response(error)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    db.session.rollback()
    message = error.description if error.code == 429 else None
    return error_response(ApiError(error.code or 500, message))


def paginate(rows: list, page: int, per_page: int) -> tuple[list, int]:
    start = (page - 1) * per_page
    return rows[start : start + per_page], len(rows)


_ETAG = re.compile(r'^(?:W/)?"?([0-9]{1,10})"?$')


def expected_version(body_version: int | None, *, required: bool) -> int | None:
    """The version the caller read: the body's `version` or the If-Match header (an ETag of
    the item, "3", or the plain number). Both given must agree."""
    header = request.headers.get("If-Match")
    from_header = None
    if header is not None:
        match = _ETAG.match(header.strip())
        if match is None or int(match.group(1)) >= MAX_VERSION:
            raise ApiError(422, fields={"If-Match": [_('Give the version you read, as "3".')]})
        from_header = int(match.group(1))
    if body_version is not None and from_header is not None and body_version != from_header:
        raise ApiError(
            422, fields={"version": [_("The version and If-Match name different versions.")]}
        )
    version = body_version if body_version is not None else from_header
    if version is not None and version >= MAX_VERSION:
        raise ApiError(422, fields={"version": [_("This is not a version of the record.")]})
    if version is None and required:
        raise ApiError(
            422,
            fields={"version": [_("Give the version you read (the version field or If-Match).")]},
        )
    return version


def body(model):
    """The request's validated JSON body (spectree validated it before the view). A body sent
    as a form is not read: only what needs no field passes."""
    if request.context.json is not None:
        return request.context.json
    try:
        return model()
    except ValidationError:
        raise ApiError(
            422, fields={"body": [_("Send a JSON body (Content-Type: application/json).")]}
        ) from None
