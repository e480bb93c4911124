"""Rendering many reports on every core: worker processes, each with its own app and session."""

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date
from multiprocessing import get_context

from flask import Flask

from pilot.reports.pdf import Rendered

#: What a worker needs to reach the same database and folders as the parent.
SHARED = ("DATABASE_URL", "FILES_PATH", "REPORTS_PATH", "SECRET_KEY", "TODAY", "TIME_ZONE")

_app: Flask | None = None


def worker_config(app: Flask) -> dict:
    return {"INSTANCE_PATH": app.instance_path, **{k: app.config.get(k) for k in SHARED}}


def _start(config: dict) -> None:
    global _app
    from pilot import create_app

    _app = create_app(config)


def _render(case_id: int, today: date) -> tuple[int, bytes, int]:
    from pilot.extensions import db
    from pilot.reports.archive import render_case

    with _app.app_context(), _app.test_request_context():
        rendered = render_case(db.session, case_id, today)
    return case_id, rendered.pdf, rendered.pages


def _context():
    """Workers forked from a clean server that has the app's modules loaded already."""
    context = get_context("forkserver")
    context.set_forkserver_preload(["pilot", "pilot.models", "pilot.reports.archive"])
    return context


def render_cases(
    app: Flask, case_ids: list[int], today: date, workers: int | None = None
) -> Iterator[tuple[int, Rendered]]:
    """Render the cases' reports in worker processes, yielding each as it is done."""
    if not case_ids:
        return
    workers = workers or min(len(case_ids), os.cpu_count() or 1)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_start,
        initargs=(worker_config(app),),
    ) as pool:
        futures = [pool.submit(_render, case_id, today) for case_id in case_ids]
        for future in as_completed(futures):
            case_id, data, pages = future.result()
            yield case_id, Rendered(data, pages)
