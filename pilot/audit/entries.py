"""The audit log as people read it: each entry a sentence in the reader's language.

An entry keeps what the service logged (codes, ids, ISO timestamps); this module turns it into
words when it is shown, so it follows the reader's language: field labels, values as the pages
show them (local dates, translated codes, readable lists), a rectification item's number and a
diagnosis round's name, and nothing internal (ids, empty values, hashes). The case page's log
and timeline and the report's sign-off trail all read it.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.audit.models import AuditLog
from pilot.cases.models import Case
from pilot.database import local_zone
from pilot.diagnosis.labels import ROUND_LABELS
from pilot.diagnosis.models import Diagnosis, Finding
from pilot.diagnosis.services import DISPOSITION_LABELS, SEVERITY_LABELS
from pilot.evaluation.services import VERDICT_LABELS
from pilot.files.models import OwnerType
from pilot.firms.models import Firm
from pilot.numbers import plain_text
from pilot.rectification.queries import item_numbers
from pilot.rectification.services import ITEM_STATUS_LABELS
from pilot.reference import CERTIFICATIONS
from pilot.stages import BY_CODE
from pilot.survey.services import WEAK_AREAS
from pilot.visits.services import VISIT_STATUS_LABELS

#: What happened, by (record type, action). A message may name its subject: %(round)s (the
#: diagnosis round), %(number)s (the rectification item's number), %(stage)s, %(version)s.
EVENTS = {
    ("case", "open"): _l("Case opened"),
    ("case", "assign_experts"): _l("Experts assigned"),
    ("case", "due_dates"): _l("Due dates changed"),
    ("case", "withdraw"): _l("Withdrawn from the pilot"),
    ("case", "reinstate"): _l("Taken back into the pilot"),
    ("case", "close"): _l("Case closed"),
    ("case", "reopen"): _l("Case reopened"),
    ("stage_mark", "mark_done"): _l("Stage marked done: %(stage)s"),
    ("stage_mark", "unmark"): _l("Stage mark taken back: %(stage)s"),
    ("stored_file", "upload"): _l("File uploaded"),
    ("stored_file", "remove"): _l("File removed"),
    ("needs_survey", "save"): _l("Needs survey saved as a draft"),
    ("needs_survey", "submit"): _l("Needs survey submitted"),
    ("needs_survey", "analysis"): _l("Needs analysis written"),
    ("visit", "log"): _l("On-site visit logged"),
    ("visit", "confirm"): _l("On-site visit confirmed"),
    ("visit", "dispute"): _l("On-site visit disputed"),
    ("diagnosis", "start"): _l("%(round)s started"),
    ("diagnosis", "scores"): _l("%(round)s: scores saved"),
    ("diagnosis", "submit"): _l("%(round)s submitted"),
    ("diagnosis", "return"): _l("%(round)s returned"),
    ("diagnosis", "accept"): _l("%(round)s accepted"),
    ("finding", "add"): _l("%(round)s: finding added"),
    ("finding", "remove"): _l("%(round)s: finding removed"),
    ("work_target", "add"): _l("Work target set"),
    ("work_target", "remove"): _l("Work target removed"),
    ("rectification_item", "add"): _l("Rectification item %(number)s added"),
    ("rectification_item", "work"): _l("Rectification item %(number)s: progress recorded"),
    ("rectification_item", "submit"): _l(
        "Rectification item %(number)s submitted for verification"
    ),
    ("rectification_item", "verify"): _l("Rectification item %(number)s verified"),
    ("rectification_item", "return"): _l("Rectification item %(number)s returned"),
    ("rectification_item", "waive"): _l("Rectification item %(number)s waived"),
    ("attendance", "attendance"): _l("Training attendance recorded"),
    ("follow_up_plan", "draft"): _l("Follow-up plan version %(version)s drafted"),
    ("follow_up_plan", "save"): _l("Follow-up plan version %(version)s saved"),
    ("follow_up_plan", "add_action"): _l("Follow-up plan version %(version)s: action added"),
    ("follow_up_plan", "remove_action"): _l("Follow-up plan version %(version)s: action removed"),
    ("follow_up_plan", "revise_target"): _l("Target revision proposed"),
    ("follow_up_plan", "remove_revision"): _l("Target revision withdrawn"),
    ("follow_up_plan", "submit"): _l("Follow-up plan version %(version)s submitted"),
    ("follow_up_plan", "return"): _l("Follow-up plan version %(version)s returned"),
    ("follow_up_plan", "approve"): _l("Follow-up plan version %(version)s approved"),
    ("kpi_actual", "enter"): _l("Actual value entered"),
    ("kpi_actual", "check"): _l("Actual value checked"),
    ("service_rating", "rate"): _l("Service rated"),
    ("evaluation", "assessment"): _l("Closing assessment written"),
    ("evaluation", "verdict"): _l("Verdict given"),
    ("report_archive", "archive"): _l("Final report archived"),
    ("coaching_record", "add"): _l("One-to-one coaching recorded"),
    ("training_session", "create"): _l("Training session created"),
    ("training_session", "update"): _l("Training session changed"),
    ("firm", "create"): _l("Firm added"),
    ("firm", "update"): _l("Firm record changed"),
    ("batch", "create"): _l("Batch created"),
    ("batch", "update"): _l("Batch changed"),
    ("user", "create"): _l("User account created"),
    ("user", "update"): _l("User account changed"),
    ("user", "reset_password"): _l("Password reset"),
    ("user", "activate"): _l("User account activated"),
    ("user", "deactivate"): _l("User account deactivated"),
    ("framework", "load"): _l("Assessment framework loaded"),
}
#: The same events when their subject cannot be named (an entry older than the subject's key).
PLAIN_EVENTS = {
    "stage_mark": _l("Stage mark changed"),
    "diagnosis": _l("Diagnosis changed"),
    "finding": _l("Finding changed"),
    "rectification_item": _l("Rectification item changed"),
    "follow_up_plan": _l("Follow-up plan changed"),
}

#: Field labels; a key without one is internal and not shown.
FIELDS = {
    "description": _l("Description"),
    "severity": _l("Severity"),
    "status": _l("Status"),
    "due_date": _l("Due date"),
    "root_cause": _l("Root cause"),
    "measure": _l("Corrective measure"),
    "owner_name": _l("Responsible person"),
    "owner_dept": _l("Department"),
    "note": _l("Progress note"),
    "unfinished_items": _l("Items unfinished at closing"),
    "experts": _l("Experts"),
    "owner": _l("Attached to"),
    "name": _l("Name"),
    "size": lazy_pgettext("file", "Size"),
    "systems": _l("Certifications the firm holds"),
    "other_systems": _l("Other management systems, certifications or models in use"),
    "weak_areas": _l("Where the firm sees itself as weak"),
    "pain_points": _l("Pain points in quality and brand"),
    "wanted_help": _l("Help the firm wants from the pilot"),
    "analysis": _l("Needs analysis"),
    "visit_date": _l("Date of the visit"),
    "hours": _l("Hours"),
    "firm_participants": _l("Firm participants"),
    "activities": _l("What was done"),
    "items": _l("Rectification items created"),
    "baseline": _l("Baseline"),
    "target": _l("Target"),
    "session": _l("Training session"),
    "count": _l("Number attending"),
    "names": _l("Who attended"),
    "copied_from": _l("Copied from version"),
    "summary": _l("Summary of the follow-up service"),
    "what": _l("Action"),
    "from": _l("Accepted target"),
    "to": _l("Proposed target"),
    "actual": _l("Actual value"),
    "period": _l("Period"),
    "expert_id": _l("Expert"),
    "professionalism": _l("Professionalism"),
    "timeliness": _l("Timeliness"),
    "usefulness": _l("Usefulness"),
    "verdict": _l("Verdict"),
    "disposition": _l("Disposition"),
    "coached_on": _l("Date"),
    "topic": _l("Topic"),
    "starts_at": _l("Starts at"),
    "place": _l("Place"),
    "online_link": _l("Online link"),
    "trainer": _l("Trainer"),
    "areas": _l("Areas addressed"),
    "invited": _l("Invited firms"),
}
#: Labels a record gives a key of its own.
RECORD_FIELDS = {("stored_file", "name"): _l("File name")}
#: Keys shown in the sentence (or not at all) rather than as a field, whatever the record.
_IN_SENTENCE = {"round", "stage", "version"}
#: Codes and their words, by key (and by record type where a key means different things).
_CODES = {
    "severity": SEVERITY_LABELS,
    "verdict": VERDICT_LABELS,
    "disposition": DISPOSITION_LABELS,
    "systems": CERTIFICATIONS,
    "weak_areas": WEAK_AREAS,
    "areas": WEAK_AREAS,
}
_STATUS_CODES = {
    "rectification_item": ITEM_STATUS_LABELS,
    "visit": VISIT_STATUS_LABELS,
}
_OWNER_LABELS = {
    OwnerType.CASE: _l("the case's documents"),
    OwnerType.FINDING: _l("a diagnosis finding"),
    OwnerType.VISIT: _l("an on-site visit"),
    OwnerType.TRAINING: _l("a training session"),
    OwnerType.ACTUAL: _l("an actual value"),
}
#: How an empty value reads (the pages show "—" too).
EMPTY = "—"
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


@dataclass(frozen=True)
class LogLine:
    """One entry as its reader reads it."""

    at: datetime
    who: str
    what: str
    reason: str
    #: "Label: value" for what was set or removed, "Label: before → after" for what changed.
    details: tuple[str, ...]


@dataclass
class _Refs:
    """What the entries name, loaded for all of them at once."""

    rounds: dict[int, str]
    finding_rounds: dict[int, str]
    item_numbers: dict[int, int]
    people: dict[int, str]
    firms: dict[int, str]


def readable_log(session: Session, rows: Sequence[tuple[AuditLog, User | None]]) -> list[LogLine]:
    """The entries (with their actors) as lines to show, in the same order."""
    refs = _load_refs(session, [entry for entry, _actor in rows])
    return [
        LogLine(
            at=entry.at,
            who=actor.display_name if actor else _("system"),
            what=_sentence(entry, refs),
            reason=entry.reason,
            details=tuple(_details(entry, refs)),
        )
        for entry, actor in rows
    ]


def _load_refs(session: Session, entries: list[AuditLog]) -> _Refs:
    def ids(record_type: str) -> set[int]:
        return {e.record_id for e in entries if e.record_type == record_type and e.record_id}

    def pairs(query, wanted: set[int]) -> dict:
        return dict(session.exec(query).all()) if wanted else {}

    diagnosis_ids, finding_ids = ids("diagnosis"), ids("finding")
    rounds = pairs(
        select(Diagnosis.id, Diagnosis.round).where(Diagnosis.id.in_(diagnosis_ids)),
        diagnosis_ids,
    )
    finding_rounds = pairs(
        select(Finding.id, Diagnosis.round)
        .join(Diagnosis, Diagnosis.id == Finding.diagnosis_id)
        .where(Finding.id.in_(finding_ids)),
        finding_ids,
    )
    case_ids = {e.case_id for e in entries if e.case_id}
    values = [v for e in entries for v in (e.before or {}, e.after or {})]
    expert_ids = {v["expert_id"] for v in values if isinstance(v.get("expert_id"), int)}
    invited = {i for v in values for i in v.get("invited") or [] if isinstance(i, int)}
    firms = pairs(
        select(Case.id, Firm.name).join(Firm, Firm.id == Case.firm_id).where(Case.id.in_(invited)),
        invited,
    )
    return _Refs(
        rounds=rounds,
        finding_rounds=finding_rounds,
        item_numbers=item_numbers(session, case_ids) if case_ids else {},
        people={i: u.display_name for i, u in people_by_id(session, expert_ids).items()},
        firms=firms,
    )


def _sentence(entry: AuditLog, refs: _Refs) -> str:
    message = EVENTS.get((entry.record_type, entry.action))
    if message is None:
        return str(_("Record changed"))
    values = {**(entry.before or {}), **(entry.after or {})}
    subject: dict[str, Any] = {}
    if entry.record_type == "diagnosis":
        round_ = refs.rounds.get(entry.record_id) or values.get("round")
        if round_ in ROUND_LABELS:
            subject["round"] = ROUND_LABELS[round_]
    elif entry.record_type == "finding":
        round_ = refs.finding_rounds.get(entry.record_id) or values.get("round")
        if round_ in ROUND_LABELS:
            subject["round"] = ROUND_LABELS[round_]
    elif entry.record_type == "rectification_item":
        if entry.record_id in refs.item_numbers:
            subject["number"] = refs.item_numbers[entry.record_id]
    elif entry.record_type == "stage_mark":
        if values.get("stage") in BY_CODE:
            subject["stage"] = BY_CODE[values["stage"]].label
    elif entry.record_type == "follow_up_plan" and values.get("version") is not None:
        subject["version"] = values["version"]
    text = str(message)
    try:
        sentence = text % {k: str(v) for k, v in subject.items()} if "%(" in text else text
    except KeyError:
        sentence = str(PLAIN_EVENTS.get(entry.record_type, _("Record changed")))
    return sentence


def _details(entry: AuditLog, refs: _Refs) -> Iterable[str]:
    before, after = entry.before or {}, entry.after or {}
    for key in [*after, *(k for k in before if k not in after)]:
        label = str(RECORD_FIELDS.get((entry.record_type, key), "")) or _label(key)
        if label is None or key in _IN_SENTENCE:
            continue
        if key == "items" and not (
            entry.action == "accept" and after.get("round", "baseline") != "final"
        ):
            # Items on a saved scores form say nothing to a reader; the final round creates none.
            continue
        old = _value(entry, key, before[key], refs) if key in before else None
        new = _value(entry, key, after[key], refs) if key in after else None
        if key in before and key in after and old != EMPTY:
            if old == new:
                continue
            yield _("%(label)s: %(before)s → %(after)s", label=label, before=old, after=new)
        elif key in after and new != EMPTY:
            yield _("%(label)s: %(value)s", label=label, value=new)
        elif key not in after and old != EMPTY:
            yield _("%(label)s: %(value)s", label=label, value=old)


def _label(key: str) -> str | None:
    stage = key.removesuffix("_due")
    if stage != key and stage in BY_CODE:
        return _("Due date of %(stage)s", stage=BY_CODE[stage].label)
    label = FIELDS.get(key)
    return str(label) if label is not None else None


def _value(entry: AuditLog, key: str, value: Any, refs: _Refs) -> str:
    """A logged value as the pages show it."""
    if value is None or value == "" or value == [] or value == "None":
        if key == "unfinished_items":
            return _("none")
        return EMPTY
    if key == "unfinished_items" and isinstance(value, list):
        return _list(_item_name(refs.item_numbers.get(i)) for i in value)
    if key == "experts" and isinstance(value, list):
        return _list(
            _("%(name)s (lead)", name=name[:-2]) if str(name).endswith(" *") else str(name)
            for name in value
        )
    if key == "owner":
        return _owner(str(value), refs)
    if key == "expert_id":
        return refs.people.get(value, EMPTY)
    if key == "invited" and isinstance(value, list):
        return _list(refs.firms.get(i, EMPTY) for i in value) if value else _("none")
    if key == "size" and isinstance(value, int):
        return _size(value)
    if key in ("professionalism", "timeliness", "usefulness") and isinstance(value, int):
        return _("%(score)d of 5", score=value)
    if key == "count" and isinstance(value, int):
        return str(value)
    codes = _STATUS_CODES.get(entry.record_type) if key == "status" else _CODES.get(key)
    if codes is not None:
        if isinstance(value, list):
            return _list(str(codes.get(v, v)) for v in value)
        return str(codes.get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return _list(str(v) for v in value)
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if _DATETIME.match(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    if _DATE.fullmatch(text):
        return date.fromisoformat(text).isoformat()
    if key in ("hours", "baseline", "target", "actual", "from", "to"):
        try:
            return plain_text(Decimal(text))
        except InvalidOperation:
            return text
    return text


def _list(values: Iterable[str]) -> str:
    return _(", ").join(values) or _("none")


def _item_name(number: int | None) -> str:
    return _("item %(number)d", number=number) if number else _("an item")


def _owner(owner: str, refs: _Refs) -> str:
    kind, _sep, raw_id = owner.partition(":")
    if kind == OwnerType.ITEM:
        number = refs.item_numbers.get(int(raw_id)) if raw_id.isdigit() else None
        return _("rectification item %(number)d", number=number) if number else _("an item")
    label = _OWNER_LABELS.get(kind)
    return str(label) if label else EMPTY


def _size(size: int) -> str:
    if size < 1024:
        return _("%(num)d bytes", num=size)
    if size < 1024 * 1024:
        return _("%(num)s KB", num=plain_text(Decimal(size) / 1024, 1))
    return _("%(num)s MB", num=plain_text(Decimal(size) / (1024 * 1024), 1))
