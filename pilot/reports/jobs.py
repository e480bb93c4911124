"""Batch ZIPs for the web: assembled by a background worker, never inside a web request.

Staff ask for a batch's reports; the app records a job, and once that commits the queue gets
`assemble_batch_zip`, which a worker runs: it renders what is missing on every core and writes
the ZIP, updating the job's progress as it goes. The page shows that progress.
"""

import uuid
from pathlib import Path

from flask import Flask, current_app
from sqlmodel import Session, select

from pilot import background
from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import after_commit, today, utcnow
from pilot.extensions import db
from pilot.reports.archive import batch_zip, reports_root
from pilot.reports.models import JobStatus, ReportJob
from pilot.reports.parallel import render_cases


def create_job(session: Session, actor: User, batch: Batch) -> ReportJob:
    """Record a batch ZIP to make; a worker is asked for it once this transaction commits."""
    total = len(session.exec(select(Case.id).where(Case.batch_id == batch.id)).all())
    job = ReportJob(batch_id=batch.id, requested_by_id=actor.id, total=total)
    session.add(job)
    session.flush()
    job_id = job.id
    after_commit(session, lambda: start_job(job_id))
    return job


def start_job(job_id: int) -> None:
    """Queue the job. If the queue cannot take it, the job says so on its page."""
    try:
        assemble_batch_zip.enqueue(job_id)
    except Exception as error:  # noqa: BLE001 — the request that asked is committed
        current_app.logger.exception("Batch ZIP job %s was not queued", job_id)
        _fail(job_id, f"{error.__class__.__name__}: {error}")


def _fail(job_id: int, error: str) -> None:
    with Session(db.engine) as own:
        job = own.get(ReportJob, job_id)
        job.status, job.error, job.finished_at = JobStatus.FAILED, error[:500], utcnow()
        own.commit()


@background.task("reports.assemble_batch_zip")
def assemble_batch_zip(job_id: int) -> None:
    run_job(current_app._get_current_object(), job_id)


def zip_path(job: ReportJob) -> Path:
    return reports_root() / job.storage_key


def run_job(app: Flask, job_id: int) -> None:
    """Assemble the job's ZIP, unless another worker has taken it already."""
    session = db.session
    job = session.get(ReportJob, job_id)
    if job is None or job.status != "queued":
        return
    job.status = "running"
    session.commit()
    case_ids = session.exec(select(Case.id).where(Case.batch_id == job.batch_id)).all()

    def progress(done: int) -> None:
        row = session.get(ReportJob, job_id)
        row.done = done
        session.commit()

    try:
        data = batch_zip(
            session, case_ids, today(), lambda ids: render_cases(app, ids, today()), progress
        )
        key = f"batches/{uuid.uuid4().hex}.zip"
        path = reports_root() / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        job = session.get(ReportJob, job_id)
        job.storage_key, job.status, job.done, job.finished_at = key, "done", job.total, utcnow()
    except Exception as error:  # the page must say the job failed, whatever happened
        session.rollback()
        job = session.get(ReportJob, job_id)
        job.status, job.error, job.finished_at = "failed", str(error)[:500], utcnow()
        session.commit()
        raise
    session.commit()
