"""Stage 5's pages: the lead expert drafts the follow-up service plan, staff approve (认定) it.

The lead writes to the newest version while it is a draft or returned; the first write opens
version 1, and after an approval "start a new version" opens a copy that needs approval again.
A submitted or approved version is frozen for everyone. Every version stays readable; the firm
sees approved versions only: any other answers 404 to it, as a case it may not see does.
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pilot.accounts.models import User
from pilot.cases.models import Case
from pilot.diagnosis.forms import DIRECTION_LABELS
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding, Round, WorkTarget
from pilot.diagnosis.services import SEVERITY_LABELS, targets_of
from pilot.diagnosis.views import number
from pilot.extensions import db
from pilot.forms import choices
from pilot.permissions import can, get_case_or_404
from pilot.plan import services
from pilot.plan.forms import (
    ButtonForm,
    PlanActionForm,
    PlanTextForm,
    ReturnForm,
    ReviewForm,
    RevisionForm,
)
from pilot.plan.models import FollowUpPlan, PlanStatus

bp = Blueprint("plan", __name__)

STATUS_LABELS = {
    PlanStatus.DRAFT: _l("Draft"),
    PlanStatus.SUBMITTED: _l("Submitted"),
    PlanStatus.RETURNED: _l("Returned"),
    PlanStatus.APPROVED: _l("Approved"),
}


def _labels() -> dict:
    """Words and formatters the plan templates use."""
    return {
        "status": STATUS_LABELS,
        "severity": SEVERITY_LABELS,
        "direction": DIRECTION_LABELS,
        "number": number,
    }


# Loading ----------------------------------------------------------------------------------------


def _versions(case: Case) -> list[FollowUpPlan]:
    """Every version, newest first, with actions and revisions (three queries)."""
    return services.versions_of(db.session, case)


def _in_force(versions: list[FollowUpPlan]) -> FollowUpPlan | None:
    return next((v for v in versions if v.status == PlanStatus.APPROVED), None)


def _baseline_accepted(case: Case) -> bool:
    status = db.session.exec(
        select(Diagnosis.status).where(
            Diagnosis.case_id == case.id, Diagnosis.round == Round.BASELINE
        )
    ).first()
    return status == DiagnosisStatus.ACCEPTED


def _people(versions: list[FollowUpPlan]) -> dict[int, User]:
    """Who drafted and who approved each version, in one query."""
    ids = {v.created_by_id for v in versions} | {v.approved_by_id for v in versions}
    ids.discard(None)
    if not ids:
        return {}
    return {u.id: u for u in db.session.exec(select(User).where(User.id.in_(ids))).all()}


def _details(case: Case, versions: list[FollowUpPlan], drafting: bool = False) -> dict:
    """What the plan pages show beside the versions: people, carried findings, targets.

    Findings and targets are loaded when a version refers to them, or for drafting, whose forms
    offer them all.
    """
    carried: list[Finding] = (
        services.carried_findings(db.session, case) if versions or drafting else []
    )
    has_revisions = any(v.revisions for v in versions)
    targets = targets_of(db.session, case) if has_revisions or drafting else []
    return {
        "L": _labels(),
        "people": _people(versions),
        "carried": carried,
        "findings": {f.id: f for f in carried},
        "targets": {t.id: t for t in targets},
    }


def seen_token(plan: FollowUpPlan) -> str:
    """What staff looked at: the version and its submission. A plan returned and submitted
    again meanwhile has another token, so a decision is never taken on a page gone stale."""
    stamp = plan.submitted_at.isoformat() if plan.submitted_at else ""
    return f"{plan.version}@{stamp}"


# Forms bound to the case ------------------------------------------------------------------------


def _action_form(carried: list[Finding], **kwargs) -> PlanActionForm:
    form = PlanActionForm(prefix="action", **kwargs)
    form.finding_id.choices = choices(
        [(0, _("— none: an action of its own —"))]
        + [
            (f.id, f"[{SEVERITY_LABELS.get(f.severity, f.severity)}] {_short(f.description)}")
            for f in carried
        ]
    )
    return form


def _revision_form(targets: list[WorkTarget], **kwargs) -> RevisionForm:
    form = RevisionForm(prefix="revision", **kwargs)
    form.target_id.choices = choices(
        [(0, "—")]
        + [
            (
                t.id,
                _(
                    "%(name)s: %(target)s %(unit)s by %(date)s",
                    name=t.name,
                    target=number(t.target),
                    unit=t.unit,
                    date=t.target_date.isoformat(),
                ),
            )
            for t in targets
        ]
    )
    return form


def _short(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


# The working page -------------------------------------------------------------------------------


def _render(case: Case, status: int = 200, **forms):
    """The plan's working page: the newest version, editable for the lead while it is open."""
    versions = _versions(case)
    latest = versions[0] if versions else None
    accepted = _baseline_accepted(case)
    may_draft = can(current_user, "draft_plan", case)
    editable = may_draft and accepted and (latest is None or not latest.is_frozen)
    reviewable = (
        latest is not None
        and latest.status == PlanStatus.SUBMITTED
        and can(current_user, "approve_plan", case)
    )
    details = _details(case, versions, drafting=editable)
    if editable:
        forms.setdefault(
            "text_form",
            PlanTextForm(
                formdata=None,
                data={
                    "summary": latest.summary if latest else "",
                    "further_service": latest.further_service if latest else "",
                },
            ),
        )
        forms.setdefault("action_form", _action_form(details["carried"], formdata=None))
        forms.setdefault(
            "revision_form", _revision_form(list(details["targets"].values()), formdata=None)
        )
        forms["button_form"] = ButtonForm(formdata=None)
    if reviewable:
        token = seen_token(latest)
        forms.setdefault(
            "review_form", ReviewForm(formdata=None, prefix="review", data={"seen": token})
        )
        forms.setdefault(
            "return_form", ReturnForm(formdata=None, prefix="return", data={"seen": token})
        )
    if may_draft and latest is not None and latest.status == PlanStatus.APPROVED:
        forms["button_form"] = ButtonForm(formdata=None)
    answered = {a.finding_id for a in latest.actions if a.finding_id} if latest else set()
    return render_template(
        "plan/edit.html",
        case=case,
        versions=versions,
        latest=latest,
        in_force=_in_force(versions),
        accepted=accepted,
        editable=editable,
        reviewable=reviewable,
        can_start_new=may_draft and latest is not None and latest.status == PlanStatus.APPROVED,
        answered=answered,
        seen=seen_token,
        **details,
        **forms,
    ), status


def _back(case: Case, anchor: str = ""):
    return redirect(url_for("plan.edit", case_id=case.id) + anchor)


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
    return _render(case)


@bp.get("/cases/<int:case_id>/plan/versions/<int:number>")
@login_required
def version(case_id: int, number: int):
    case = get_case_or_404(case_id)
    sees_drafts = can(current_user, "view_drafts", case)
    versions = [v for v in _versions(case) if sees_drafts or v.status == PlanStatus.APPROVED]
    plan = next((v for v in versions if v.version == number), None)
    if plan is None:
        abort(404)
    return render_template(
        "plan/version.html",
        case=case,
        plan=plan,
        versions=versions,
        in_force=_in_force(versions),
        sees_drafts=sees_drafts,
        answered={a.finding_id for a in plan.actions if a.finding_id},
        **_details(case, versions),
    )


# Drafting (the lead expert) ---------------------------------------------------------------------


def _open_version(case: Case) -> tuple[FollowUpPlan | None, str | None]:
    """The version the lead writes to (None: the first write opens version 1), or why nothing
    can be written now. A frozen version is never reopened here: only new_version does that."""
    versions = _versions(case)
    latest = versions[0] if versions else None
    if latest is None or not latest.is_frozen:
        return latest, None
    if latest.status == PlanStatus.SUBMITTED:
        return latest, _("The plan is waiting for approval and cannot be changed now.")
    return latest, _(
        "Version %(num)d is approved and cannot be changed: start a new version to change the "
        "plan.",
        num=latest.version,
    )


def _refused(case: Case, error: services.PlanError, form, form_name: str, anchor: str):
    """A service refusal: on its field when the form has it, else as a message."""
    db.session.rollback()
    if error.field and error.field in form:
        form[error.field].errors.append(str(error))
        return _render(case, status=400, **{form_name: form})
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
        return _render(case, status=400, text_form=form)
    try:
        plan = plan or services.draft(db.session, current_user, case)
        services.save_text(
            db.session,
            current_user,
            plan,
            summary=form.summary.data or "",
            further_service=form.further_service.data or "",
        )
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
    form = _action_form(services.carried_findings(db.session, case))
    if not form.validate_on_submit():
        return _render(case, status=400, action_form=form)
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
    form = _revision_form(targets_of(db.session, case))
    if not form.validate_on_submit():
        return _render(case, status=400, revision_form=form)
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
    versions = _versions(case)
    latest = versions[0] if versions else None
    if latest is not None and not latest.is_frozen:
        flash(_("Version %(num)d is already open for drafting.", num=latest.version), "error")
        return _back(case)
    try:
        plan = services.draft(db.session, current_user, case)
    except services.PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case)
    except IntegrityError:
        return _collided(case)
    db.session.commit()
    if latest is None:
        flash(_("Version 1 of the plan was started."), "success")
    else:
        flash(
            _(
                "Version %(num)d was started as a copy of the approved plan; it needs approval "
                "again. Version %(old)d stays in force until then.",
                num=plan.version,
                old=latest.version,
            ),
            "success",
        )
    return _back(case)


# Approving (认定) and returning (staff) ----------------------------------------------------------


def _submitted(case: Case) -> FollowUpPlan | None:
    versions = _versions(case)
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
        return _render(case, status=400, return_form=form)
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


# The case page ----------------------------------------------------------------------------------


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None.

    Every reader of the case sees the plan in force (the newest approved version): actions with
    owners and dates, revisions against the accepted targets, further service. Staff and the
    assigned experts also see where the newest version stands, with links; the firm sees no
    unapproved version at all, and no card until a version is approved.
    """
    versions = _versions(case)
    in_force = _in_force(versions)
    sees_drafts = can(current_user, "view_drafts", case)
    if not sees_drafts and in_force is None:
        return None
    latest = versions[0] if versions else None
    shown = [v for v in (latest, in_force) if v is not None and (sees_drafts or v is in_force)]
    return {
        "template": "plan/_section.html",
        "case": case,
        "in_force": in_force,
        "latest": latest if sees_drafts else in_force,
        "sees_drafts": sees_drafts,
        "can_draft": can(current_user, "draft_plan", case),
        "can_review": can(current_user, "approve_plan", case),
        "accepted": sees_drafts and latest is None and _baseline_accepted(case),
        **_details(case, shown),
    }
