"""Batch ZIPs for the web: assembled in a separate process, never inside a web request.

Staff ask for a batch's reports; the app records a job and starts `pilot reports job ID` as its
own process, which renders what is missing on every core and writes the ZIP, updating the job's
progress as it goes. The page shows that progress.
"""

import os

# B404: Starts the app's own job command, without a shell's parsing.
import subprocess  # nosec B404
import sys
import uuid
from pathlib import Path

from flask import Flask
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import today, utcnow
from pilot.reports.archive import batch_zip, reports_root
from pilot.reports.models import ReportJob
from pilot.reports.parallel import render_cases, worker_config


def create_job(session: Session, actor: User, batch: Batch) -> ReportJob:
    total = len(session.exec(select(Case.id).where(Case.batch_id == batch.id)).all())
    job = ReportJob(batch_id=batch.id, requested_by_id=actor.id, total=total)
    session.add(job)
    session.flush()
    return job


def start_job(app: Flask, job: ReportJob) -> None:
    """Start the job's own process, configured like this app, and leave it running."""
    env = dict(os.environ)
    for key, value in worker_config(app).items():
        if value is not None:
            env[f"PILOT_{key}"] = str(value)
    command = [
        sys.executable,
        "-c",
        "from pilot.cli import main; main()",
        "reports",
        "job",
        str(job.id),
    ]
    # The shell starts the job in the background and exits at once: the job outlives this
    # request (and this worker) without being its child.
    # B603: A fixed script; the job id is an integer.
    subprocess.run(  # nosec B603
        ["/bin/sh", "-c", '"$@" </dev/null >/dev/null 2>&1 &', "sh", *command], env=env, check=True
    )


def zip_path(job: ReportJob) -> Path:
    return reports_root() / job.storage_key


def run_job(app: Flask, job_id: int) -> None:
    from pilot.extensions import db

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
