"""Words and formatters the evaluation templates use (`L` in them)."""

from flask_babel import lazy_gettext as _l

from pilot.diagnosis.forms import DIRECTION_LABELS
from pilot.diagnosis.models import DiagnosisStatus
from pilot.evaluation import services
from pilot.numbers import decimal_text, plain_text, signed_text

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


def labels() -> dict:
    """Words and formatters the evaluation templates use."""
    return {
        "verdicts": services.VERDICT_LABELS,
        "directions": DIRECTION_LABELS,
        "aspects": ASPECT_LABELS,
        "round_status": ROUND_STATUS_LABELS,
        "number": plain_text,
        "one_decimal": decimal_text,
        "signed": signed_text,
    }
