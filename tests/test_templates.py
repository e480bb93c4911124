"""Templates ask `can()` or a value the view passed: none compares a role or a status string."""

import re
from pathlib import Path

from pilot import stages
from pilot.accounts.models import Role
from pilot.diagnosis.models import DiagnosisStatus
from pilot.plan.models import PlanStatus
from pilot.rectification.models import ItemStatus
from pilot.visits.models import VisitStatus

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: The evaluation pages are checked once their own rework lands.
NOT_YET = {"evaluation"}
#: Report jobs keep their statuses as plain strings (pilot/reports/jobs.py).
JOB_STATUSES = {"queued", "running", "done", "failed"}


def constants(holder) -> set[str]:
    return {v for k, v in vars(holder).items() if k.isupper() and isinstance(v, str)}


FORBIDDEN = (
    {s.value for s in stages.Status}
    | {stages.CLOSED, stages.WITHDRAWN}
    | {r.value for r in Role}
    | JOB_STATUSES
    | set().union(*(constants(c) for c in (DiagnosisStatus, PlanStatus, ItemStatus, VisitStatus)))
)
WORD = "|".join(sorted(FORBIDDEN))
LITERAL = rf"""['"](?:{WORD})['"]"""
COMPARISONS = [
    re.compile(r"current_user\.role"),
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
        if relative.parts[0] in NOT_YET:
            continue
        if bad := offences(path.read_text(encoding="utf-8")):
            found[str(relative)] = bad
    assert not found, found
