"""Forms of the needs survey (the firm's answers) and of staff's needs analysis."""

import re
import unicodedata
from decimal import Decimal

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import FieldList, FormField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, StopValidation

from pilot.batches.forms import MultiCheckboxField, strip
from pilot.forms import AppForm, RowForm, VersionField
from pilot.kpis.models import Kpi
from pilot.reference import CERTIFICATIONS
from pilot.survey.services import WEAK_AREAS

#: What survey_baseline.value holds: 16 digits, 4 of them after the point.
PLACES = 4
MAX_VALUE = Decimal("999999999999.9999")
PERCENT = "%"
#: Plain decimal notation only: no exponents, no digit groups, no "NaN".
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
#: Rows the baseline table may post (the catalogue has a dozen KPIs).
MAX_ROWS = 200

#: The answers a SurveyError may point at; other errors are shown above the form.
ANSWER_FIELDS = ("systems", "other_systems", "weak_areas", "pain_points", "wanted_help")


def kpi_name(kpi: Kpi) -> str:
    locale = get_locale()
    return kpi.name_zh if locale is None or locale.language == "zh" else kpi.name_en


def parse_number(text: str | None) -> Decimal | None:
    """The number in a baseline cell; None when the cell is empty.

    Full-width digits (９８．５) are read as ordinary ones. Raises StopValidation with a message
    for anything else.
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    if not NUMBER.fullmatch(text):
        raise StopValidation(_l("Enter a number, such as 98.5, or leave the value empty."))
    value = Decimal(text)
    if value.normalize().as_tuple().exponent < -PLACES:  # 98.50000 is fine
        raise StopValidation(_l("Use at most %(num)d decimal places.", num=PLACES))
    if value < 0:
        raise StopValidation(_l("Give a number of 0 or more."))
    if value > MAX_VALUE:
        raise StopValidation(_l("This number is too large."))
    return value


class BaselineRowForm(RowForm):
    """One KPI of the catalogue: its baseline value (empty when not given) and period."""

    kpi_id = HiddenField()
    value = StringField(_l("Value"), validators=[Length(max=40)])
    period = StringField(_l("Period"), validators=[Length(max=40)], filters=[strip])

    #: The value as a number, once validated; None when not given.
    number: Decimal | None = None

    def validate_value(self, field):
        self.number = parse_number(field.data)


class SurveyForm(AppForm):
    systems = MultiCheckboxField(
        _l("Certifications the firm holds"),
        choices=[SelectChoice(code, label) for code, label in CERTIFICATIONS.items()],
    )
    other_systems = TextAreaField(
        _l("Other management systems, certifications or models in use"),
        validators=[Length(max=2000)],
        filters=[strip],
    )
    weak_areas = MultiCheckboxField(
        _l("Where the firm sees itself as weak"),
        choices=[SelectChoice(code, label) for code, label in WEAK_AREAS.items()],
    )
    pain_points = TextAreaField(
        _l("Pain points in quality and brand"), validators=[Length(max=5000)], filters=[strip]
    )
    wanted_help = TextAreaField(
        _l("Help the firm wants from the pilot"), validators=[Length(max=5000)], filters=[strip]
    )
    baselines = FieldList(FormField(BaselineRowForm), max_entries=MAX_ROWS)
    #: The survey's version the page showed (0: no survey saved yet), so a stale save is refused.
    version = VersionField()
    save_draft = SubmitField(_l("Save draft"))
    submit_survey = SubmitField(_l("Submit the survey"))

    #: (row, Kpi or None) in the order shown, set by bind_catalogue.
    rows: list[tuple[BaselineRowForm, Kpi | None]]

    def bind_catalogue(self, kpis: list[Kpi]) -> None:
        """Tie each row to its KPI: labels for screen readers and what validation checks."""
        by_id = {str(kpi.id): kpi for kpi in kpis}
        self.rows = []
        for entry in self.baselines:
            row = entry.form
            kpi = by_id.get(str(row.kpi_id.data))
            if kpi is not None:
                name = kpi_name(kpi)
                row.value.label.text = _l("%(kpi)s: value", kpi=name)
                row.period.label.text = _l("%(kpi)s: period", kpi=name)
            self.rows.append((row, kpi))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for row, kpi in self.rows:
            if row.number is None or row.value.errors:
                continue
            if kpi is None:
                row.value.errors.append(_l("This KPI is not in the catalogue."))
            elif kpi.unit == PERCENT and row.number > 100:
                row.value.errors.append(_l("A percentage cannot be more than 100."))
            elif not row.period.data:
                row.period.errors.append(
                    _l("Say which period the value is for, such as the year 2025.")
                )
            else:
                continue
            valid = False
        return valid

    def answers(self) -> dict:
        return {
            "systems": list(self.systems.data or []),
            "other_systems": self.other_systems.data or "",
            "weak_areas": list(self.weak_areas.data or []),
            "pain_points": self.pain_points.data or "",
            "wanted_help": self.wanted_help.data or "",
        }

    def baseline_values(self) -> list[tuple[int, Decimal, str]]:
        """The rows given a value, as save_survey takes them; call after validate()."""
        return [
            (kpi.id, row.number, row.period.data)
            for row, kpi in self.rows
            if kpi is not None and row.number is not None
        ]


class AnalysisForm(AppForm):
    analysis = TextAreaField(_l("Needs analysis"), validators=[Length(max=20000)], filters=[strip])
    version = VersionField()
