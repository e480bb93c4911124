"""Forms of the training feature: a session (bound to its batch's firms and findings), its
attendance sheet, a coaching record."""

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from urllib.parse import urlsplit

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlmodel import or_, select
from wtforms import (
    DateField,
    DecimalField,
    Field,
    MultipleFileField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, StopValidation, ValidationError

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import local_zone
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.forms import (
    AppForm,
    FiniteDecimal,
    MultiCheckboxField,
    VersionField,
    choices,
    in_pilot_years,
    parsed,
    strip,
)
from pilot.frameworks.models import FrameworkItem
from pilot.survey.services import WEAK_AREAS
from pilot.training.labels import finding_label
from pilot.training.models import SessionInvite, TrainingSession
from pilot.training.queries import SheetRow, batch_cases, linked_finding_ids
from pilot.training.times import local

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


class EditSessionForm(SessionForm):
    """Changing a session: the version the page showed, so a stale save is refused."""

    version = VersionField()


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


def sheet_form(rows: list[SheetRow], formdata=None):
    return attendance_form(
        {
            r.case.id: (r.attendance.names, r.attendance.count) if r.attendance else ("", 0)
            for r in rows
            if r.editable
        },
        formdata=formdata,
    )


def _finding_choices(batch: Batch, linked: set[int]) -> list[SelectChoice]:
    """Findings of the batch's accepted diagnoses (and any already linked), grouped by firm."""
    rows = db.session.exec(
        select(Finding, FrameworkItem, Firm)
        .join(Diagnosis, Finding.diagnosis_id == Diagnosis.id)
        .join(Case, Diagnosis.case_id == Case.id)
        .join(Firm, Case.firm_id == Firm.id)
        .join(FrameworkItem, Finding.item_id == FrameworkItem.id)
        .where(Case.batch_id == batch.id)
        .where(
            or_(
                Diagnosis.status == DiagnosisStatus.ACCEPTED,
                Finding.id.in_(linked or [-1]),
            )
        )
        .order_by(
            Firm.name, Diagnosis.id, FrameworkItem.framework_id, FrameworkItem.position, Finding.id
        )
    ).all()
    return [
        SelectChoice(finding.id, finding_label(finding, item), optgroup=firm.name)
        for finding, item, firm in rows
    ]


def _initial(training: TrainingSession | None, cases: list[tuple[Case, Firm]]) -> dict:
    if training is None:
        return {
            "hours": Decimal(3),
            "start_time": time(9, 0),
            # Every firm still in the pilot is invited unless staff untick it.
            "case_ids": [case.id for case, _firm in cases if not case.is_read_only],
        }
    starts = local(training.starts_at)
    invited = db.session.exec(
        select(SessionInvite.case_id).where(SessionInvite.session_id == training.id)
    ).all()
    return {
        "topic": training.topic,
        "day": starts.date(),
        "start_time": starts.time().replace(tzinfo=None),
        "hours": training.hours,
        "place": training.place,
        "online_link": training.online_link,
        "trainer": training.trainer,
        "areas": list(training.areas),
        "description": training.description,
        "case_ids": list(invited),
        "finding_ids": linked_finding_ids(training),
        "version": training.version,
    }


def session_form(batch: Batch, training: TrainingSession | None) -> SessionForm:
    """The form with the batch's firms and findings to choose from. On GET it shows the saved
    session (or a new one's defaults); on POST what was sent."""
    cases = batch_cases(batch)
    linked = set(linked_finding_ids(training))
    form_class = SessionForm if training is None else EditSessionForm
    form = form_class(data=_initial(training, cases) if request.method == "GET" else None)
    form.case_ids.choices = choices(
        (case.id, firm.name + (" " + _("(withdrawn)") if case.is_withdrawn else ""))
        for case, firm in cases
    )
    form.finding_ids.choices = _finding_choices(batch, linked)
    return form


def session_fields(form: SessionForm) -> dict:
    """The session's own fields from a validated form, as services.save_session takes them."""
    return {
        "topic": form.topic.data,
        "starts_at": datetime.combine(form.day.data, form.start_time.data, tzinfo=local_zone()),
        "hours": form.hours.data,
        "place": form.place.data or "",
        "online_link": form.online_link.data or "",
        "trainer": form.trainer.data,
        "areas": list(form.areas.data or []),
        "description": form.description.data or "",
    }
