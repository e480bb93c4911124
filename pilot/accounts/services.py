"""Creating and changing users. Services flush and log; the caller commits."""

from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot.accounts.models import Role, User
from pilot.audit.services import changed, log, snapshot
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
#: What the audit log keeps of a user (never the password hash).
LOGGED_FIELDS = [*PROFILE_FIELDS, "active"]


class UserError(ValueError):
    """A refused change, with a message for the user; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _check(session: Session, user: User) -> None:
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


def create_user(session: Session, actor: User | None, password: str, **fields) -> User:
    user = User(**{k: v for k, v in fields.items() if k in PROFILE_FIELDS}, password_hash="")
    user.role = Role(user.role).value
    user.set_password(password)
    _check(session, user)
    session.add(user)
    log(session, actor, user, "create", after=snapshot(user, LOGGED_FIELDS))
    return user


def update_user(session: Session, actor: User, user: User, **fields) -> User:
    before = snapshot(user, LOGGED_FIELDS)
    for key in PROFILE_FIELDS:
        if key in fields:
            setattr(user, key, fields[key])
    _check(session, user)
    b, a = changed(before, snapshot(user, LOGGED_FIELDS))
    if a:
        log(session, actor, user, "update", before=b, after=a)
    return user


def reset_password(session: Session, actor: User, user: User, password: str) -> None:
    user.set_password(password)
    log(session, actor, user, "reset_password")


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise UserError(_("You cannot deactivate your own account."))
    user.active = active
    log(session, actor, user, "activate" if active else "deactivate", after={"active": active})
