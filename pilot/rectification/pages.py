"""What the rectification pages show: the checklist's groups, one item with its evidence and
notes, and the experts' verification queue."""

from dataclasses import dataclass
from datetime import date

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.cases.models import Case
from pilot.database import today
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.extensions import db
from pilot.frameworks.models import FrameworkItem
from pilot.permissions import can, may_act_somewhere
from pilot.rectification import services
from pilot.rectification.forms import (
    AddItemForm,
    EvidenceForm,
    ReturnForm,
    SubmitForm,
    VerifyForm,
    WaiveForm,
    WorkForm,
)
from pilot.rectification.models import ItemNote, ItemStatus, RectificationItem
from pilot.rectification.queries import evidence_counts, queue_entries

#: The checklist's groups, in the order a firm acts on them: what was returned needs its action
#: first, then what is still to do, then what waits for the expert, then what is finished.
GROUPS = (
    ("returned", _l("Returned: more is needed"), (ItemStatus.RETURNED,)),
    ("active", _l("To do"), (ItemStatus.OPEN, ItemStatus.IN_PROGRESS)),
    ("submitted", _l("Awaiting verification"), (ItemStatus.SUBMITTED,)),
    ("closed", _l("Verified or waived"), (ItemStatus.VERIFIED, ItemStatus.WAIVED)),
)

WORK_FIELDS = {
    "root_cause": _l("Root cause"),
    "measure": _l("Corrective measure"),
    "owner_name": _l("Responsible person"),
    "owner_dept": _l("Department"),
}


@dataclass
class Row:
    item: RectificationItem
    overdue: bool
    days_late: int
    evidence: int

    # Where the item stands, for the templates (they never compare status strings).
    @property
    def returned(self) -> bool:
        return self.item.status == ItemStatus.RETURNED

    @property
    def submitted(self) -> bool:
        return self.item.status == ItemStatus.SUBMITTED

    @property
    def verified(self) -> bool:
        return self.item.status == ItemStatus.VERIFIED

    @property
    def waived(self) -> bool:
        return self.item.status == ItemStatus.WAIVED


def labels() -> dict:
    """Words the rectification templates use (`L` in them)."""
    return {"status_labels": services.ITEM_STATUS_LABELS, "severity_labels": SEVERITY_LABELS}


def row(item: RectificationItem, evidence: int, on: date) -> Row:
    overdue = services.is_overdue(item, on)
    return Row(item, overdue, (on - item.due_date).days if overdue else 0, evidence)


# The checklist ----------------------------------------------------------------------------------


def render_checklist(case: Case, add_form: AddItemForm | None = None, status: int = 200):
    on = today()
    items = services.items_of(db.session, case.id)
    evidence = evidence_counts(case.id)
    rows = [row(item, evidence.get(item.id, 0), on) for item in items]
    groups = []
    for code, label, statuses in GROUPS:
        members = [r for r in rows if r.item.status in statuses]
        members.sort(key=lambda r: (not r.overdue, r.item.due_date, r.item.id))
        groups.append({"code": code, "label": label, "rows": members})
    if add_form is None and can(current_user, "add_item", case):
        add_form = AddItemForm(formdata=None)
    closed = sum(1 for item in items if item.is_closed)
    return render_template(
        "rectification/checklist.html",
        L=labels(),
        case=case,
        groups=groups,
        total=len(items),
        closed=closed,
        overdue=sum(1 for r in rows if r.overdue),
        add_form=add_form,
        evidence_required=case.batch.evidence_required,
        verifies_items=may_act_somewhere(current_user, "verify_item"),
    ), status


# One item ---------------------------------------------------------------------------------------


def render_item(
    item: RectificationItem,
    case: Case,
    *,
    work_form: WorkForm | None = None,
    evidence_form: EvidenceForm | None = None,
    submit_form: SubmitForm | None = None,
    return_form: ReturnForm | None = None,
    waive_form: WaiveForm | None = None,
    conflict: str | None = None,
    status: int = 200,
):
    may_work = can(current_user, "work_item", case) and item.status in services.WORKABLE
    may_verify = can(current_user, "verify_item", case) and item.status == ItemStatus.SUBMITTED
    may_waive = can(current_user, "waive_item", case) and not item.is_closed
    evidence = services.evidence_of(db.session, item)
    notes = db.session.exec(
        select(ItemNote).where(ItemNote.item_id == item.id).order_by(ItemNote.id)
    ).all()
    people_ids = {item.created_by_id, item.verified_by_id}
    people_ids |= {n.author_id for n in notes} | {f.uploaded_by_id for f in evidence}
    people = people_by_id(db.session, people_ids)
    framework_item = (
        db.session.get(FrameworkItem, item.framework_item_id) if item.framework_item_id else None
    )
    context = {
        "L": labels(),
        "item": item,
        "case": case,
        "row": row(item, len(evidence), today()),
        "evidence": evidence,
        "notes": notes,
        "people": people,
        "framework_item": framework_item,
        "evidence_required": case.batch.evidence_required,
        "may_work": may_work,
        "may_verify": may_verify,
        "may_waive": may_waive,
        "conflict": conflict,
        "work_fields": WORK_FIELDS,
        # Input a refused save would otherwise lose, when the form itself is no longer offered.
        "unsaved": work_form if work_form is not None and not may_work else None,
    }
    if may_work:
        context["work_form"] = work_form or WorkForm(formdata=None, obj=item)
        context["evidence_form"] = evidence_form or EvidenceForm(formdata=None)
        context["submit_form"] = submit_form or SubmitForm(formdata=None, version=item.version)
    if may_verify:
        context["verify_form"] = VerifyForm(formdata=None)
        context["return_form"] = return_form or ReturnForm(formdata=None)
    if may_waive:
        context["waive_form"] = waive_form or WaiveForm(formdata=None)
    return render_template("rectification/show.html", **context), status


def render_queue(user: User):
    """Submitted items waiting for an expert, with the forms to verify or return each."""
    return render_template(
        "rectification/queue.html",
        L=labels(),
        overseeing=user.is_staff,
        entries=queue_entries(user),
        verify_form=VerifyForm(formdata=None, back="queue"),
        return_form=ReturnForm(formdata=None, back="queue"),
    )
