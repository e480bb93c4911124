"""Forms of stage 6: actuals and their check, the service rating, the closing assessment, the
verdict, closing and reopening the case."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, StopValidation

from pilot.evaluation.services import VERDICT_LABELS
from pilot.forms import AppForm, choices, strip

#: What kpi_actual.actual holds: 16 digits, 4 of them after the point.
PLACES = 4
MAX_VALUE = Decimal("999999999999.9999")
#: Plain decimal notation only: no exponents, no digit groups, no "NaN" or "Infinity".
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
SCORES = (1, 2, 3, 4, 5)
TEXT_MAX = 5000


def parse_actual(text: str | None) -> Decimal:
    """The number typed as an actual; full-width digits (９８．５) read as ordinary ones.

    Raises StopValidation with a message for anything but a plain, finite number that fits.
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        raise StopValidation(_l("Enter the actual value."))
    if not NUMBER.fullmatch(text):
        raise StopValidation(_l("Enter a number, such as 98.5."))
    try:
        value = Decimal(text)
    except InvalidOperation:  # the pattern lets only plain numbers through; to be safe
        raise StopValidation(_l("Enter a number, such as 98.5.")) from None
    if value.normalize().as_tuple().exponent < -PLACES:  # 98.50000 is fine
        raise StopValidation(_l("Use at most %(num)d decimal places.", num=PLACES))
    if abs(value) > MAX_VALUE:
        raise StopValidation(_l("This number is too large."))
    return value


class ActualForm(AppForm):
    """An expert's actual for one work target, with the period it covers."""

    actual = StringField(
        _l("Actual value"),
        validators=[Length(max=40)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    period = StringField(_l("Period"), filters=[strip], validators=[Length(max=40)])
    note = TextAreaField(
        _l("Note (source of the figure)"), filters=[strip], validators=[Length(max=TEXT_MAX)]
    )
    evidence = FileField(_l("Evidence (optional)"))

    #: The parsed value, once validated.
    number: Decimal | None = None

    def validate_actual(self, field):
        self.number = parse_actual(field.data)


class CheckForm(AppForm):
    """Staff's check of an actual: the value they saw, so a change made meanwhile is not
    checked unseen."""

    seen = HiddenField()


class RatingField(RadioField):
    """A score 1–5 as radio buttons; anything else gets one clear message."""

    def __init__(self, label=None, **kwargs):
        super().__init__(
            label,
            choices=choices((str(n), str(n)) for n in SCORES),
            validate_choice=False,
            **kwargs,
        )
        self.value: int | None = None

    def process_formdata(self, valuelist):
        self.data = valuelist[0].strip() if valuelist else ""

    def pre_validate(self, form):
        self.value = None
        try:
            number = int(self.data)
        except (TypeError, ValueError):
            number = None
        if number not in SCORES:
            raise StopValidation(_l("Give a rating from 1 to 5."))
        self.value = number


class RatingForm(AppForm):
    professionalism = RatingField(_l("Professionalism"))
    timeliness = RatingField(_l("Timeliness"))
    usefulness = RatingField(_l("Usefulness"))
    comment = TextAreaField(_l("Comment"), filters=[strip], validators=[Length(max=TEXT_MAX)])
    #: Only staff, rating for the firm, give a reason; the service requires it of them.
    on_behalf_reason = StringField(
        _l("Reason for rating on the firm's behalf"),
        filters=[strip],
        validators=[Length(max=500)],
    )

    def scores(self) -> dict[str, int]:
        return {
            "professionalism": self.professionalism.value,
            "timeliness": self.timeliness.value,
            "usefulness": self.usefulness.value,
        }


class AssessmentForm(AppForm):
    assessment = TextAreaField(
        _l("Closing assessment"), filters=[strip], validators=[Length(max=20000)]
    )


class VerdictForm(AppForm):
    verdict = RadioField(
        _l("Verdict"),
        choices=choices((code, label) for code, label in VERDICT_LABELS.items()),
        validators=[InputRequired(message=_l("Choose a verdict."))],
    )
    comment = TextAreaField(_l("Comment"), filters=[strip], validators=[Length(max=TEXT_MAX)])


class CloseForm(AppForm):
    """Closing needs no input: the button and its CSRF token."""


class ReopenForm(AppForm):
    reason = StringField(
        _l("Reason for reopening"),
        filters=[strip],
        validators=[
            InputRequired(message=_l("Give a reason for reopening the case.")),
            Length(max=500),
        ],
    )
