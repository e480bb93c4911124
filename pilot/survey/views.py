"""Stage 1's pages: the needs survey the firm (or staff for it) fills, and staff's analysis."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from pilot.database import EditConflict
from pilot.extensions import db
from pilot.forms import keep_input
from pilot.permissions import can_edit_survey, get_case_or_404
from pilot.survey import pages, queries, services
from pilot.survey.forms import ANSWER_FIELDS, AnalysisForm, SurveyForm

bp = Blueprint("survey", __name__)


def _back(case_id: int):
    return redirect(url_for("survey.edit", case_id=case_id))


@bp.route("/cases/<int:case_id>/survey", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    case = get_case_or_404(case_id, "fill_survey" if request.method == "POST" else "view_case")
    if request.method == "GET":
        return pages.render_edit(case)
    if not can_edit_survey(current_user, case, services.survey_of(db.session, case)):
        flash(_("The survey has been submitted and can no longer be changed."), "error")
        return _back(case_id)
    kpis = queries.catalogue()
    form = SurveyForm()
    form.bind_catalogue(kpis)
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked fields."), "error")
        return pages.render_edit(case, form)
    submit = bool(form.submit_survey.data)
    try:
        services.save_survey(
            db.session,
            current_user,
            case,
            baselines=form.baseline_values(),
            submit=submit,
            version=form.version.data,
            **form.answers(),
        )
        db.session.commit()
    except EditConflict as conflict:
        db.session.rollback()
        keep_input(form.version, conflict)
        return pages.render_edit(case, form, status=409)
    except services.SurveyError as error:
        db.session.rollback()
        if error.field in ANSWER_FIELDS:
            form[error.field].errors.append(str(error))
            flash(_("Nothing was saved: correct the marked fields."), "error")
        else:
            flash(str(error), "error")
        return pages.render_edit(case, form)
    except IntegrityError:
        # Two people saving the case's first draft at once: the second meets the unique case_id.
        db.session.rollback()
        flash(
            _(
                "Someone else saved this survey at the same moment. "
                "Check the answers and save again."
            ),
            "error",
        )
        return pages.render_edit(case, form)
    flash(_("The survey was submitted.") if submit else _("The survey was saved."), "success")
    return _back(case_id)


@bp.post("/cases/<int:case_id>/analysis")
@login_required
def analysis(case_id: int):
    case = get_case_or_404(case_id, "write_needs_analysis")
    form = AnalysisForm()
    if form.validate_on_submit():
        try:
            services.write_analysis(
                db.session,
                current_user,
                case,
                form.analysis.data or "",
                version=form.version.data,
            )
        except EditConflict as conflict:
            db.session.rollback()
            keep_input(form.version, conflict)
            return pages.render_edit(case, analysis_form=form, status=409)
        except services.SurveyError as error:
            db.session.rollback()
            if error.field != "analysis":
                flash(str(error), "error")
                return _back(case_id)
            form.analysis.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The needs analysis was saved."), "success")
            return _back(case_id)
    return pages.render_edit(case, analysis_form=form)
