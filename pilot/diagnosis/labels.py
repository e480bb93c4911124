"""Words and formatters the diagnosis pages use (and the plan's, which show its findings)."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from pilot.diagnosis import services
from pilot.diagnosis.forms import DIRECTION_LABELS, score_label
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round
from pilot.numbers import decimal_text, plain_text
from pilot.rectification.services import ITEM_STATUS_LABELS

ROUND_LABELS = {
    Round.BASELINE: _l("Baseline diagnosis"),
    Round.FINAL: _l("Final re-scoring"),
}
STATUS_LABELS = {
    DiagnosisStatus.DRAFT: _l("Draft"),
    DiagnosisStatus.SUBMITTED: _l("Submitted"),
    DiagnosisStatus.RETURNED: _l("Returned"),
    DiagnosisStatus.ACCEPTED: _l("Accepted"),
}


@dataclass(frozen=True)
class DiagnosisState:
    """Where a diagnosis stands, as the templates ask it (they never compare status strings)."""

    draft: bool = False
    submitted: bool = False
    returned: bool = False
    accepted: bool = False


def diagnosis_state(diagnosis: Diagnosis | None) -> DiagnosisState:
    """Not started yet: every flag is false."""
    if diagnosis is None:
        return DiagnosisState()
    return DiagnosisState(
        draft=diagnosis.status == DiagnosisStatus.DRAFT,
        submitted=diagnosis.status == DiagnosisStatus.SUBMITTED,
        returned=diagnosis.status == DiagnosisStatus.RETURNED,
        accepted=diagnosis.status == DiagnosisStatus.ACCEPTED,
    )


def short(text: str, length: int = 40) -> str:
    """A finding's description cut to fit a choice list: at most length characters."""
    return text if len(text) <= length else text[: length - 1] + "…"


def labels() -> dict:
    """Words and formatters the diagnosis templates use (`L` in them)."""
    return {
        "severity_labels": services.SEVERITY_LABELS,
        "disposition_labels": services.DISPOSITION_LABELS,
        "status_labels": STATUS_LABELS,
        "direction_labels": DIRECTION_LABELS,
        "item_status_labels": ITEM_STATUS_LABELS,
        "one_decimal": decimal_text,
        "number": plain_text,
        "score_label": score_label,
    }
