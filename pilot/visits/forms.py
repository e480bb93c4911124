"""Forms for logging an on-site visit and for the firm's (or staff's) answer to it."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import DateField, DecimalField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from pilot.batches.forms import FiniteDecimal, MultiCheckboxField, in_pilot_years, parsed, strip
from pilot.forms import AppForm, SubmissionTokenField

#: Photos one visit may carry; the request size cap (MAX_CONTENT_LENGTH) applies as well.
MAX_PHOTOS = 20


class VisitForm(AppForm):
    visit_date = DateField(_l("Date of the visit"), validators=[InputRequired(), in_pilot_years])
    hours = DecimalField(
        _l("Hours on site"),
        places=1,
        validators=[InputRequired(), parsed, FiniteDecimal(1)],
        render_kw={"step": "0.1", "min": "0.1", "max": "24", "inputmode": "decimal"},
    )
    expert_ids = MultiCheckboxField(_l("Other experts present"), coerce=int)
    firm_participants = TextAreaField(
        _l("Firm participants"), filters=[strip], validators=[Length(max=2000)]
    )
    activities = TextAreaField(_l("What was done"), filters=[strip], validators=[Length(max=10000)])
    photos = MultipleFileField(
        _l("Photos (JPEG or PNG, optional)"), render_kw={"accept": "image/jpeg,image/png"}
    )
    token = SubmissionTokenField()

    def __init__(self, *args, batch_start: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch_start = batch_start

    def validate_visit_date(self, field):
        if self.batch_start and field.data and field.data < self.batch_start:
            raise ValidationError(
                _l(
                    "The visit cannot be before the batch started (%(date)s).",
                    date=self.batch_start.isoformat(),
                )
            )

    def chosen_photos(self) -> list:
        """The files picked (an empty file input still sends one nameless part)."""
        return [f for f in self.photos.data or [] if f and getattr(f, "filename", "")]

    def validate_photos(self, field):
        if len(self.chosen_photos()) > MAX_PHOTOS:
            raise ValidationError(
                lazy_ngettext(
                    "At most %(num)d photo can be added to a visit.",
                    "At most %(num)d photos can be added to a visit.",
                    MAX_PHOTOS,
                )
            )


class ConfirmVisitForm(AppForm):
    #: Only staff confirming for the firm give a reason; the service requires it of them.
    reason = StringField(
        _l("Reason for confirming on the firm's behalf"),
        filters=[strip],
        validators=[Length(max=500)],
    )


class DisputeVisitForm(AppForm):
    comment = TextAreaField(
        _l("What is wrong with the record"), filters=[strip], validators=[Length(max=2000)]
    )
