"""Forms of the diagnosis: the scoring grid, findings, work targets, staff's review."""

import re
from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    Field,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, StopValidation

from pilot.diagnosis import scoring
from pilot.diagnosis.models import Finding, ItemScore
from pilot.diagnosis.services import DISPOSITION_LABELS, SEVERITY_LABELS, default_disposition
from pilot.forms import AppForm, FiniteDecimal, choices, in_pilot_years, parsed, strip
from pilot.frameworks.models import Framework, FrameworkItem, Scale
from pilot.kpis.models import Direction

DIRECTION_LABELS = {
    Direction.HIGHER: _l("Higher is better"),
    Direction.LOWER: _l("Lower is better"),
}
TEXT_MAX = 5000
#: Field names of the scoring grid: score_12, strengths_12, opportunities_12 for item 12.
ITEM_FIELD = re.compile(r"(score|strengths|opportunities)_(\d+)")


class ScoreField(SelectField):
    """An item's score: a percentage in 5 % steps (band scale) or a level 1–5 (maturity).

    Empty means "not scored yet". The value is checked by the scoring rules, whatever the options
    offered, so a tampered value gets the rule's own message.
    """

    def __init__(self, label=None, validators=None, *, scale: str, **kwargs):
        super().__init__(label, validators, coerce=str, validate_choice=False, **kwargs)
        self.scale = scale
        self.value: int | None = None

    def process_formdata(self, valuelist):
        self.data = valuelist[0].strip() if valuelist else ""

    def pre_validate(self, form):
        self.value = None
        if not self.data:
            return
        try:
            number = int(self.data)
        except ValueError:
            number = None
        try:
            if self.scale == Scale.BAND:
                self.value = scoring.check_percent(number)
            else:
                self.value = scoring.check_level(number)
        except scoring.ScoreError as error:
            raise StopValidation(str(error)) from None


def score_label(framework: Framework, item: FrameworkItem, value: int) -> str:
    """A score as words: "35% — <the band's descriptor>" or "3 规范 — <the level's descriptor>"."""
    if framework.scale == Scale.BAND:
        band = scoring.band_of(framework, value)
        descriptor = (band.get(item.kind) or band.get("process", "")) if band else ""
        text = f"{value}%"
    else:
        level = next((lv for lv in framework.levels if lv.get("level") == value), {})
        descriptor = level.get("descriptor", "")
        text = " ".join(filter(None, [str(value), level.get("name", "")]))
    return f"{text} — {descriptor}" if descriptor else text


def score_options(framework: Framework, item: FrameworkItem) -> list:
    """The select's options: blank, then 0–100 in 5 % steps or levels 1–5, with descriptors."""
    values = range(0, 101, 5) if framework.scale == Scale.BAND else range(1, 6)
    return choices(
        [("", _l("— not scored —")), *((str(v), score_label(framework, item, v)) for v in values)]
    )


class ScoresFormBase(AppForm):
    """The scoring grid; its fields are made per item by scores_form()."""

    #: Item ids the posted data names that are not on this diagnosis's frameworks.
    unknown_items: set[int] = set()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.unknown_items:
            # The same words as the service, which refuses such an item too.
            self.form_errors.append(_l("The item is not part of this diagnosis's frameworks."))
            return False
        return valid

    def item_ids(self) -> list[int]:
        return [int(name.split("_", 1)[1]) for name in self._fields if name.startswith("score_")]


def scores_form(
    frameworks: Iterable[Framework],
    scores: Mapping[int, ItemScore],
    formdata=None,
) -> ScoresFormBase:
    """The scoring grid for these frameworks, filled from the saved scores (or the posted data)."""
    fields: dict[str, Field] = {}
    known: set[int] = set()
    for framework in frameworks:
        for item in framework.items:
            known.add(item.id)
            saved = scores.get(item.id)
            value = None
            if saved is not None:
                value = saved.percent if framework.scale == Scale.BAND else saved.level
            fields[f"score_{item.id}"] = ScoreField(
                _l("Score"),
                scale=framework.scale,
                choices=score_options(framework, item),
                default="" if value is None else str(value),
            )
            fields[f"strengths_{item.id}"] = TextAreaField(
                _l("Strengths"),
                validators=[Length(max=TEXT_MAX)],
                default=saved.strengths if saved else "",
                render_kw={"rows": 2},
            )
            fields[f"opportunities_{item.id}"] = TextAreaField(
                _l("Opportunities for improvement"),
                validators=[Length(max=TEXT_MAX)],
                default=saved.opportunities if saved else "",
                render_kw={"rows": 2},
            )
    form_class = type("ScoresForm", (ScoresFormBase,), fields)
    form = form_class(formdata=formdata)
    posted = {
        int(match.group(2)) for key in (formdata or {}) if (match := ITEM_FIELD.fullmatch(key))
    }
    form.unknown_items = posted - known
    return form


class FindingForm(AppForm):
    item_id = SelectField(_l("Framework item"), coerce=int, default=0, validate_choice=False)
    # The service checks the item and the severity, with messages for the field.
    severity = SelectField(
        _l("Severity"),
        choices=choices([("", "—"), *SEVERITY_LABELS.items()]),
        default="",
        validate_choice=False,
    )
    description = TextAreaField(
        _l("Description"),
        validators=[InputRequired(message=_l("Describe the finding.")), Length(max=TEXT_MAX)],
        filters=[strip],
    )
    evidence = FileField(_l("Evidence (optional: PDF, image or Office document)"))


def item_options(frameworks: Iterable[Framework]) -> list:
    """Every item of the frameworks, grouped by framework, after a blank first option."""
    options = [SelectChoice(0, "—")]
    for framework in frameworks:
        for category in framework.categories:
            group = f"{framework.name} · {category.code} {category.name}"
            options.extend(
                SelectChoice(item.id, f"{item.code} {item.name}", optgroup=group)
                for item in category.items
            )
    return options


class TargetForm(AppForm):
    kpi_id = SelectField(_l("Indicator"), coerce=int, default=0)
    name = StringField(_l("Name (custom target)"), validators=[Length(max=100)], filters=[strip])
    unit = StringField(_l("Unit (custom target)"), validators=[Length(max=20)], filters=[strip])
    direction = SelectField(
        _l("Direction (custom target)"),
        choices=choices([("", "—"), *DIRECTION_LABELS.items()]),
        default="",
        validate_choice=False,  # the service says what is missing for a custom target
    )
    baseline = DecimalField(
        _l("Baseline"),
        validators=[Optional(), parsed, FiniteDecimal(places=4)],
    )
    target = DecimalField(
        _l("Target"),
        validators=[
            InputRequired(message=_l("Give the target value.")),
            parsed,
            FiniteDecimal(places=4),
        ],
    )
    target_date = DateField(
        _l("Target date"),
        validators=[InputRequired(message=_l("Give the date the target is due.")), in_pilot_years],
    )
    confirm_wrong_side = BooleanField(_l("Yes, this target is meant to be no improvement"))

    def validate_baseline(self, field):
        _check_size(field)

    def validate_target(self, field):
        _check_size(field)


def _check_size(field) -> None:
    # The column holds 16 digits, 4 after the point.
    if field.data is not None and abs(field.data) >= 10**12:
        raise StopValidation(_l("The number is too large."))


class ReturnForm(AppForm):
    comment = TextAreaField(
        _l("What needs to change"),
        validators=[InputRequired(message=_l("Say what needs to change.")), Length(max=TEXT_MAX)],
        filters=[strip],
    )


class AcceptFormBase(AppForm):
    def dispositions(self) -> dict[int, str]:
        return {
            int(name.split("_", 1)[1]): field.data
            for name, field in self._fields.items()
            if name.startswith("disposition_")
        }


def accept_form(findings: Iterable[Finding], **kwargs) -> AcceptFormBase:
    """A disposition select per finding: carry for an observation, rectify otherwise.

    Keyword arguments go to the form: formdata=None for a fresh one, else the request's data.
    """
    options = choices(DISPOSITION_LABELS.items())
    fields = {
        f"disposition_{finding.id}": SelectField(
            _l("Disposition"), choices=options, default=default_disposition(finding)
        )
        for finding in findings
    }
    return type("AcceptForm", (AcceptFormBase,), fields)(**kwargs)


class ActionForm(AppForm):
    """An action button that carries only the CSRF token (submit, remove)."""
