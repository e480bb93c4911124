"""Forms of the training feature: a session, its attendance sheet, a coaching record."""

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import (
    DateField,
    DecimalField,
    Field,
    MultipleFileField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, StopValidation, ValidationError

from pilot.forms import (
    AppForm,
    FiniteDecimal,
    MultiCheckboxField,
    choices,
    in_pilot_years,
    parsed,
    strip,
)
from pilot.survey.services import WEAK_AREAS

#: Files one save may add to a session; the request size cap (MAX_CONTENT_LENGTH) applies too.
MAX_MATERIALS = 20
#: The service's bounds on a firm's number of attendees.
MAX_ATTENDEES = 500
HOURS_RENDER = {"step": "0.1", "min": "0.1", "max": "24", "inputmode": "decimal"}
_DIGITS = re.compile(r"[0-9]+")


def _hours_field(label) -> DecimalField:
    return DecimalField(
        label,
        places=1,
        validators=[
            InputRequired(),
            parsed,
            FiniteDecimal(1),
            NumberRange(
                min=Decimal("0.1"),
                max=Decimal(24),
                message=_l("Hours must be more than 0 and at most 24."),
            ),
        ],
        render_kw=HOURS_RENDER,
    )


def web_link(form, field):
    """An online link must be an http(s) address: it is shown as a link to every invited firm."""
    value = field.data or ""
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in value:
        raise ValidationError(_l("Give a web address starting with http:// or https://."))


class SessionForm(AppForm):
    topic = StringField(_l("Topic"), filters=[strip], validators=[InputRequired(), Length(max=200)])
    day = DateField(_l("Date"), validators=[InputRequired(), in_pilot_years])
    start_time = TimeField(
        _l("Starts at (Beijing time)"),
        format=["%H:%M", "%H:%M:%S"],
        validators=[InputRequired()],
        invalid_value_message=_l("Give a time such as 09:30."),
    )
    hours = _hours_field(_l("Hours"))
    place = StringField(_l("Place"), filters=[strip], validators=[Length(max=200)])
    online_link = StringField(
        _l("Online link"),
        filters=[strip],
        validators=[Length(max=500), web_link],
        render_kw={"inputmode": "url", "placeholder": "https://"},
    )
    trainer = StringField(
        _l("Trainer"), filters=[strip], validators=[InputRequired(), Length(max=100)]
    )
    areas = MultiCheckboxField(
        _l("Areas addressed"), choices=choices((code, label) for code, label in WEAK_AREAS.items())
    )
    description = TextAreaField(
        _l("Description"), filters=[strip], validators=[Length(max=5000)], render_kw={"rows": 4}
    )
    case_ids = MultiCheckboxField(_l("Invited firms"), coerce=int)
    finding_ids = SelectMultipleField(
        _l("Findings it addresses"), coerce=int, render_kw={"size": 8}
    )
    materials = MultipleFileField(_l("Add materials"))

    def validate_place(self, field):
        if not (field.data or self.online_link.data):
            raise ValidationError(_l("Give a place or an online link."))

    def chosen_materials(self) -> list:
        """The files picked (an empty file input still sends one nameless part)."""
        return [f for f in self.materials.data or [] if f and getattr(f, "filename", "")]

    def validate_materials(self, field):
        if len(self.chosen_materials()) > MAX_MATERIALS:
            raise ValidationError(
                lazy_ngettext(
                    "At most %(num)d file can be added at once.",
                    "At most %(num)d files can be added at once.",
                    MAX_MATERIALS,
                )
            )


def parse_count(text: str | None) -> int:
    """A number of attendees as typed (full-width digits too); empty means 0 (absent)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return 0
    # The length check first: int() of thousands of digits is slow, and refused past 4300.
    if not _DIGITS.fullmatch(text) or len(text) > 4 or int(text) > MAX_ATTENDEES:
        raise StopValidation(
            _l("Give a number of attendees between 0 and %(max)d.", max=MAX_ATTENDEES)
        )
    return int(text)


class AttendanceFormBase(AppForm):
    case_ids: list[int] = []

    def rows(self) -> Iterable[tuple[int, Field, Field]]:
        for case_id in self.case_ids:
            yield case_id, self[f"names_{case_id}"], self[f"count_{case_id}"]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for _case_id, names, count in self.rows():
            if names.errors or count.errors:
                continue
            number = parse_count(count.data)
            if number and not names.data:
                names.errors.append(_l("Name who attended."))
                valid = False
            elif not number and names.data:
                count.errors.append(_l("Give how many attended, or clear the names."))
                valid = False
        return valid

    def counts(self) -> dict[int, tuple[str, int]]:
        """case id -> (names, count), once validated."""
        return {
            cid: (names.data or "", parse_count(count.data)) for cid, names, count in self.rows()
        }


def _count(form, field):
    parse_count(field.data)


def attendance_form(rows: dict[int, tuple[str, int]], formdata=None) -> AttendanceFormBase:
    """One names and one count field per firm, filled with what is recorded (or what was posted).

    `rows` maps the case id to the names and count recorded so far.
    """
    fields: dict[str, Field] = {}
    for case_id, (names, count) in rows.items():
        fields[f"names_{case_id}"] = StringField(
            _l("Who attended"),
            filters=[strip],
            validators=[Length(max=2000)],
            default=names,
            render_kw={"placeholder": _l("Names, separated by commas")},
        )
        fields[f"count_{case_id}"] = StringField(
            _l("Number attending"),
            validators=[Length(max=10), _count],
            default=str(count),
            render_kw={"inputmode": "numeric", "size": 4},
        )
    form_class = type("AttendanceForm", (AttendanceFormBase,), fields)
    form = form_class(formdata=formdata)
    form.case_ids = list(rows)
    return form


class CoachingForm(AppForm):
    coached_on = DateField(_l("Date"), validators=[InputRequired(), in_pilot_years])
    hours = _hours_field(_l("Hours"))
    topic = StringField(_l("Topic"), filters=[strip], validators=[InputRequired(), Length(max=200)])
    notes = TextAreaField(
        _l("Notes"), filters=[strip], validators=[Length(max=5000)], render_kw={"rows": 3}
    )

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_coached_on(self, field):
        if self.today and field.data and field.data > self.today:
            raise ValidationError(_l("Coaching cannot be recorded ahead of time."))
