"""Forms on the case page."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length

from pilot.forms import AppForm
from pilot.stages import STAGES


class ReasonForm(AppForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


def _due_field(stage):
    return DateField(stage.label, validators=[DataRequired()])


DueDatesForm = type(
    "DueDatesForm",
    (AppForm,),
    {f"{stage.code}_due": _due_field(stage) for stage in STAGES},
)


class ExpertsForm(AppForm):
    experts = SelectMultipleField(_l("Assigned experts"), coerce=int)
    lead = SelectField(_l("Lead expert"), coerce=int)
