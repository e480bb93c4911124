"""Words the training pages use: weak-area names and a finding's one-line label."""

from pilot.diagnosis.labels import short
from pilot.diagnosis.models import Finding
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.frameworks.models import FrameworkItem
from pilot.survey.services import WEAK_AREAS


def area_labels(codes: list[str]) -> list[str]:
    # A code no longer offered is still shown, as itself.
    return [str(WEAK_AREAS.get(code, code)) for code in codes]


def finding_label(finding: Finding, item: FrameworkItem) -> str:
    severity = SEVERITY_LABELS.get(finding.severity, finding.severity)
    return f"{item.code} {item.name} · {severity} · {short(finding.description, 60)}"
