"""The case page and staff's actions on a case."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from pilot.accounts.models import Role, User
from pilot.audit.entries import LogLine, readable_log
from pilot.audit.models import AuditLog
from pilot.cases import services
from pilot.cases.forms import DueDatesForm, ExpertsForm, ReasonForm
from pilot.database import today
from pilot.diagnosis.sections import case_section as diagnosis_section
from pilot.evaluation.sections import case_section as evaluation_section
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.forms import choices
from pilot.kept import kept_page
from pilot.permissions import can, get_case_or_404
from pilot.plan.sections import case_section as plan_section
from pilot.rectification.sections import case_section as rectification_section
from pilot.stages import BY_CODE, MANUAL_STAGES, progress_of
from pilot.survey.sections import case_section as survey_section
from pilot.training.sections import case_section as training_section
from pilot.visits.sections import case_section as visits_section

bp = Blueprint("cases", __name__, url_prefix="/cases")


def _case_log(case_id: int, public_only: bool) -> list[LogLine]:
    query = (
        select(AuditLog, User)
        .join(User, AuditLog.actor_id == User.id, isouter=True)
        .where(AuditLog.case_id == case_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
    )
    if public_only:
        query = query.where(AuditLog.public)
    return readable_log(db.session, db.session.exec(query).all())


#: How many rendered case pages each worker keeps (about 100 KB each).
KEPT_CASE_PAGES = 64


@bp.get("/<int:case_id>")
@login_required
@kept_page("case", KEPT_CASE_PAGES)
def show(case_id: int):
    case = get_case_or_404(case_id)
    documents = db.session.exec(
        select(StoredFile)
        .where(StoredFile.owner_type == "case", StoredFile.owner_id == case.id)
        .where(StoredFile.is_current)
        .order_by(StoredFile.uploaded_at.desc())
    ).all()
    sections = [
        section
        for section in (
            survey_section(case),
            visits_section(case),
            diagnosis_section(case),
            rectification_section(case),
            training_section(case),
            plan_section(case),
            evaluation_section(case),
        )
        if section
    ]
    return render_template(
        "cases/show.html",
        sections=sections,
        case=case,
        progress=progress_of(db.session, case, today()),
        log=_case_log(case.id, public_only=not can(current_user, "view_audit_log", case)),
        manual_stages=MANUAL_STAGES,
        documents=documents,
        form=ReasonForm(),
    )


def _back(case_id: int):
    return redirect(url_for("cases.show", case_id=case_id))


def _act(case_id: int, action: str, run, done_message: str):
    """Load and authorise, validate the reason, call the service, commit, redirect."""
    case = get_case_or_404(case_id, action)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason."), "error")
        return _back(case_id)
    try:
        run(case, form.reason.data)
    except services.CaseError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(done_message, "success")
    return _back(case_id)


@bp.post("/<int:case_id>/withdraw")
@login_required
def withdraw(case_id: int):
    return _act(
        case_id,
        "manage_cases",
        lambda case, reason: services.withdraw_case(db.session, current_user, case, reason),
        _("The case was withdrawn from the pilot."),
    )


@bp.post("/<int:case_id>/reinstate")
@login_required
def reinstate(case_id: int):
    return _act(
        case_id,
        "reopen_case",
        lambda case, reason: services.reinstate_case(db.session, current_user, case, reason),
        _("The case is back in the pilot."),
    )


@bp.post("/<int:case_id>/stages/<stage>/mark")
@login_required
def mark_stage(case_id: int, stage: str):
    if stage not in BY_CODE:
        abort(404)
    return _act(
        case_id,
        "mark_stage",
        lambda case, reason: services.mark_stage(db.session, current_user, case, stage, reason),
        _("Stage marked done."),
    )


@bp.post("/<int:case_id>/stages/<stage>/unmark")
@login_required
def unmark_stage(case_id: int, stage: str):
    if stage not in BY_CODE:
        abort(404)
    return _act(
        case_id,
        "mark_stage",
        lambda case, reason: services.unmark_stage(db.session, current_user, case, stage, reason),
        _("The mark was taken back; the stage is open again."),
    )


@bp.route("/<int:case_id>/due-dates", methods=["GET", "POST"])
@login_required
def due_dates(case_id: int):
    case = get_case_or_404(case_id, "manage_cases")
    form = DueDatesForm(obj=case if request.method == "GET" else None)
    if form.validate_on_submit():
        services.set_due_dates(db.session, current_user, case, form.data)
        db.session.commit()
        flash(_("Due dates saved."), "success")
        return _back(case_id)
    return render_template("cases/due_dates.html", case=case, form=form)


@bp.route("/<int:case_id>/experts", methods=["GET", "POST"])
@login_required
def experts(case_id: int):
    case = get_case_or_404(case_id, "manage_cases")
    form = ExpertsForm()
    experts = db.session.exec(
        select(User).where(User.role == Role.EXPERT, User.active).order_by(User.display_name)
    ).all()
    form.experts.choices = form.lead.choices = choices(
        (u.id, f"{u.display_name}（{u.organisation}）" if u.organisation else u.display_name)
        for u in experts
    )
    if request.method == "GET":
        form.experts.data = [a.expert_id for a in case.assignments]
        form.lead.data = case.lead_expert.id if case.lead_expert else None
    if form.validate_on_submit():
        try:
            services.assign_experts(
                db.session, current_user, case, form.experts.data, form.lead.data
            )
        except services.CaseError as error:
            db.session.rollback()
            form.lead.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Experts saved."), "success")
            return _back(case_id)
    return render_template("cases/experts.html", case=case, form=form)
