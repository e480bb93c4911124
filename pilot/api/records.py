"""A case's records beside the checklist: files, visits, diagnosis rounds, plan versions and the
report PDF, each read through the permission module's rules for drafts and files."""

from io import BytesIO

from flask import abort, current_app, send_file
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.api.blueprint import body, bp
from pilot.api.errors import ApiError
from pilot.api.schemas import (
    ConfirmVisit,
    DiagnosisOut,
    FrameworkScore,
    PlanList,
    PlanVersionOut,
    VisitList,
    VisitOut,
)
from pilot.api.spec import binary, responses, spec
from pilot.database import today
from pilot.diagnosis import queries as diagnosis_queries
from pilot.diagnosis.scoring import framework_results
from pilot.extensions import db, limiter
from pilot.files.models import StoredFile
from pilot.files.store import open_stored
from pilot.permissions import (
    can_download_file,
    can_read_diagnosis,
    can_read_plan_version,
    get_case_or_404,
    get_on_case_or_404,
)
from pilot.plan.services import versions_of
from pilot.reports import archive
from pilot.visits import services as visit_services
from pilot.visits.models import Visit
from pilot.visits.queries import case_visits

PDF = "application/pdf"


def _file(data: bytes, mimetype: str, name: str, etag: str | bool = True):
    """A download of bytes read whole (files and reports are size-capped): spectree reads the
    body it passes on, and an open file would be left for the collector to close."""
    response = send_file(
        BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, etag=etag
    )
    response.direct_passthrough = False
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# Files ------------------------------------------------------------------------------------------


@bp.get("/files/<int:file_id>")
@spec.validate(resp=responses(200, None), tags=["files"], operation_id="download_file")
def download_file(file_id: int):
    """A stored file (evidence, photos, materials), if the user may see it."""
    stored = db.session.get(StoredFile, file_id)
    if stored is None or not can_download_file(db.session, current_user, stored):
        abort(404)
    try:
        path = open_stored(stored)
    except FileNotFoundError:
        current_app.logger.error("Stored file %s is missing its bytes", stored.id)
        abort(404)
    return _file(path.read_bytes(), stored.content_type, stored.name, stored.sha256)


binary("download_file", "application/octet-stream")


# Visits -----------------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/visits")
@spec.validate(resp=responses(200, VisitList), tags=["visits"], operation_id="list_visits")
def list_visits(case_id: int):
    """The case's on-site visits, newest first."""
    case = get_case_or_404(case_id)
    return VisitList(items=[VisitOut.model_validate(v) for v in case_visits(db.session, case)])


@bp.post("/visits/<int:visit_id>/confirm")
@spec.validate(
    json=ConfirmVisit,
    resp=responses(200, VisitOut, 403, 409, 422),
    tags=["visits"],
    operation_id="confirm_visit",
)
def confirm_visit(visit_id: int):
    """The firm confirms that the visit took place; staff may confirm for it, with a reason."""
    visit, _case = get_on_case_or_404(Visit, visit_id, "confirm_visit")
    try:
        visit_services.confirm_visit(db.session, current_user, visit, body(ConfirmVisit).reason)
    except visit_services.VisitError as error:
        if error.field:
            raise ApiError(422, fields={error.field: [str(error)]}) from None
        raise ApiError(409, str(error)) from None
    db.session.commit()
    visit = db.session.exec(
        select(Visit).where(Visit.id == visit_id).options(selectinload(Visit.experts))
    ).one()
    return VisitOut.model_validate(visit)


# The diagnosis ----------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/diagnosis/<any(baseline, final):round_>")
@spec.validate(resp=responses(200, DiagnosisOut), tags=["diagnosis"], operation_id="get_diagnosis")
def get_diagnosis(case_id: int, round_: str):
    """A diagnosis round with its scores per framework and category, findings and work targets.
    The firm sees it once accepted."""
    case = get_case_or_404(case_id)
    diagnosis = diagnosis_queries.load_diagnosis(case, round_)
    if diagnosis is None or not can_read_diagnosis(current_user, case, diagnosis):
        abort(404)
    frameworks = diagnosis_queries.frameworks_to_score(case, round_, diagnosis)
    return DiagnosisOut.model_validate(
        {
            **diagnosis.model_dump(),
            "frameworks": [
                FrameworkScore.model_validate(r) for r in framework_results(frameworks, diagnosis)
            ],
            "findings": diagnosis.findings,
            "targets": diagnosis_queries.work_targets(diagnosis),
        }
    )


# The follow-up plan -----------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/plan")
@spec.validate(resp=responses(200, PlanList), tags=["plan"], operation_id="list_plan_versions")
def list_plan_versions(case_id: int):
    """The follow-up plan's versions, newest first (the firm: approved versions only)."""
    case = get_case_or_404(case_id)
    versions = [
        v for v in versions_of(db.session, case) if can_read_plan_version(current_user, case, v)
    ]
    return PlanList(items=[PlanVersionOut.model_validate(v) for v in versions])


# The report -------------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/report")
@limiter.limit(
    lambda: current_app.config["DRAFT_REPORT_LIMIT"],
    key_func=lambda: f"draft-report:{current_user.id}",
    deduct_when=lambda response: response.mimetype == PDF,
    scope="draft-report",
    error_message=lambda: _(
        "Draft reports are made afresh each time: you asked for several just now. Wait a few "
        "minutes, then download it again."
    ),
)
@spec.validate(resp=responses(200, None, 403, 429), tags=["report"], operation_id="get_report")
def get_report(case_id: int):
    """The case's report (一企一策报告) as PDF: a closed case's archived report, else a draft
    made now."""
    case = get_case_or_404(case_id, "download_report")
    if case.is_closed:
        latest = archive.final_archive(db.session, current_user, case, today())
        db.session.commit()
        path = archive.archive_path(latest)
        return _file(path.read_bytes(), PDF, archive.file_name(case, latest.version))
    rendered = archive.render_case(db.session, case.id, today())
    return _file(rendered.pdf, PDF, archive.file_name(case))


binary("get_report", PDF)
