"""Small helpers shared by the feature forms."""

import secrets
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from flask import flash, g, has_app_context
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import (
    Form,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from pilot.database import MAX_VERSION

#: A character no text column can hold on PostgreSQL (and no keyboard types).
NUL = "\x00"


def refuse_nul(form) -> bool:
    """Mark each text field of the form holding a NUL character; False if there was one."""
    clean = True
    for field in form:
        if isinstance(field, StringField) and isinstance(field.data, str) and NUL in field.data:
            field.errors = [
                *field.errors,
                _l("Remove the invisible control character from this text."),
            ]
            clean = False
    return clean


class AppForm(FlaskForm):
    """Every form of the app. A text field the request leaves out is empty text, as a browser
    sends it, so a hand-made request missing an optional field saves "" rather than reaching the
    database as NULL; a text holding a NUL character is refused on its field."""

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data, extra_filters, **kwargs)
        for field in self:
            if isinstance(field, StringField) and field.data is None:
                field.data = ""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return refuse_nul(self) and valid


class RowForm(Form):
    """A form repeated inside another (a FieldList of FormFields): one contact, one baseline.

    WTForms builds such a form with its own settings, not its parent's, so without this its
    built-in messages ("Field cannot be longer than 40 characters.") stay in English. It reads
    WTForms' shipped catalogue in the request's language, as every FlaskForm does.
    """

    class Meta:
        def get_translations(self, form):
            return wtforms_translations

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return refuse_nul(self) and valid


def choices(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


FIRST_YEAR, LAST_YEAR = 2000, 2100


def strip(value):
    return value.strip() if isinstance(value, str) else value


class FiniteDecimal:
    """A decimal that is a real number (not NaN or Infinity) with at most `places` decimals."""

    def __init__(self, places: int):
        self.places = places

    def __call__(self, form, field):
        value: Decimal | None = field.data
        if value is None:
            return
        # Stop here: later validators would fail on NaN rather than refuse it.
        if not value.is_finite():
            raise StopValidation(_l("Enter a number."))
        if value.as_tuple().exponent < -self.places:
            raise StopValidation(
                lazy_ngettext(
                    "Use at most %(num)d decimal place.",
                    "Use at most %(num)d decimal places.",
                    self.places,
                )
            )


def parsed(form, field):
    """Stop when the input was not a number: its own message says so, a range would repeat it."""
    if field.process_errors:
        raise StopValidation()


def in_pilot_years(form, field):
    value: date | None = field.data
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            _l("Give a date between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        )


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes for choosing several options."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionField(IntegerField):
    """The version of the record the form page was rendered from: the service refuses a save
    made on an older one (pilot.database.bump_version). Required, so a request that leaves it
    out cannot skip the comparison."""

    widget = HiddenInput()

    def __init__(self, label=None, validators=None, **kwargs):
        validators = validators or [
            InputRequired(message=_l("The page was out of date: try again.")),
            NumberRange(min=0, max=MAX_VERSION, message=_l("The page was out of date: try again.")),
        ]
        super().__init__(label, validators, **kwargs)

    def set(self, version: int) -> None:
        """Show this version on the next render (the submitted value would win otherwise)."""
        self.data = version
        self.raw_data = [str(version)]


def keep_input(field: VersionField, conflict) -> None:
    """After a stale save was refused (pilot.database.EditConflict) and rolled back: the form
    keeps what the user typed, carries the version saved meanwhile so that the next save goes
    through, and the message says what happened."""
    field.set(getattr(conflict.current, field.name))
    flash(str(conflict), "error")


#: Length of a submission token (secrets.token_urlsafe(24) gives 32 characters).
TOKEN_MAX = 64


def new_submission_token() -> str:
    # A kept page (pilot.kept) renders a marker here, and a new token replaces it per request.
    marker = g.get("pilot_submission_marker") if has_app_context() else None
    return marker or secrets.token_urlsafe(24)


class SubmissionTokenField(HiddenField):
    """A token made when a create form's page is rendered, the same for every send of that
    page: the service makes one record per token (pilot.submissions), so a double click or a
    resent form makes no second record. A request without one is served as before."""

    def __init__(self, label=None, validators=None, **kwargs):
        validators = validators or [Optional(), Length(max=TOKEN_MAX)]
        super().__init__(label, validators, default=new_submission_token, **kwargs)
