"""Forms for batches and for opening cases in a batch."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    StringField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    ValidationError,
)

from pilot.forms import (
    FIRST_YEAR,
    LAST_YEAR,
    AppForm,
    FiniteDecimal,
    MultiCheckboxField,
    VersionField,
    in_pilot_years,
    parsed,
    strip,
)
from pilot.stages import STAGES


def _weeks_field(stage) -> IntegerField:
    return IntegerField(
        _l("%(stage)s: due in week", stage=stage.label),
        validators=[
            InputRequired(),
            parsed,
            NumberRange(min=1, max=104, message=_l("Give a week between 1 and 104.")),
        ],
    )


class BatchForm(AppForm):
    framework_ids = MultiCheckboxField(_l("Assessment frameworks"), coerce=int)
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=100)], filters=[strip])
    year = IntegerField(
        _l("Year"),
        validators=[
            InputRequired(),
            parsed,
            NumberRange(
                min=FIRST_YEAR,
                max=LAST_YEAR,
                message=_l(
                    "Give a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR
                ),
            ),
        ],
    )
    start_date = DateField(_l("Start date"), validators=[InputRequired(), in_pilot_years])
    end_date = DateField(_l("End date"), validators=[InputRequired(), in_pilot_years])
    survey_due_weeks = _weeks_field(STAGES[0])
    diagnosis_due_weeks = _weeks_field(STAGES[1])
    rectification_due_weeks = _weeks_field(STAGES[2])
    training_due_weeks = _weeks_field(STAGES[3])
    plan_due_weeks = _weeks_field(STAGES[4])
    evaluation_due_weeks = _weeks_field(STAGES[5])
    required_training_sessions = IntegerField(
        _l("Training sessions each firm must attend"),
        validators=[
            InputRequired(),
            parsed,
            NumberRange(min=0, max=100, message=_l("Give a number between 0 and 100.")),
        ],
    )
    severe_due_days = IntegerField(
        _l("Days to rectify a severe finding"),
        validators=[
            InputRequired(),
            parsed,
            NumberRange(min=1, max=730, message=_l("Give a number of days between 1 and 730.")),
        ],
    )
    general_due_days = IntegerField(
        _l("Days to rectify a general finding"),
        validators=[
            InputRequired(),
            parsed,
            NumberRange(min=1, max=730, message=_l("Give a number of days between 1 and 730.")),
        ],
    )
    evidence_required = BooleanField(_l("Evidence is required to submit an item"))
    service_provider = StringField(
        _l("Service provider"), validators=[Length(max=200)], filters=[strip]
    )
    contract_ref = StringField(
        _l("Contract reference"), validators=[Length(max=100)], filters=[strip]
    )
    expert_hours_bought = DecimalField(
        _l("Expert hours bought"),
        places=1,
        validators=[
            InputRequired(),
            parsed,
            FiniteDecimal(places=1),
            NumberRange(
                min=0, max=Decimal("9999999.9"), message=_l("Give a number of hours from 0.")
            ),
        ],
    )

    def validate_end_date(self, field):
        start = self.start_date.data
        if start and field.data and field.data <= start:
            raise ValidationError(_l("The end date must come after the start date."))


class EditBatchForm(BatchForm):
    """Changing a batch: the version the page showed, so a stale save is refused."""

    version = VersionField()


class OpenCasesForm(AppForm):
    firm_ids = MultiCheckboxField(_l("Firms to add to this batch"), coerce=int)

    def validate_firm_ids(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one firm."))
