"""Creating and changing users. Services flush and log; the caller commits."""

import hmac
import secrets
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from pilot.accounts.models import DigestFrequency, Role, User
from pilot.audit.services import changed, log, snapshot
from pilot.database import bump_version
from pilot.firms.models import Firm

PROFILE_FIELDS = [
    "username",
    "display_name",
    "role",
    "firm_id",
    "email",
    "phone",
    "organisation",
    "specialties",
    "qualifications",
]
#: What users set for themselves on their profile page.
PREFERENCE_FIELDS = ["digest", "locale"]
#: What the audit log keeps of a user (never the password hash).
LOGGED_FIELDS = [*PROFILE_FIELDS, *PREFERENCE_FIELDS, "active"]


class UserError(ValueError):
    """A refused change, with a message for the user; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _check(session: Session, user: User) -> None:
    if user.digest not in list(DigestFrequency):
        raise UserError(_("Choose daily, weekly or never."), "digest")
    if user.locale and user.locale not in current_app.config["LANGUAGES"]:
        raise UserError(_("Choose a language the application speaks."), "locale")
    taken = session.exec(
        select(User).where(User.username == user.username, User.id != user.id)
    ).first()
    if taken:
        raise UserError(_("This username is taken."), "username")
    if user.role == Role.FIRM:
        if not user.firm_id or session.get(Firm, user.firm_id) is None:
            raise UserError(_("A firm user must belong to a firm."), "firm_id")
    else:
        user.firm_id = None


#: Shortest password accepted, and the least zxcvbn score (0–4: 3 is "safely unguessable").
MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3


def check_password_policy(password: str, *context: str) -> None:
    """Refuse short, common and guessable passwords (zxcvbn's dictionaries of common passwords,
    names, keyboard patterns, repeats and sequences), and ones built from the user's own names."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            _("A password needs at least %(num)d characters.", num=MIN_PASSWORD_LENGTH),
            "password",
        )
    if zxcvbn(password[:100], user_inputs=[c for c in context if c])["score"] < MIN_PASSWORD_SCORE:
        raise UserError(
            _(
                "This password is too easy to guess (a common password, a pattern or your name). "
                "A few unrelated words make a strong one."
            ),
            "password",
        )


@cache
def _decoy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None, in the same time whether or
    not the user exists (a missing user still costs one password check)."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        check_password_hash(_decoy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    if not user.session_token:
        end_sessions(user)  # a user from before session tokens: give them one
    return user


def end_sessions(user: User) -> None:
    """End every session and remember cookie of this user: their id no longer matches."""
    user.session_token = secrets.token_urlsafe(24)


def user_of_session(session: Session, session_id: str) -> User | None:
    """The user a session or remember cookie names, if that session has not been ended."""
    user_id, _dot, token = session_id.partition(".")
    if not user_id.isdigit() or not token:
        return None
    user = session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user


def create_user(session: Session, actor: User | None, password: str, **fields) -> User:
    user = User(**{k: v for k, v in fields.items() if k in PROFILE_FIELDS + PREFERENCE_FIELDS})
    user.role = Role(user.role).value
    check_password_policy(password, user.username, user.display_name)
    user.set_password(password)
    end_sessions(user)
    _check(session, user)
    session.add(user)
    log(session, actor, user, "create", after=snapshot(user, LOGGED_FIELDS))
    return user


def update_user(
    session: Session, actor: User, user: User, *, version: int | None = None, **fields
) -> User:
    """Change a user's profile; EditConflict when `version` (the one the form showed) is not
    the user's. Signing in, a password reset and deactivation leave the version alone: they do
    not change what the profile form saves."""
    bump_version(session, user, version)
    before = snapshot(user, LOGGED_FIELDS)
    for key in PROFILE_FIELDS:
        if key in fields:
            setattr(user, key, fields[key])
    _check(session, user)
    b, a = changed(before, snapshot(user, LOGGED_FIELDS))
    if a:
        log(session, actor, user, "update", before=b, after=a)
    return user


def update_preferences(
    session: Session, user: User, *, version: int | None = None, **fields
) -> User:
    """Change what a user chooses for themselves (`PREFERENCE_FIELDS`): their own profile page.
    EditConflict when `version` is not the user's."""
    bump_version(session, user, version)
    before = snapshot(user, LOGGED_FIELDS)
    for key in PREFERENCE_FIELDS:
        if key in fields:
            setattr(user, key, fields[key])
    _check(session, user)
    b, a = changed(before, snapshot(user, LOGGED_FIELDS))
    if a:
        log(session, user, user, "update", before=b, after=a)
    return user


def reset_password(session: Session, actor: User, user: User, password: str) -> None:
    check_password_policy(password, user.username, user.display_name)
    user.set_password(password)
    end_sessions(user)
    log(session, actor, user, "reset_password")


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise UserError(_("You cannot deactivate your own account."))
    user.active = active
    if not active:
        end_sessions(user)
    log(session, actor, user, "activate" if active else "deactivate", after={"active": active})
