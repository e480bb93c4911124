"""Stage 5's pages: the lead expert drafts the follow-up service plan, staff approve (认定) it.

The lead writes to the newest version while it is a draft or returned; the first write opens
version 1, and after an approval "start a new version" opens a copy that needs approval again.
A submitted or approved version is frozen for everyone. Every version stays readable; the firm
sees approved versions only: any other answers 404 to it, as a case it may not see does.

What the pages read is in queries.py, what they show in pages.py, the case page's card in
sections.py.
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from pilot.cases.models import Case
from pilot.diagnosis.services import targets_of
from pilot.extensions import db
from pilot.forms import keep_input
from pilot.permissions import can, can_read_plan_version, get_case_or_404
from pilot.plan import services
from pilot.plan.forms import (
    ButtonForm,
    PlanTextForm,
    ReturnForm,
    ReviewForm,
    action_form,
    revision_form,
    seen_token,
)
from pilot.plan.models import FollowUpPlan, PlanStatus
from pilot.plan.pages import details, render_page
from pilot.plan.queries import in_force, versions_of

bp = Blueprint("plan", __name__)


def _back(case: Case, anchor: str = ""):
    return redirect(url_for("plan.edit", case_id=case.id) + anchor)


# Reading ----------------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/plan")
@login_required
def edit(case_id: int):
    case = get_case_or_404(case_id)
    if not can(current_user, "view_drafts", case):
        # The firm reads the plan in force, never a draft.
        approved = services.approved_plan(db.session, case)
        if approved is None:
            abort(404)
        return redirect(url_for("plan.version", case_id=case.id, number=approved.version))
    return render_page(case)


@bp.get("/cases/<int:case_id>/plan/versions/<int:number>")
@login_required
def version(case_id: int, number: int):
    case = get_case_or_404(case_id)
    sees_drafts = can(current_user, "view_drafts", case)
    versions = [v for v in versions_of(case) if can_read_plan_version(current_user, case, v)]
    plan = next((v for v in versions if v.version == number), None)
    if plan is None:
        abort(404)
    return render_template(
        "plan/version.html",
        case=case,
        plan=plan,
        versions=versions,
        in_force=in_force(versions),
        sees_drafts=sees_drafts,
        answered={a.finding_id for a in plan.actions if a.finding_id},
        **details(case, versions),
    )


# Drafting (the lead expert) ---------------------------------------------------------------------


def _open_version(case: Case) -> tuple[FollowUpPlan | None, str | None]:
    """The version the lead writes to (None: the first write opens version 1), or the service's
    reason why nothing can be written now."""
    try:
        return services.open_version(db.session, case), None
    except services.PlanError as error:
        return None, str(error)


def _refused(case: Case, error: services.PlanError, form, form_name: str, anchor: str):
    """A service refusal: on its field when the form has it, else as a message."""
    db.session.rollback()
    if error.field and error.field in form:
        form[error.field].errors.append(str(error))
        return render_page(case, status=400, **{form_name: form})
    flash(str(error), "error")
    return _back(case, anchor)


def _collided(case: Case):
    """Two first writes at once (a double click, two tabs) both opened the same new version:
    the unique (case, version) refused the second. Nothing of it was kept."""
    db.session.rollback()
    flash(_("The plan was changed at the same moment elsewhere. Check it and try again."), "error")
    return _back(case)


@bp.post("/cases/<int:case_id>/plan/save")
@login_required
def save(case_id: int):
    case = get_case_or_404(case_id, "draft_plan")
    plan, refusal = _open_version(case)
    if refusal:
        flash(refusal, "error")
        return _back(case)
    form = PlanTextForm()
    if not form.validate_on_submit():
        return render_page(case, status=400, text_form=form)
    try:
        plan = plan or services.draft(db.session, current_user, case)
        services.save_text(
            db.session,
            current_user,
            plan,
            summary=form.summary.data or "",
            further_service=form.further_service.data or "",
            version=form.edit_version.data,
        )
    except services.PlanConflict as conflict:
        db.session.rollback()
        keep_input(form.edit_version, conflict)
        return render_page(case, status=409, text_form=form)
    except services.PlanError as error:
        return _refused(case, error, form, "text_form", "#text")
    except IntegrityError:
        return _collided(case)
    db.session.commit()
    flash(_("The plan was saved."), "success")
    return _back(case, "#text")


@bp.post("/cases/<int:case_id>/plan/actions")
@login_required
def add_action(case_id: int):
    case = get_case_or_404(case_id, "draft_plan")
    plan, refusal = _open_version(case)
    if refusal:
        flash(refusal, "error")
        return _back(case)
    form = action_form(services.carried_findings(db.session, case))
    if not form.validate_on_submit():
        return render_page(case, status=400, action_form=form)
    data = services.ActionInput(
        what=form.what.data,
        owner=form.owner.data,
        start_date=form.start_date.data,
        due_date=form.due_date.data,
        finding_id=form.finding_id.data or None,
    )
    try:
        plan = plan or services.draft(db.session, current_user, case)
        services.add_action(db.session, current_user, plan, data)
    except services.PlanError as error:
        return _refused(case, error, form, "action_form", "#actions")
    except IntegrityError:
        return _collided(case)
    db.session.commit()
    flash(_("Action added."), "success")
    return _back(case, "#actions")


@bp.post("/cases/<int:case_id>/plan/actions/<int:action_id>/remove")
@login_required
def remove_action(case_id: int, action_id: int):
    case = get_case_or_404(case_id, "draft_plan")
    plan, refusal = _open_version(case)
    if refusal:
        flash(refusal, "error")
        return _back(case)
    action = next((a for a in plan.actions if a.id == action_id), None) if plan else None
    # Gone meanwhile (removed in another tab), or of another version: a message, no error page.
    if action is None or not ButtonForm().validate_on_submit():
        flash(_("There is no such action in the version being drafted."), "error")
        return _back(case, "#actions")
    try:
        services.remove_action(db.session, current_user, plan, action)
    except services.PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Action removed."), "success")
    return _back(case, "#actions")


@bp.post("/cases/<int:case_id>/plan/revisions")
@login_required
def revise_target(case_id: int):
    case = get_case_or_404(case_id, "draft_plan")
    plan, refusal = _open_version(case)
    if refusal:
        flash(refusal, "error")
        return _back(case)
    form = revision_form(targets_of(db.session, case))
    if not form.validate_on_submit():
        return render_page(case, status=400, revision_form=form)
    try:
        plan = plan or services.draft(db.session, current_user, case)
        services.revise_target(
            db.session,
            current_user,
            plan,
            target_id=form.target_id.data,
            new_target=form.new_target.data,
            new_date=form.new_date.data,
            reason=form.reason.data,
        )
    except services.PlanError as error:
        return _refused(case, error, form, "revision_form", "#revisions")
    except IntegrityError:
        return _collided(case)
    db.session.commit()
    flash(_("The proposed revision of the work target was saved."), "success")
    return _back(case, "#revisions")


@bp.post("/cases/<int:case_id>/plan/revisions/<int:revision_id>/remove")
@login_required
def remove_revision(case_id: int, revision_id: int):
    case = get_case_or_404(case_id, "draft_plan")
    plan, refusal = _open_version(case)
    if refusal:
        flash(refusal, "error")
        return _back(case)
    revision = next((r for r in plan.revisions if r.id == revision_id), None) if plan else None
    if revision is None or not ButtonForm().validate_on_submit():
        flash(_("There is no such revision in the version being drafted."), "error")
        return _back(case, "#revisions")
    try:
        services.remove_revision(db.session, current_user, plan, revision)
    except services.PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The proposed revision was removed."), "success")
    return _back(case, "#revisions")


@bp.post("/cases/<int:case_id>/plan/submit")
@login_required
def submit(case_id: int):
    case = get_case_or_404(case_id, "draft_plan")
    plan, refusal = _open_version(case)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if refusal:
        flash(refusal, "error")
        return _back(case)
    if plan is None:
        flash(_("Add at least one action before submitting."), "error")
        return _back(case, "#submit")
    try:
        services.submit(db.session, current_user, plan)
    except services.PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case, "#submit")
    db.session.commit()
    flash(_("The plan was submitted to the bureau for approval."), "success")
    return _back(case)


@bp.post("/cases/<int:case_id>/plan/new-version")
@login_required
def new_version(case_id: int):
    case = get_case_or_404(case_id, "draft_plan")
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        plan = services.start_new_version(db.session, current_user, case)
    except services.PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case)
    except IntegrityError:
        return _collided(case)
    db.session.commit()
    if plan.version == 1:
        flash(_("Version 1 of the plan was started."), "success")
    else:
        flash(
            _(
                "Version %(num)d was started as a copy of the approved plan; it needs approval "
                "again. Version %(old)d stays in force until then.",
                num=plan.version,
                old=plan.version - 1,
            ),
            "success",
        )
    return _back(case)


# Approving (认定) and returning (staff) ----------------------------------------------------------


def _submitted(case: Case) -> FollowUpPlan | None:
    versions = versions_of(case)
    latest = versions[0] if versions else None
    return latest if latest is not None and latest.status == PlanStatus.SUBMITTED else None


def _stale():
    flash(_("The plan changed since you opened it: look at it again before deciding."), "error")


@bp.post("/cases/<int:case_id>/plan/approve")
@login_required
def approve(case_id: int):
    case = get_case_or_404(case_id, "approve_plan")
    plan = _submitted(case)
    if plan is None:
        flash(_("Only a submitted plan can be approved."), "error")
        return _back(case)
    form = ReviewForm(prefix="review")
    if not form.validate_on_submit() or form.seen.data != seen_token(plan):
        _stale()
        return _back(case)
    try:
        services.approve(db.session, current_user, plan)
    except services.PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case)
    db.session.commit()
    flash(_("Version %(num)d of the plan was approved.", num=plan.version), "success")
    return _back(case)


@bp.post("/cases/<int:case_id>/plan/return")
@login_required
def return_plan(case_id: int):
    case = get_case_or_404(case_id, "approve_plan")
    plan = _submitted(case)
    if plan is None:
        flash(_("Only a submitted plan can be returned."), "error")
        return _back(case)
    form = ReturnForm(prefix="return")
    if not form.validate_on_submit():
        return render_page(case, status=400, return_form=form)
    if form.seen.data != seen_token(plan):
        _stale()
        return _back(case)
    try:
        services.return_plan(db.session, current_user, plan, form.comment.data)
    except services.PlanError as error:
        return _refused(case, error, form, "return_form", "#review")
    db.session.commit()
    flash(_("The plan was returned to the experts."), "success")
    return _back(case)
