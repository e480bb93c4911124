"""Forms for signing in and managing users."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
)

from pilot.accounts.models import DigestFrequency, Role
from pilot.forms import AppForm, VersionField, choices

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.STAFF: _l("Bureau staff"),
    Role.EXPERT: _l("Expert"),
    Role.FIRM: _l("Firm user"),
}


DIGEST_LABELS = {
    DigestFrequency.DAILY: _l("Daily"),
    DigestFrequency.WEEKLY: _l("Weekly, on Mondays"),
    DigestFrequency.NONE: _l("Never"),
}
DIGEST_HELP = _l(
    "An e-mail listing what waits on you, sent in the morning when something is overdue or due "
    "within a week."
)


class LoginForm(AppForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))


class UserForm(AppForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, '.', '_' and '-' only.")),
        ],
    )
    display_name = StringField(
        lazy_pgettext("person", "Name"), validators=[DataRequired(), Length(max=100)]
    )
    role = SelectField(
        _l("Role"), choices=choices((r.value, label) for r, label in ROLE_LABELS.items())
    )
    firm_id = SelectField(_l("Firm (for firm users)"), coerce=int, validate_choice=False)
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    organisation = StringField(_l("Organisation (experts)"), validators=[Length(max=200)])
    specialties = StringField(_l("Specialties (experts)"), validators=[Length(max=500)])
    qualifications = StringField(_l("Qualifications (experts)"), validators=[Length(max=500)])
    #: The version the page showed, so a stale save is refused.
    version = VersionField()


class NewUserForm(UserForm):
    version = None  # a new user has no version yet
    # No role until one is chosen: an account made in haste must not become an administrator.
    role = SelectField(
        _l("Role"),
        choices=choices(
            [("", _l("— Choose a role —")), *((r.value, label) for r, label in ROLE_LABELS.items())]
        ),
        validators=[InputRequired(message=_l("Choose the account's role."))],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[EqualTo("password", message=_l("The passwords do not match."))],
    )


class ProfileForm(AppForm):
    """What users choose for themselves: the digest and its language."""

    digest = RadioField(
        _l("E-mail digest"),
        choices=choices((f.value, label) for f, label in DIGEST_LABELS.items()),
        default=DigestFrequency.DAILY.value,
        description=DIGEST_HELP,
    )
    locale = SelectField(
        _l("Language of e-mails"),
        choices=choices([("zh_CN", "中文"), ("en", "English")]),
        default="zh_CN",
    )
    version = VersionField()


class PasswordForm(AppForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[EqualTo("password", message=_l("The passwords do not match."))],
    )


class ConfirmForm(AppForm):
    """An action button that carries only the CSRF token."""
