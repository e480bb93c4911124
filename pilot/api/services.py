"""API tokens: issue one (its secret shown once), revoke one, and find the user a secret names.

A token's secret is 32 random bytes; only its SHA-256 is kept, so a copy of the database gives
no usable token. A revoked token, or one whose user is deactivated, names nobody from the next
request on: every request looks the token up again.
"""

import hashlib
import secrets

from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.api.models import ApiToken
from pilot.audit.services import log
from pilot.database import utcnow

#: Marks the secret as this app's token (secret scanners and people recognise it). B105: a label.
SECRET_PREFIX = "pcm_"  # nosec B105
#: How many of the secret's characters the token list shows.
SHOWN_PREFIX = len(SECRET_PREFIX) + 6
#: A user's live tokens at most: enough for a few scripts and platforms, never an unbounded list.
MAX_LIVE_TOKENS = 20


class TokenError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def live_tokens(session: Session, user: User) -> list[ApiToken]:
    return session.exec(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def issue_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the user, and its secret (to show once: it is not kept)."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("Name the token, so that you know later what uses it."), "name")
    if len(name) > 100:
        raise TokenError(_("The name is too long (100 characters at most)."), "name")
    if not user.active:
        raise TokenError(_("A deactivated user cannot have tokens."))
    if len(live_tokens(session, user)) >= MAX_LIVE_TOKENS:
        raise TokenError(
            _("You have %(num)d tokens already: revoke one first.", num=MAX_LIVE_TOKENS)
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, token_hash=hash_secret(secret), prefix=secret[:SHOWN_PREFIX]
    )
    session.add(token)
    log(session, user, token, "create", after={"name": name, "prefix": token.prefix})
    return token, secret


def revoke_token(session: Session, actor: User, token: ApiToken) -> None:
    """From now on the token names nobody. Only its owner revokes it."""
    if token.user_id != actor.id:
        raise TokenError(_("This is not one of your tokens."))
    if token.is_revoked:
        return
    token.revoked_at = utcnow()
    log(session, actor, token, "revoke", before={"name": token.name, "prefix": token.prefix})


def user_of_secret(session: Session, secret: str) -> User | None:
    """The active user a live token's secret names, else None."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    row = session.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_secret(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row[1].active:
        return None
    return row[1]
