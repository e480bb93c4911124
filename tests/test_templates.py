"""Templates ask `can()` or a value the view passed: none compares a role or a status string."""

import re
from pathlib import Path

from pilot import stages
from pilot.accounts.models import Role
from pilot.diagnosis.models import DiagnosisStatus, Disposition, Round, Severity
from pilot.evaluation.models import Verdict
from pilot.plan.models import PlanStatus
from pilot.rectification.models import ItemStatus
from pilot.reports.models import JobStatus
from pilot.visits.models import VisitStatus

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: Every status-like value the app stores or derives (framework scales and kinds are the shape of
#: the data, not a rule, and stay out).
STATUS_ENUMS = (
    stages.Status,
    Role,
    Round,
    DiagnosisStatus,
    Severity,
    Disposition,
    Verdict,
    PlanStatus,
    ItemStatus,
    VisitStatus,
    JobStatus,
)
FORBIDDEN = {member.value for enum in STATUS_ENUMS for member in enum} | {
    stages.CLOSED,
    stages.WITHDRAWN,
}
WORD = "|".join(sorted(FORBIDDEN))
LITERAL = rf"""['"](?:{WORD})['"]"""
COMPARISONS = [
    re.compile(r"current_user\.role"),
    # A role by another name: what the role may do is asked of can() or passed by the view.
    re.compile(r"\.is_staff\b"),
    re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)"),
    re.compile(rf"(==|!=)\s*{LITERAL}"),
    re.compile(rf"{LITERAL}\s*(==|!=)"),
    re.compile(rf"\bin\s*[(\[][^)\]]*{LITERAL}"),
    re.compile(rf"""['"](equalto|eq|sameas)['"]\s*,\s*{LITERAL}"""),
    re.compile(rf"\bis\s+(equalto|eq|sameas)\s*\(?\s*{LITERAL}"),
]
JINJA = re.compile(r"\{[{%](.*?)[%}]\}", re.S)


def offences(text: str) -> list[str]:
    found = []
    for block in JINJA.findall(text):
        if any(pattern.search(block) for pattern in COMPARISONS):
            found.append(" ".join(block.split()))
    return found


def test_the_check_catches_role_and_status_comparisons():
    caught = [
        "{% if current_user.role == 'expert' %}",
        "{% if user.role in ('staff', 'admin') %}",
        '{% if plan.status == "approved" %}',
        "{% for s in state.stages if s.status in ('in_progress', 'overdue') %}",
        "{% if job.status not in ['queued', 'running'] %}",
        "{{ items|selectattr('status', 'equalto', 'returned')|list }}",
        "{% if 'submitted' != item.status %}",
        "{% if current_user.is_staff %}",
    ]
    passed = [
        "{% if framework.scale == 'band' %}",
        "{% if state.is_running %}",
        "{{ status_pill(s.status) }}",
        "<span class=\"pill st-in_progress\">{{ _('Upcoming') }}</span>",
        "{{ 'in_progress' if code in STAGES|map(attribute='code')|list else code }}",
    ]
    assert all(offences(text) for text in caught)
    assert not any(offences(text) for text in passed)


def test_no_template_compares_a_role_or_a_status_string():
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        relative = path.relative_to(TEMPLATES)
        if bad := offences(path.read_text(encoding="utf-8")):
            found[str(relative)] = bad
    assert not found, found
