"""Report downloads: a case's draft or archived final report, and batch ZIPs built by a worker."""

from io import BytesIO

from flask import Blueprint, abort, current_app, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from pilot.accounts.forms import ConfirmForm
from pilot.batches.models import Batch
from pilot.database import today
from pilot.extensions import db, limiter
from pilot.permissions import get_case_or_404, require
from pilot.reports import archive, jobs
from pilot.reports.models import JobStatus, ReportArchive, ReportJob

bp = Blueprint("reports", __name__)

PDF = "application/pdf"


def _send_pdf(data_or_path, name: str):
    response = send_file(data_or_path, mimetype=PDF, as_attachment=True, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _draft_rendered(response) -> bool:
    return response.mimetype == PDF


@bp.get("/cases/<int:case_id>/report")
@login_required
@limiter.limit(
    lambda: current_app.config["DRAFT_REPORT_LIMIT"],
    key_func=lambda: f"draft-report:{current_user.id}",
    deduct_when=_draft_rendered,
    scope="draft-report",
    error_message=lambda: _(
        "Draft reports are made afresh each time: you asked for several just now. Wait a few "
        "minutes, then download it again."
    ),
)
def download(case_id: int):
    """A closed case's newest archived report; an open case's draft, made now (about a second
    of a worker's time each, so each user may ask for a few a minute)."""
    case = get_case_or_404(case_id, "download_report")
    if case.is_closed:
        latest = archive.final_archive(db.session, current_user, case, today())
        db.session.commit()
        return redirect(url_for("reports.version", case_id=case.id, version=latest.version))
    name = archive.file_name(case)
    rendered = archive.render_case(db.session, case.id, today())
    return _send_pdf(BytesIO(rendered.pdf), name)


@bp.get("/cases/<int:case_id>/reports/<int:version>")
@login_required
def version(case_id: int, version: int):
    case = get_case_or_404(case_id, "download_report")
    row = db.session.exec(
        select(ReportArchive).where(
            ReportArchive.case_id == case.id, ReportArchive.version == version
        )
    ).first()
    if row is None or not archive.archive_path(row).is_file():
        abort(404)
    return _send_pdf(archive.archive_path(row), archive.file_name(case, row.version))


@bp.post("/batches/<int:batch_id>/reports")
@login_required
@require("manage_cases")
def batch_reports(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = jobs.create_job(db.session, current_user, batch)
    db.session.commit()  # a worker is asked for the ZIP as this commits
    return redirect(url_for("reports.job", job_id=job.id))


@bp.get("/reports/jobs/<int:job_id>")
@login_required
@require("manage_cases")
def job(job_id: int):
    row = db.get_or_abort(ReportJob, job_id)
    return render_template(
        "reports/job.html",
        job=row,
        batch=db.session.get(Batch, row.batch_id),
        waiting=row.status == JobStatus.QUEUED,
        working=row.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        ready=row.status == "done",
    )


@bp.get("/reports/jobs/<int:job_id>/download")
@login_required
@require("manage_cases")
def job_download(job_id: int):
    row = db.get_or_abort(ReportJob, job_id)
    if row.status != "done" or not jobs.zip_path(row).is_file():
        abort(404)
    batch = db.session.get(Batch, row.batch_id)
    response = send_file(
        jobs.zip_path(row),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"一企一策报告_{batch.name}.zip",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
