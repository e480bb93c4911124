"""Words and formatters the evaluation templates use (`L` in them)."""

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from pilot.diagnosis import scoring
from pilot.diagnosis.forms import DIRECTION_LABELS
from pilot.diagnosis.models import DiagnosisStatus
from pilot.evaluation import services

ROUND_STATUS_LABELS = {
    DiagnosisStatus.DRAFT: _l("Draft"),
    DiagnosisStatus.SUBMITTED: _l("Submitted"),
    DiagnosisStatus.RETURNED: _l("Returned"),
    DiagnosisStatus.ACCEPTED: _l("Accepted"),
}
ASPECT_LABELS = {
    "professionalism": _l("Professionalism"),
    "timeliness": _l("Timeliness"),
    "usefulness": _l("Usefulness"),
}
TENTH = Decimal("0.1")


def number(value: Decimal | None) -> str:
    """A stored decimal without its padding zeros: 96.5000 → 96.5, 100.0000 → 100."""
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def one_decimal(value: Decimal | None) -> str:
    return "—" if value is None else scoring.one_decimal(value)


def signed(value: Decimal | None) -> str:
    """A difference to one decimal with its sign: +12.5, −3.0, 0.0."""
    if value is None:
        return "—"
    rounded = value.quantize(TENTH, rounding=ROUND_HALF_UP)
    if rounded > 0:
        return f"+{rounded}"
    if rounded < 0:
        return f"−{-rounded}"
    return "0.0"


def labels() -> dict:
    """Words and formatters the evaluation templates use."""
    return {
        "verdicts": services.VERDICT_LABELS,
        "directions": DIRECTION_LABELS,
        "aspects": ASPECT_LABELS,
        "round_status": ROUND_STATUS_LABELS,
        "number": number,
        "one_decimal": one_decimal,
        "signed": signed,
    }
