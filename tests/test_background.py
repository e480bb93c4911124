"""The background queue: a batch ZIP taken from the embedded SQLite queue by a consumer thread
(as `pilot run` starts it) and from Redis by `pilot worker`; the periodic tasks' local-time
schedule; the development server's consumer only in the process that serves."""

import io
import os
import shutil
import signal
import subprocess
import sys
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from huey import RedisHuey, SqliteHuey

from pilot import background
from pilot.reports.models import ReportJob
from pilot.worker import serves_here
from tests.conftest import login, wait_for

REDIS_URL = "redis://127.0.0.1:6379/15"
PILOT = shutil.which("pilot", path=str(Path(sys.executable).parent))


def ask_for_batch_zip(client, world) -> int:
    login(client, "staff")
    response = client.post(f"/batches/{world.batch.id}/reports")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def finished_job(session, job_id: int) -> ReportJob:
    def finished():
        session.expire_all()
        job = session.get(ReportJob, job_id)
        return job if job.status in ("done", "failed") else None

    return wait_for(finished)


def assert_zip_downloads(client, world, job: ReportJob) -> None:
    assert job.status == "done", job.error
    assert (job.done, job.total) == (2, 2)
    page = client.get(f"/reports/jobs/{job.id}").get_data(as_text=True)
    assert f"/reports/jobs/{job.id}/download" in page
    download = client.get(f"/reports/jobs/{job.id}/download")
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    download.close()
    assert len(names) == 2 and all(n.endswith(".pdf") for n in names)
    assert any(world.firm_a.name in n for n in names)


def test_batch_zip_is_taken_from_the_sqlite_queue_by_a_consumer_thread(app, client, session, world):
    app.config["QUEUE_IMMEDIATE"] = False
    job_id = ask_for_batch_zip(client, world)
    # The request only queued the job, in the SQLite file of the instance folder.
    huey = background.queue_of(app).huey
    assert isinstance(huey, SqliteHuey)
    assert huey.storage.filename == str(Path(app.instance_path) / "queue.sqlite")
    assert huey.pending_count() == 1
    assert session.get(ReportJob, job_id).status == "queued"
    page = client.get(f"/reports/jobs/{job_id}").get_data(as_text=True)
    assert 'data-job-status="queued"' in page and "Waiting for a worker" in page

    consumer = background.start_beside_server(app)
    try:
        job = finished_job(session, job_id)
    finally:
        consumer.stop(graceful=True)
    assert huey.pending_count() == 0
    assert_zip_downloads(client, world, job)


def redis_or_skip() -> redis.Redis:
    """Redis on 127.0.0.1:6379; without it the test is skipped, except on CI, where it fails."""
    store = redis.Redis.from_url(REDIS_URL)
    try:
        store.ping()
    except redis.ConnectionError as error:
        store.close()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not running on 127.0.0.1:6379: {error}", pytrace=False)
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return store


def test_batch_zip_is_taken_from_redis_by_pilot_worker(app, client, session, world):
    """With REDIS_URL the web queues into Redis and `pilot worker`, another process (as on
    another machine sharing the database and the folders), does the job."""
    store = redis_or_skip()
    name = f"pilot-test-{uuid.uuid4().hex}"  # this run's own queue in Redis
    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME=name, QUEUE_IMMEDIATE=False)
    worker = None
    try:
        job_id = ask_for_batch_zip(client, world)
        huey = background.queue_of(app).huey
        assert isinstance(huey, RedisHuey) and huey.pending_count() == 1

        env = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_")}
        for key in ("DATABASE_URL", "FILES_PATH", "REPORTS_PATH", "SECRET_KEY", "TODAY"):
            env[f"PILOT_{key}"] = str(app.config[key])
        env.update(
            PILOT_INSTANCE_PATH=app.instance_path, PILOT_REDIS_URL=REDIS_URL, PILOT_QUEUE_NAME=name
        )
        worker = subprocess.Popen(
            [PILOT, "worker", "--workers", "1", "--no-periodic"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        job = finished_job(session, job_id)
        assert_zip_downloads(client, world, job)
        assert huey.pending_count() == 0
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGINT)  # waits for running tasks, then exits
            _, errors = worker.communicate(timeout=30)
            assert worker.returncode == 0, errors
            assert f"queue {name} in Redis" in errors
        for key in store.scan_iter(f"*{name}*"):
            store.delete(key)
        store.close()


def test_periodic_tasks_are_scheduled_in_the_bureaus_time_zone(app):
    due = background.in_local_time({"hour": "7", "minute": "30"}, ZoneInfo("Asia/Shanghai"))
    assert due(datetime(2026, 6, 14, 23, 30))  # Huey asks in UTC: 07:30 in Zhengzhou
    assert not due(datetime(2026, 6, 15, 7, 30))
    # The app's queue schedules its declared periodic tasks: archive_missing at :17 each hour.
    app.config["QUEUE_IMMEDIATE"] = False
    huey = background.queue_of(app).huey
    names = {task.name for task in huey.read_periodic(datetime(2026, 6, 15, 3, 17))}
    assert "reports.archive_missing" in names
    assert not huey.read_periodic(datetime(2026, 6, 15, 3, 18))


def test_the_development_server_consumes_only_in_the_process_that_serves(monkeypatch):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert serves_here(reload=False)
    assert not serves_here(reload=True)  # the reloader's watching process serves nothing
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    assert serves_here(reload=True)  # the process it started and restarts on each change


def test_pilot_worker_refuses_a_queue_that_runs_tasks_at_once(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 1
    assert "QUEUE_IMMEDIATE is set" in result.output
