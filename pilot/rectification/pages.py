"""What the rectification pages show: the checklist's groups, one item with its evidence and
notes, and the experts' verification queue."""

from dataclasses import dataclass
from datetime import date

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from sqlmodel import func, select

from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment
from pilot.database import local_zone, today
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.firms.models import Firm
from pilot.frameworks.models import FrameworkItem
from pilot.permissions import can, may_act_somewhere, visible_cases_query
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

#: StoredFile.owner_type of an item's evidence.
EVIDENCE = "item"

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


def _evidence_counts(case_id: int) -> dict[int, int]:
    """Current evidence files per item of the case, in one grouped query."""
    return dict(
        db.session.exec(
            select(StoredFile.owner_id, func.count())
            .where(StoredFile.case_id == case_id, StoredFile.owner_type == EVIDENCE)
            .where(StoredFile.is_current)
            .group_by(StoredFile.owner_id)
        ).all()
    )


def row(item: RectificationItem, evidence: int, on: date) -> Row:
    overdue = services.is_overdue(item, on)
    return Row(item, overdue, (on - item.due_date).days if overdue else 0, evidence)


# The checklist ----------------------------------------------------------------------------------


def render_checklist(case: Case, add_form: AddItemForm | None = None, status: int = 200):
    on = today()
    items = services.items_of(db.session, case.id)
    evidence = _evidence_counts(case.id)
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
    people_ids.discard(None)
    people = {u.id: u for u in db.session.exec(select(User).where(User.id.in_(people_ids))).all()}
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


# The verification queue -------------------------------------------------------------------------


def queue_entries(user: User) -> list[dict]:
    """Submitted items of the cases the user sees, still in the pilot, oldest submission first,
    each with its case, firm, batch, current evidence and days waiting."""
    visible = visible_cases_query(user).with_only_columns(Case.id)
    rows = db.session.exec(
        select(RectificationItem, Case, Firm, Batch)
        .join(Case, Case.id == RectificationItem.case_id)
        .join(Firm, Firm.id == Case.firm_id)
        .join(Batch, Batch.id == Case.batch_id)
        .where(RectificationItem.status == ItemStatus.SUBMITTED)
        .where(Case.id.in_(visible))
        .where(Case.withdrawn_at.is_(None), Case.closed_at.is_(None))
        .options(selectinload(Case.assignments).selectinload(ExpertAssignment.expert))
        .order_by(RectificationItem.submitted_at, RectificationItem.id)
    ).all()
    ids = [item.id for item, *_rest in rows]
    evidence: dict[int, list[StoredFile]] = {}
    if ids:
        for stored in db.session.exec(
            select(StoredFile)
            .where(StoredFile.owner_type == EVIDENCE, StoredFile.owner_id.in_(ids))
            .where(StoredFile.is_current)
            .order_by(StoredFile.id)
        ).all():
            evidence.setdefault(stored.owner_id, []).append(stored)
    on, zone = today(), local_zone()
    return [
        {
            "item": item,
            "case": case,
            "firm": firm,
            "batch": batch,
            "evidence": evidence.get(item.id, []),
            # Never negative, should the clock and a pinned "today" disagree (the demo).
            "waiting": max((on - item.submitted_at.astimezone(zone).date()).days, 0)
            if item.submitted_at
            else 0,
            "may_verify": can(user, "verify_item", case),
        }
        for item, case, firm, batch in rows
    ]
