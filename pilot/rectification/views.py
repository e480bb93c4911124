"""The rectification checklist (整改清单): the firm's work and evidence, the experts' check.

What the pages read is in queries.py, what they show in pages.py, the case page's card in
sections.py.
"""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from pilot.cases.models import Case
from pilot.database import today
from pilot.extensions import db
from pilot.files.store import FileRejected
from pilot.kept import kept_page
from pilot.permissions import can_see_verification_queue, get_case_or_404, get_on_case_or_404
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
from pilot.rectification.models import RectificationItem
from pilot.rectification.pages import (
    WORK_FIELDS,
    render_checklist,
    render_item,
    render_queue,
)
from pilot.submissions.services import AlreadySubmitted

bp = Blueprint("rectification", __name__)


# The checklist ----------------------------------------------------------------------------------


#: How many rendered checklists and verification queues each worker keeps.
KEPT_PAGES = 64


@bp.get("/cases/<int:case_id>/items")
@login_required
@kept_page("checklist", KEPT_PAGES)
def checklist(case_id: int):
    case = get_case_or_404(case_id)
    return render_checklist(case)


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
                token=form.token.data,
            )
        except AlreadySubmitted as sent:
            # A double click or a resent page: the first send added the item; show it.
            db.session.rollback()
            flash(_("This form was already sent: the item it added is shown."), "success")
            return redirect(
                url_for(
                    "rectification.checklist", case_id=case.id, _anchor=f"item-{sent.record_id}"
                )
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
    return render_checklist(case, add_form=form, status=400)


# One item ---------------------------------------------------------------------------------------


def _load(item_id: int, action: str = "view_case") -> tuple[RectificationItem, Case]:
    """The item and its case for the current user: 404 if they may not see it, 403 if they may
    not act."""
    return get_on_case_or_404(RectificationItem, item_id, action)


def _to_item(item: RectificationItem, anchor: str | None = None):
    return redirect(url_for("rectification.show", item_id=item.id, _anchor=anchor))


@bp.get("/items/<int:item_id>")
@login_required
def show(item_id: int):
    item, case = _load(item_id)
    return render_item(item, case)


@bp.post("/items/<int:item_id>/work")
@login_required
def work(item_id: int):
    item, case = _load(item_id, "work_item")
    form = WorkForm()
    if not form.validate_on_submit():
        return render_item(item, case, work_form=form, status=400)
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
        return render_item(item, case, work_form=form, conflict=str(conflict), status=409)
    except services.ItemError as error:
        db.session.rollback()
        if error.field in form:
            form[error.field].errors.append(str(error))
            return render_item(item, case, work_form=form, status=400)
        flash(str(error), "error")
        return render_item(item, case, work_form=form, status=409)
    db.session.commit()
    flash(_("Your changes were saved."), "success")
    return _to_item(item)


@bp.post("/items/<int:item_id>/evidence")
@login_required
def upload(item_id: int):
    item, case = _load(item_id, "work_item")
    form = EvidenceForm()
    if not form.validate_on_submit():
        return render_item(item, case, evidence_form=form, status=400)
    uploads = form.chosen()
    try:
        services.add_evidence(db.session, current_user, item, uploads)
    except services.ItemError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _to_item(item)
    except FileRejected as error:
        db.session.rollback()
        form.files.errors.append(
            _("%(error)s Nothing was saved: choose the files again.", error=error)
        )
        return render_item(item, case, evidence_form=form, status=400)
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
        return render_item(item, case, submit_form=form, status=400)
    try:
        services.submit(db.session, current_user, item, version=form.version.data)
    except services.ItemConflict:
        db.session.rollback()
        flash(_("The item changed since you opened it: check it, then submit it again."), "error")
        return _to_item(item)
    except services.ItemError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        form.version.set(item.version)
        return render_item(item, case, submit_form=form, status=400)
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
    return render_item(item, case, status=400, **forms)


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
@kept_page("verification", KEPT_PAGES)
def queue():
    """Submitted items waiting for an expert, oldest first: an expert's own cases; staff see every
    case (read-only here) to follow up on experts."""
    if not can_see_verification_queue(current_user):
        abort(404)
    return render_queue(current_user)
