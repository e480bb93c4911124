"""What a notification says and where it leads, built when it is shown: the words follow the
reader's language, and the link is the page where the event can be seen."""

from datetime import datetime

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from pilot.diagnosis.labels import ROUND_LABELS
from pilot.notifications.models import Kind, Notification


def _round(params: dict) -> str:
    label = ROUND_LABELS.get(params.get("round", ""))
    return str(label) if label else _("diagnosis")


def _starts(params: dict) -> str:
    try:
        return format_datetime(datetime.fromisoformat(params["starts_at"]), "yyyy-MM-dd HH:mm")
    except (KeyError, ValueError):
        return ""


def message(kind: str, params: dict) -> str:
    """The sentence a notification shows, in the current language."""
    match kind:
        case Kind.ITEM_RETURNED:
            return _("Item returned, evidence to rework: %(what)s", what=params.get("what", ""))
        case Kind.ITEM_VERIFIED:
            return _("Item verified: %(what)s", what=params.get("what", ""))
        case Kind.VISIT_LOGGED:
            return _("On-site visit of %(date)s logged", date=params.get("date", ""))
        case Kind.DIAGNOSIS_RETURNED:
            return _("%(round)s returned for changes", round=_round(params))
        case Kind.DIAGNOSIS_ACCEPTED:
            return _("%(round)s accepted", round=_round(params))
        case Kind.PLAN_APPROVED:
            return _(
                "Follow-up service plan version %(version)s approved",
                version=params.get("version", ""),
            )
        case Kind.PLAN_RETURNED:
            return _(
                "Follow-up service plan version %(version)s returned for changes",
                version=params.get("version", ""),
            )
        case Kind.TRAINING_INVITED:
            return _(
                "Invited to the training session %(topic)s on %(when)s",
                topic=params.get("topic", ""),
                when=_starts(params),
            )
        case Kind.CASE_CLOSED:
            return _("The case was closed")
    return kind


def link(notification: Notification) -> str:
    """The page where the event can be seen (each page checks the reader may see it)."""
    n, case_id = notification, notification.case_id
    if n.record_id is None:
        return url_for("cases.show", case_id=case_id)
    match n.kind:
        case Kind.ITEM_RETURNED | Kind.ITEM_VERIFIED:
            return url_for("rectification.show", item_id=n.record_id)
        case Kind.VISIT_LOGGED:
            return url_for("visits.show", visit_id=n.record_id)
        case Kind.DIAGNOSIS_RETURNED | Kind.DIAGNOSIS_ACCEPTED:
            return url_for("diagnosis.edit", case_id=case_id, round_=n.params.get("round"))
        case Kind.PLAN_APPROVED | Kind.PLAN_RETURNED:
            return url_for("plan.version", case_id=case_id, number=n.params.get("version"))
        case Kind.TRAINING_INVITED:
            return url_for("training.show", session_id=n.record_id)
    return url_for("cases.show", case_id=case_id)
