"""Words for audit-log events, so the log and the timeline read as sentences, not codes."""

import json
from typing import Any

from flask_babel import lazy_gettext as _l

from pilot.stages import BY_CODE

EVENTS = {
    ("case", "open"): _l("Case opened"),
    ("case", "assign_experts"): _l("Experts assigned"),
    ("case", "due_dates"): _l("Due dates changed"),
    ("case", "withdraw"): _l("Withdrawn from the pilot"),
    ("case", "reinstate"): _l("Taken back into the pilot"),
    ("case", "close"): _l("Case closed"),
    ("case", "reopen"): _l("Case reopened"),
    ("stage_mark", "mark_done"): _l("Stage marked done"),
    ("stage_mark", "unmark"): _l("Stage mark taken back"),
    ("stored_file", "upload"): _l("File uploaded"),
    ("needs_survey", "save"): _l("Needs survey saved as a draft"),
    ("needs_survey", "submit"): _l("Needs survey submitted"),
    ("needs_survey", "analysis"): _l("Needs analysis written"),
    ("visit", "log"): _l("On-site visit logged"),
    ("visit", "confirm"): _l("On-site visit confirmed"),
    ("visit", "dispute"): _l("On-site visit disputed"),
    ("diagnosis", "start"): _l("Diagnosis started"),
    ("diagnosis", "scores"): _l("Diagnosis scores saved"),
    ("diagnosis", "submit"): _l("Diagnosis submitted"),
    ("diagnosis", "return"): _l("Diagnosis returned"),
    ("diagnosis", "accept"): _l("Diagnosis accepted"),
    ("finding", "add"): _l("Finding added"),
    ("finding", "remove"): _l("Finding removed"),
    ("work_target", "add"): _l("Work target set"),
    ("work_target", "remove"): _l("Work target removed"),
    ("rectification_item", "add"): _l("Rectification item added"),
    ("rectification_item", "work"): _l("Rectification progress recorded"),
    ("rectification_item", "submit"): _l("Rectification submitted for verification"),
    ("rectification_item", "verify"): _l("Rectification verified"),
    ("rectification_item", "return"): _l("Rectification returned"),
    ("rectification_item", "waive"): _l("Rectification item waived"),
    ("attendance", "attendance"): _l("Training attendance recorded"),
    ("follow_up_plan", "draft"): _l("Follow-up plan drafted"),
    ("follow_up_plan", "save"): _l("Follow-up plan saved"),
    ("follow_up_plan", "add_action"): _l("Plan action added"),
    ("follow_up_plan", "remove_action"): _l("Plan action removed"),
    ("follow_up_plan", "revise_target"): _l("Target revision proposed"),
    ("follow_up_plan", "remove_revision"): _l("Target revision withdrawn"),
    ("follow_up_plan", "submit"): _l("Follow-up plan submitted"),
    ("follow_up_plan", "return"): _l("Follow-up plan returned"),
    ("follow_up_plan", "approve"): _l("Follow-up plan approved"),
    ("kpi_actual", "enter"): _l("Actual value entered"),
    ("kpi_actual", "check"): _l("Actual value checked"),
    ("service_rating", "rate"): _l("Service rated"),
    ("evaluation", "assessment"): _l("Closing assessment written"),
    ("evaluation", "verdict"): _l("Verdict given"),
    ("report_archive", "archive"): _l("Final report archived"),
    ("coaching_record", "add"): _l("One-to-one coaching recorded"),
    ("training_session", "create"): _l("Training session created"),
    ("training_session", "update"): _l("Training session changed"),
}


def event_label(record_type: str, action: str, after: dict | None, before: dict | None) -> str:
    label = EVENTS.get((record_type, action))
    if label is None:
        return f"{record_type} · {action}"
    stage = (after or before or {}).get("stage")
    if record_type == "stage_mark" and stage in BY_CODE:
        return f"{label}: {BY_CODE[stage].label}"
    return str(label)


def plain_values(values: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Before/after values as readable pairs (Chinese kept as it is, not escaped)."""
    if not values:
        return []
    return [
        (key, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
        for key, v in values.items()
    ]
