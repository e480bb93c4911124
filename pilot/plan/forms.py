"""Forms of the follow-up service plan: its text, actions, target revisions and staff's review."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError

from pilot.diagnosis.labels import short
from pilot.diagnosis.models import Finding, WorkTarget
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.forms import (
    AppForm,
    FiniteDecimal,
    VersionField,
    choices,
    in_pilot_years,
    parsed,
    strip,
)
from pilot.numbers import plain_text
from pilot.plan.models import FollowUpPlan

TEXT_MAX = 5000
#: plan_action.owner holds 100 characters.
OWNER_MAX = 100
#: target_revision.new_target holds 16 digits, 4 of them after the point.
PLACES = 4
NUMBER_LIMIT = 10**12


class PlanTextForm(AppForm):
    summary = TextAreaField(
        _l("Summary of the follow-up service"),
        validators=[Length(max=TEXT_MAX)],
        filters=[strip],
    )
    further_service = TextAreaField(
        _l("Further visits and coaching after the pilot"),
        validators=[Length(max=TEXT_MAX)],
        filters=[strip],
    )
    #: The drafted version's edit version the page showed, so a stale save is refused.
    edit_version = VersionField()


class PlanActionForm(AppForm):
    what = TextAreaField(
        _l("What will be done"),
        validators=[InputRequired(message=_l("Say what will be done.")), Length(max=TEXT_MAX)],
        filters=[strip],
    )
    owner = StringField(
        _l("Owner at the firm"),
        validators=[
            InputRequired(message=_l("Name who at the firm owns the action.")),
            Length(max=OWNER_MAX),
        ],
        filters=[strip],
    )
    start_date = DateField(
        _l("Start"),
        validators=[InputRequired(message=_l("Give the date the action starts.")), in_pilot_years],
    )
    due_date = DateField(
        _l("Due"),
        validators=[InputRequired(message=_l("Give the date the action is due.")), in_pilot_years],
    )
    #: 0 for an action that answers no carried finding; the choices are the case's carried ones.
    finding_id = SelectField(_l("Answers the carried finding"), coerce=int, default=0)

    def validate_due_date(self, field):
        start = self.start_date.data
        if start is not None and field.data is not None and field.data < start:
            raise ValidationError(_l("The action cannot end before it starts."))


class RevisionForm(AppForm):
    target_id = SelectField(_l("Work target"), coerce=int, default=0)
    new_target = DecimalField(
        _l("Proposed target"),
        validators=[
            InputRequired(message=_l("Give the proposed target value.")),
            parsed,
            FiniteDecimal(places=PLACES),
        ],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    new_date = DateField(
        _l("Proposed date"),
        validators=[InputRequired(message=_l("Give the date the target is due.")), in_pilot_years],
    )
    reason = TextAreaField(
        _l("Why the target should change"),
        validators=[
            InputRequired(message=_l("Say why the target should change.")),
            Length(max=TEXT_MAX),
        ],
        filters=[strip],
    )

    def validate_target_id(self, field):
        if not field.data:
            raise StopValidation(_l("Choose one of the case's work targets."))

    def validate_new_target(self, field):
        if field.data is not None and abs(field.data) >= NUMBER_LIMIT:
            raise StopValidation(_l("The number is too large."))


class ReturnForm(AppForm):
    comment = TextAreaField(
        _l("What needs to change"),
        validators=[InputRequired(message=_l("Say what needs to change.")), Length(max=TEXT_MAX)],
        filters=[strip],
    )
    #: The version and submission staff looked at (see views.seen_token).
    seen = HiddenField()


class ReviewForm(AppForm):
    """Approving (认定): only the CSRF token and what staff looked at."""

    seen = HiddenField()


class ButtonForm(AppForm):
    """An action button that carries only the CSRF token (submit, remove, new version)."""


def action_form(carried: list[Finding], **kwargs) -> PlanActionForm:
    form = PlanActionForm(prefix="action", **kwargs)
    form.finding_id.choices = choices(
        [(0, _("— none: an action of its own —"))]
        + [
            (f.id, f"[{SEVERITY_LABELS.get(f.severity, f.severity)}] {short(f.description)}")
            for f in carried
        ]
    )
    return form


def revision_form(targets: list[WorkTarget], **kwargs) -> RevisionForm:
    form = RevisionForm(prefix="revision", **kwargs)
    form.target_id.choices = choices(
        [(0, "—")]
        + [
            (
                t.id,
                _(
                    "%(name)s: %(target)s %(unit)s by %(date)s",
                    name=t.name,
                    target=plain_text(t.target),
                    unit=t.unit,
                    date=t.target_date.isoformat(),
                ),
            )
            for t in targets
        ]
    )
    return form


def seen_token(plan: FollowUpPlan) -> str:
    """What staff looked at: the version and its submission. A plan returned and submitted
    again meanwhile has another token, so a decision is never taken on a page gone stale."""
    stamp = plan.submitted_at.isoformat() if plan.submitted_at else ""
    return f"{plan.version}@{stamp}"
