"""The rectification checklist (整改清单): the firm's work and evidence, the experts' check."""

from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from sqlmodel import func, select
from werkzeug.datastructures import FileStorage

from pilot.accounts.models import Role, User
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment
from pilot.database import local_zone, today
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected, save_upload
from pilot.firms.models import Firm
from pilot.frameworks.models import FrameworkItem
from pilot.permissions import can, get_case_or_404, visible_cases_query
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

bp = Blueprint("rectification", __name__)

#: StoredFile.owner_type of an item's evidence.
EVIDENCE = "item"
#: How many of the next due items the case page's card lists.
NEXT_DUE = 3

STATUS_LABELS = services.ITEM_STATUS_LABELS

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


is_overdue = services.is_overdue


@dataclass
class Row:
    item: RectificationItem
    overdue: bool
    days_late: int
    evidence: int


def _labels() -> dict:
    return {"status_labels": STATUS_LABELS, "severity_labels": SEVERITY_LABELS}


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


def _row(item: RectificationItem, evidence: int, on: date) -> Row:
    overdue = is_overdue(item, on)
    return Row(item, overdue, (on - item.due_date).days if overdue else 0, evidence)


# The case page's card ---------------------------------------------------------------------------


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None."""
    on = today()
    counts = dict(
        db.session.exec(
            select(RectificationItem.status, func.count())
            .where(RectificationItem.case_id == case.id)
            .group_by(RectificationItem.status)
        ).all()
    )
    pending = select(RectificationItem).where(
        RectificationItem.case_id == case.id,
        RectificationItem.status.in_(services.WORKABLE),
    )
    next_due = db.session.exec(
        pending.order_by(RectificationItem.due_date, RectificationItem.id).limit(NEXT_DUE)
    ).all()
    overdue = db.session.exec(
        select(func.count()).select_from(pending.where(RectificationItem.due_date < on).subquery())
    ).one()
    total = sum(counts.values())
    closed = counts.get(ItemStatus.VERIFIED, 0) + counts.get(ItemStatus.WAIVED, 0)
    return {
        "template": "rectification/_section.html",
        "L": _labels(),
        "counts": counts,
        "total": total,
        "closed": closed,
        "overdue": overdue,
        "next_due": [_row(item, 0, on) for item in next_due],
        "statuses": [s for _code, _label, group in GROUPS for s in group if counts.get(s)],
    }


# The checklist ----------------------------------------------------------------------------------


def _render_checklist(case: Case, add_form: AddItemForm | None = None, status: int = 200):
    on = today()
    items = services.items_of(db.session, case.id)
    evidence = _evidence_counts(case.id)
    rows = [_row(item, evidence.get(item.id, 0), on) for item in items]
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
        L=_labels(),
        case=case,
        groups=groups,
        total=len(items),
        closed=closed,
        overdue=sum(1 for r in rows if r.overdue),
        add_form=add_form,
        evidence_required=case.batch.evidence_required,
    ), status


@bp.get("/cases/<int:case_id>/items")
@login_required
def checklist(case_id: int):
    case = get_case_or_404(case_id)
    return _render_checklist(case)


@bp.post("/cases/<int:case_id>/items")
@login_required
def add(case_id: int):
    case = get_case_or_404(case_id, "add_item")
    form = AddItemForm()
    if form.validate_on_submit():
        try:
            item = services.add_item(
                db.session,
                current_user,
                case,
                description=form.description.data or "",
                severity=form.severity.data,
                due_date=form.due_date.data,
                today=today(),
            )
        except services.ItemError as error:
            db.session.rollback()
            form[error.field if error.field in form else "description"].errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The item was added to the checklist."), "success")
            return redirect(
                url_for("rectification.checklist", case_id=case.id, _anchor=f"item-{item.id}")
            )
    return _render_checklist(case, add_form=form, status=400)


# One item ---------------------------------------------------------------------------------------


def _load(item_id: int, action: str = "view_case") -> tuple[RectificationItem, Case]:
    """The item and its case for the current user: 404 if they may not see it, 403 if they may
    not act."""
    item = db.session.get(RectificationItem, item_id)
    if item is None:
        abort(404)
    return item, get_case_or_404(item.case_id, action)


def _to_item(item: RectificationItem, anchor: str | None = None):
    return redirect(url_for("rectification.show", item_id=item.id, _anchor=anchor))


def _render_item(
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
        "L": _labels(),
        "item": item,
        "case": case,
        "row": _row(item, len(evidence), today()),
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


@bp.get("/items/<int:item_id>")
@login_required
def show(item_id: int):
    item, case = _load(item_id)
    return _render_item(item, case)


@bp.post("/items/<int:item_id>/work")
@login_required
def work(item_id: int):
    item, case = _load(item_id, "work_item")
    form = WorkForm()
    if not form.validate_on_submit():
        return _render_item(item, case, work_form=form, status=400)
    try:
        services.work(
            db.session,
            current_user,
            item,
            version=form.version.data,
            note=form.note.data or "",
            **{name: getattr(form, name).data or "" for name in WORK_FIELDS},
        )
    except services.ItemConflict as conflict:
        db.session.rollback()
        # Keep the user's input; the next save is made on the version now shown beside it.
        form.version.set(item.version)
        return _render_item(item, case, work_form=form, conflict=str(conflict), status=409)
    except services.ItemError as error:
        db.session.rollback()
        if error.field in form:
            form[error.field].errors.append(str(error))
            return _render_item(item, case, work_form=form, status=400)
        flash(str(error), "error")
        return _render_item(item, case, work_form=form, status=409)
    db.session.commit()
    flash(_("Your changes were saved."), "success")
    return _to_item(item)


def _distinct_names(uploads: list[FileStorage]) -> None:
    """Give files of the same name distinct names ("image.jpg" twice from a phone), so the second
    is not kept as a new version of the first. A later upload of the same name is a new version."""
    used: set[str] = set()
    for upload in uploads:
        name = PurePath((upload.filename or "").replace("\\", "/")).name
        stem, dot, suffix = name.rpartition(".")
        stem, suffix = (stem, dot + suffix) if dot and stem else (name, "")
        candidate, number = name, 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{stem} ({number}){suffix}"
        used.add(candidate.lower())
        upload.filename = candidate


@bp.post("/items/<int:item_id>/evidence")
@login_required
def upload(item_id: int):
    item, case = _load(item_id, "work_item")
    form = EvidenceForm()
    if not form.validate_on_submit():
        return _render_item(item, case, evidence_form=form, status=400)
    uploads = form.chosen()
    _distinct_names(uploads)
    try:
        services.started(db.session, current_user, item)
        for upload in uploads:
            shown = upload.filename
            try:
                save_upload(
                    db.session,
                    current_user,
                    upload,
                    owner_type=EVIDENCE,
                    owner_id=item.id,
                    case_id=case.id,
                )
            except FileRejected as error:
                raise FileRejected(f"{shown}: {error}") from error
    except services.ItemError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _to_item(item)
    except FileRejected as error:
        db.session.rollback()
        form.files.errors.append(
            _("%(error)s Nothing was saved: choose the files again.", error=error)
        )
        return _render_item(item, case, evidence_form=form, status=400)
    db.session.commit()
    flash(ngettext("%(num)d file was added.", "%(num)d files were added.", len(uploads)), "success")
    return _to_item(item, "evidence")


@bp.post("/items/<int:item_id>/submit")
@login_required
def submit(item_id: int):
    item, case = _load(item_id, "work_item")
    form = SubmitForm()
    if not form.validate_on_submit():
        form.form_errors.append(_("The page was out of date: try again."))
        return _render_item(item, case, submit_form=form, status=400)
    try:
        services.submit(
            db.session,
            current_user,
            item,
            evidence_required=case.batch.evidence_required,
            version=form.version.data,
        )
    except services.ItemConflict:
        db.session.rollback()
        flash(_("The item changed since you opened it: check it, then submit it again."), "error")
        return _to_item(item)
    except services.ItemError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        form.version.set(item.version)
        return _render_item(item, case, submit_form=form, status=400)
    db.session.commit()
    flash(_("Submitted: the expert will verify the evidence."), "success")
    return _to_item(item)


# The expert's verification and staff's waiver ---------------------------------------------------


def _back(item: RectificationItem, back: str | None):
    """Back to the verification queue when the button sat there, else to the item."""
    if back == "queue":
        return redirect(url_for("rectification.queue"))
    return _to_item(item)


@bp.post("/items/<int:item_id>/verify")
@login_required
def verify(item_id: int):
    item, case = _load(item_id, "verify_item")
    form = VerifyForm()
    form.validate_on_submit()  # only the CSRF token and where to go back to
    try:
        services.verify(db.session, current_user, item)
    except services.ItemError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The item is verified."), "success")
    return _back(item, form.back.data)


def _refuse(form, item: RectificationItem, case: Case, message: str | None, **forms):
    """A reason form that failed: the queue gets a message, the item page the form again."""
    if message:
        form.reason.errors.append(message)
    back = getattr(form, "back", None)
    if back is not None and back.data == "queue":
        flash(form.reason.errors[0] if form.reason.errors else _("Give a reason."), "error")
        return _back(item, "queue")
    return _render_item(item, case, status=400, **forms)


@bp.post("/items/<int:item_id>/return")
@login_required
def return_item(item_id: int):
    item, case = _load(item_id, "verify_item")
    form = ReturnForm()
    if not form.validate_on_submit():
        return _refuse(form, item, case, None, return_form=form)
    try:
        services.return_item(db.session, current_user, item, form.reason.data or "")
    except services.ItemError as error:
        db.session.rollback()
        if error.field == "reason":
            return _refuse(form, item, case, str(error), return_form=form)
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The item was returned to the firm with your reason."), "success")
    return _back(item, form.back.data)


@bp.post("/items/<int:item_id>/waive")
@login_required
def waive(item_id: int):
    item, case = _load(item_id, "waive_item")
    form = WaiveForm()
    if not form.validate_on_submit():
        return _refuse(form, item, case, None, waive_form=form)
    try:
        services.waive(db.session, current_user, item, form.reason.data or "")
    except services.ItemError as error:
        db.session.rollback()
        if error.field == "reason":
            return _refuse(form, item, case, str(error), waive_form=form)
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The item was waived."), "success")
    return _to_item(item)


# The verification queue -------------------------------------------------------------------------


@bp.get("/verification")
@login_required
def queue():
    """Submitted items waiting for an expert, oldest first: an expert's own cases; staff see every
    case (read-only here) to follow up on experts."""
    if current_user.role != Role.EXPERT and not current_user.is_staff:
        abort(404)
    visible = visible_cases_query(current_user).with_only_columns(Case.id)
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
    entries = [
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
            "may_verify": can(current_user, "verify_item", case),
        }
        for item, case, firm, batch in rows
    ]
    return render_template(
        "rectification/queue.html",
        L=_labels(),
        entries=entries,
        verify_form=VerifyForm(formdata=None, back="queue"),
        return_form=ReturnForm(formdata=None, back="queue"),
    )
