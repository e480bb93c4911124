"""Forms of the rectification checklist: the firm's work on an item, evidence, submitting; the
expert's verification or return; staff's waiver; an item added by hand."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import (
    DateField,
    HiddenField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError

from pilot.diagnosis.models import Severity
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.forms import (
    AppForm,
    SubmissionTokenField,
    VersionField,
    choices,
    in_pilot_years,
    strip,
)

TEXT_MAX = 5000
NOTE_MAX = 2000
REASON_MAX = 2000
#: Files one upload may carry; the request size cap (MAX_CONTENT_LENGTH) applies as well.
MAX_FILES = 10


class WorkForm(AppForm):
    root_cause = TextAreaField(_l("Root cause"), filters=[strip], validators=[Length(max=TEXT_MAX)])
    measure = TextAreaField(
        _l("Corrective measure"), filters=[strip], validators=[Length(max=TEXT_MAX)]
    )
    owner_name = StringField(
        _l("Responsible person"), filters=[strip], validators=[Length(max=100)]
    )
    owner_dept = StringField(_l("Department"), filters=[strip], validators=[Length(max=100)])
    note = TextAreaField(
        _l("Progress note (added to the item's notes)"),
        filters=[strip],
        validators=[Length(max=NOTE_MAX)],
    )
    version = VersionField()


class EvidenceForm(AppForm):
    files = MultipleFileField(
        _l("Evidence files"),
        render_kw={
            "accept": ".pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx,.ppt,.pptx,"
            "application/pdf,image/jpeg,image/png"
        },
    )

    def chosen(self) -> list:
        """The files picked (an empty file input still sends one nameless part)."""
        return [f for f in self.files.data or [] if f and getattr(f, "filename", "")]

    def validate_files(self, field):
        picked = self.chosen()
        if not picked:
            raise ValidationError(_l("Choose at least one file."))
        if len(picked) > MAX_FILES:
            raise ValidationError(
                lazy_ngettext(
                    "At most %(num)d file can be uploaded at once.",
                    "At most %(num)d files can be uploaded at once.",
                    MAX_FILES,
                )
            )


class SubmitForm(AppForm):
    version = VersionField()


class VerifyForm(AppForm):
    #: "queue" when the button sits in the verification queue: go back there afterwards.
    back = HiddenField()


class ReturnForm(AppForm):
    reason = TextAreaField(
        _l("Why the evidence is not enough"),
        filters=[strip],
        validators=[Length(max=REASON_MAX)],
        render_kw={"required": True, "rows": 3},
    )
    back = HiddenField()


class WaiveForm(AppForm):
    reason = TextAreaField(
        _l("Reason for waiving the item"),
        filters=[strip],
        validators=[Length(max=REASON_MAX)],
        render_kw={"required": True, "rows": 3},
    )


class AddItemForm(AppForm):
    description = TextAreaField(
        _l("What must be fixed"),
        filters=[strip],
        validators=[Length(max=TEXT_MAX)],
        render_kw={"rows": 3},
    )
    severity = SelectField(
        _l("Severity"),
        choices=choices(
            (code, SEVERITY_LABELS[code]) for code in (Severity.SEVERE, Severity.GENERAL)
        ),
        default=Severity.GENERAL,
    )
    due_date = DateField(_l("Due date (optional)"), validators=[Optional(), in_pilot_years])
    token = SubmissionTokenField()
