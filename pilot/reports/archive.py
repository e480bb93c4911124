"""Generating reports and keeping the final ones: versioned files with their SHA-256.

Building the content reads the database; rendering does not: callers release the session in
between, so a slow render never holds a connection.

Closing a case asks for its final report with `archive_on_commit`: once the closing commits, a
background worker renders and keeps it (`archive_closed_case`), whoever closed the case.
"""

import hashlib
import io
import uuid
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from flask import current_app
from sqlmodel import Session, func, select

from pilot import background
from pilot.accounts.models import User
from pilot.audit.services import log
from pilot.cases.models import Case
from pilot.database import after_commit, today, utcnow
from pilot.extensions import db
from pilot.files.store import safe_name_part
from pilot.reports import pdf
from pilot.reports.context import build
from pilot.reports.models import ReportArchive


def reports_root() -> Path:
    return Path(current_app.config["REPORTS_PATH"])


def archive_path(archive: ReportArchive) -> Path:
    return reports_root() / archive.storage_key


def latest_archive(session: Session, case_id: int) -> ReportArchive | None:
    return session.exec(
        select(ReportArchive)
        .where(ReportArchive.case_id == case_id)
        .order_by(ReportArchive.version.desc())
    ).first()


def archives_of(session: Session, case_id: int) -> list[ReportArchive]:
    return session.exec(
        select(ReportArchive)
        .where(ReportArchive.case_id == case_id)
        .order_by(ReportArchive.version.desc())
    ).all()


def final_archive(session: Session, actor: User | None, case: Case, today: date) -> ReportArchive:
    """A closed case's report as archived: the newest archive, made now if the case was closed
    before reports were archived (the caller commits it)."""
    latest = latest_archive(session, case.id)
    if latest is None:
        latest = archive_final(session, actor, case.id, today)
    return latest


def file_name(case: Case, version: int | None = None) -> str:
    """The report's file name (a download, a batch ZIP's entry): the credit code first, unique
    in a batch, so two firms of one name never share an entry; the firm's name only as text (a
    slash or `..` in it becomes `_`, never a folder)."""
    suffix = f"v{version}" if version else "草稿"
    return f"{case.firm.credit_code}_{safe_name_part(case.firm.name)}_一企一策报告_{suffix}.pdf"


def render_case(session: Session, case_id: int, today: date) -> pdf.Rendered:
    """Build the content, let the session go, then render. Commit what you wrote first: the
    session is closed before the slow part, so no connection waits on WeasyPrint."""
    report = build(session, case_id, today)
    session.close()
    return pdf.render(report)


def store(
    session: Session, actor: User | None, case: Case, rendered: pdf.Rendered
) -> ReportArchive:
    """Keep a final report as the case's next version."""
    version = (
        session.exec(
            select(func.max(ReportArchive.version)).where(ReportArchive.case_id == case.id)
        ).one()
        or 0
    ) + 1
    key = f"{case.id}/{uuid.uuid4().hex}.pdf"
    path = reports_root() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_bytes(rendered.pdf)
    temporary.replace(path)
    archive = ReportArchive(
        case_id=case.id,
        version=version,
        sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        size=len(rendered.pdf),
        pages=rendered.pages,
        storage_key=key,
        generated_by_id=actor.id if actor else None,
    )
    session.add(archive)
    log(
        session,
        actor,
        archive,
        "archive",
        case_id=case.id,
        after={"version": version, "sha256": archive.sha256},
        public=True,
    )
    return archive


def archive_final(session: Session, actor: User | None, case_id: int, today: date) -> ReportArchive:
    """Generate and keep the final report of a closed case (on closing, or when missing).
    Call it with everything committed; the caller commits the new archive row."""
    rendered = render_case(session, case_id, today)
    case = session.get(Case, case_id)
    actor = session.merge(actor) if actor is not None else None
    return store(session, actor, case, rendered)


def archive_on_commit(session: Session, actor: User | None, case: Case, today: date) -> None:
    """Have the case's final report archived by a worker once this transaction commits.

    The report shows the committed closing, so it cannot be rendered before the commit, and a
    rollback must leave no report behind: the task is queued only when the closing commits. If
    the queue cannot take it, the hourly `archive_missing` catches up."""
    actor_id = actor.id if actor else None
    after_commit(session, partial(_queue_archive, case.id, actor_id, today))


def _queue_archive(case_id: int, actor_id: int | None, today: date) -> None:
    try:
        archive_closed_case.enqueue(case_id, actor_id, today)
    except Exception:  # noqa: BLE001 — the closing is committed; archive_missing catches up
        current_app.logger.exception("The final report of case %s was not queued", case_id)


def archived_since_closing(session: Session, case: Case) -> bool:
    return (
        session.exec(
            select(ReportArchive.id).where(
                ReportArchive.case_id == case.id, ReportArchive.generated_at >= case.closed_at
            )
        ).first()
        is not None
    )


@background.task("reports.archive_closed_case")
def archive_closed_case(case_id: int, actor_id: int | None, today: date) -> None:
    """Archive a closed case's final report, unless this closing has one already (the task may
    come twice: from the closing and from `archive_missing`).

    The closing stands whatever the PDF does: a report that fails is logged, `archive_missing`
    tries again within the hour, and the report's download makes it when it is missing."""
    session = db.session
    case = session.get(Case, case_id)
    if case is None or not case.is_closed or archived_since_closing(session, case):
        return
    try:
        actor = session.get(User, actor_id) if actor_id is not None else None
        with current_app.test_request_context():
            archive_final(session, actor, case_id, today)
        session.commit()
    except Exception:  # noqa: BLE001 — see the docstring: the closing is committed
        session.rollback()
        current_app.logger.exception("The final report of case %s was not archived", case_id)


#: How long a closing's own task has before `archive_missing` queues another.
ARCHIVE_GRACE = timedelta(minutes=10)


@background.periodic("reports.archive_missing", minute="17")
def archive_missing() -> None:
    """Every hour, queue the final report of each case closed (more than ARCHIVE_GRACE ago)
    without one since its closing: a task lost with a stopped worker, a queue that could not be
    reached, a report that failed to render."""
    session = db.session
    since_closing = (
        select(ReportArchive.id)
        .where(ReportArchive.case_id == Case.id, ReportArchive.generated_at >= Case.closed_at)
        .exists()
    )
    missing = session.exec(
        select(Case.id).where(
            Case.closed_at.is_not(None),
            Case.closed_at <= utcnow() - ARCHIVE_GRACE,
            ~since_closing,
        )
    ).all()
    on = today()
    for case_id in missing:
        archive_closed_case.enqueue(case_id, None, on)


def batch_zip(
    session: Session,
    case_ids: Iterable[int],
    today: date,
    render_many: Callable[[list[int]], Iterable[tuple[int, pdf.Rendered]]],
    progress: Callable[[int], None] = lambda done: None,
) -> bytes:
    """Every case's report in one ZIP: a closed case's newest archived version (made now if it
    is missing), an open case's draft rendered by `render_many` (which may use other processes).
    """
    cases = {c.id: c for c in session.exec(select(Case).where(Case.id.in_(list(case_ids)))).all()}
    entries: dict[int, tuple[str, bytes]] = {}
    missing = []
    for case in cases.values():
        archive = latest_archive(session, case.id) if case.is_closed else None
        if archive is not None and archive_path(archive).is_file():
            entries[case.id] = (
                file_name(case, archive.version),
                archive_path(archive).read_bytes(),
            )
        else:
            missing.append(case.id)
    progress(len(entries))
    drafts = {cid: file_name(cases[cid]) for cid in missing if not cases[cid].is_closed}
    session.close()
    for case_id, rendered in render_many(missing):
        if case_id in drafts:
            entries[case_id] = (drafts[case_id], rendered.pdf)
        else:
            case = session.get(Case, case_id)
            archive = store(session, None, case, rendered)
            session.commit()
            entries[case_id] = (file_name(case, archive.version), rendered.pdf)
        progress(len(entries))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive_zip:
        for name, data in sorted(entries.values()):
            archive_zip.writestr(name, data)
    return buffer.getvalue()
