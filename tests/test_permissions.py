"""Every route × every kind of user, driven by DESIGN.md's "Who may do what".

Each row names a route, how to call it and which users may. Everyone else must get 403 or 404
(never the data), and an anonymous visitor is sent to /login. A route missing from this table
fails test_every_route_is_in_the_matrix.

The matrix's worlds are built once per test process and copied before each row that may write
(see MatrixWorlds); the rows that only read (GET) share one copy on SQLite, and each checks that
it left the copy as it found it.
"""

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from pilot.diagnosis.models import WorkTarget
from pilot.extensions import db
from pilot.frameworks.services import load_shipped
from pilot.reports import jobs
from tests import factories
from tests.conftest import (
    PG_URL,
    build_world,
    copy_sqlite,
    create_schema,
    drop_database,
    load_records,
    login,
    make_database,
    make_test_app,
    record_ids,
)

USERS = {
    "admin": "admin",
    "staff": "staff",
    "expert_assigned": "expert_a",
    "expert_other": "expert_b",
    "firm_own": "firm_a",
    "firm_other": "firm_b",
}
STAFF = {"admin", "staff"}
#: expert_a leads the cases they are assigned to.
LEAD = {"expert_assigned"}
CASE_READERS = STAFF | {"expert_assigned", "firm_own"}
EVERYONE = set(USERS)


@dataclass
class Route:
    endpoint: str
    method: str
    path: str
    allowed: set[str]
    data: dict = field(default_factory=dict)
    #: Status codes that count as "allowed" (a redirect after a POST, say).
    ok: tuple[int, ...] = (200,)


ROUTES = [
    Route("board.home", "GET", "/", EVERYONE),
    Route("cases.show", "GET", "/cases/{case_a}", CASE_READERS),
    Route("cases.withdraw", "POST", "/cases/{case_a}/withdraw", STAFF, {"reason": "r"}, (302,)),
    Route("cases.reinstate", "POST", "/cases/{case_a}/reinstate", set(), {"reason": "r"}, (302,)),
    Route(
        "cases.mark_stage",
        "POST",
        "/cases/{case_a}/stages/training/mark",
        STAFF,
        {"reason": "r"},
        (302,),
    ),
    Route(
        "cases.unmark_stage",
        "POST",
        "/cases/{case_a}/stages/training/unmark",
        STAFF,
        {"reason": "r"},
        (302,),
    ),
    Route("cases.due_dates", "GET", "/cases/{case_a}/due-dates", STAFF),
    Route("cases.experts", "GET", "/cases/{case_a}/experts", STAFF),
    Route("survey.edit", "GET", "/cases/{case_a}/survey", CASE_READERS),
    Route(
        "survey.edit",
        "POST",
        "/cases/{case_a}/survey",
        STAFF | {"firm_own"},
        # Version 0: the form of a case with no survey saved yet.
        {"save_draft": "y", "version": "0"},
        (302,),
    ),
    Route(
        "survey.analysis",
        "POST",
        "/cases/{case_a}/analysis",
        STAFF,
        {"analysis": "a", "version": "0"},
        (302,),
    ),
    Route("files.download", "GET", "/files/{doc_a}", CASE_READERS),
    Route("files.upload_case_document", "POST", "/files/cases/{case_a}", STAFF, {}, (302,)),
    Route("visits.new", "GET", "/cases/{case_a}/visits/new", {"expert_assigned"}),
    Route(
        "visits.new",
        "POST",
        "/cases/{case_a}/visits/new",
        {"expert_assigned"},
        {"visit_date": "2026-06-10", "hours": "2", "activities": "a"},
        (302,),
    ),
    Route("visits.show", "GET", "/visits/{visit_a}", CASE_READERS),
    Route(
        "visits.confirm",
        "POST",
        "/visits/{visit_a}/confirm",
        STAFF | {"firm_own"},
        {"reason": "r"},
        (302,),
    ),
    Route(
        "visits.dispute",
        "POST",
        "/visits/{visit_a}/dispute",
        {"firm_own"},
        {"comment": "c"},
        (302,),
    ),
    Route("visits.hours", "GET", "/batches/{batch}/hours", STAFF),
    # The diagnosis: the batch has no framework here, so a permitted write is refused with a
    # message and a redirect; the firm sees no draft (404), like a case it may not see.
    Route(
        "diagnosis.edit", "GET", "/cases/{case_a}/diagnosis/baseline", STAFF | {"expert_assigned"}
    ),
    Route(
        "diagnosis.save_scores",
        "POST",
        "/cases/{case_a}/diagnosis/baseline/scores",
        {"expert_assigned"},
        {},
        (302,),
    ),
    Route(
        "diagnosis.add_finding",
        "POST",
        "/cases/{case_a}/diagnosis/baseline/findings",
        {"expert_assigned"},
        {"finding-description": "d"},
        (302,),
    ),
    Route(
        "diagnosis.remove_finding",
        "POST",
        "/cases/{case_a}/diagnosis/baseline/findings/1/remove",
        {"expert_assigned"},
        {},
        (302,),
    ),
    Route(
        "diagnosis.add_target",
        "POST",
        "/cases/{case_a}/diagnosis/baseline/targets",
        {"expert_assigned"},
        {"target-target": "1"},
        (302,),
    ),
    Route(
        "diagnosis.remove_target",
        "POST",
        "/cases/{case_a}/diagnosis/baseline/targets/1/remove",
        {"expert_assigned"},
        {},
        (302,),
    ),
    Route(
        "diagnosis.submit",
        "POST",
        "/cases/{case_a}/diagnosis/baseline/submit",
        {"expert_assigned"},
        {},
        (302,),
    ),
    Route(
        "diagnosis.return_diagnosis",
        "POST",
        "/cases/{case_a}/diagnosis/baseline/return",
        STAFF,
        {"return-comment": "c"},
        (302,),
    ),
    Route(
        "diagnosis.accept", "POST", "/cases/{case_a}/diagnosis/baseline/accept", STAFF, {}, (302,)
    ),
    # Rectification: item_a is open, so a permitted verify or return is refused with a message
    # and a redirect (only a submitted item can be); the firm's upload without a file and its
    # submit without a measure get the item page back with the message (400).
    Route("rectification.checklist", "GET", "/cases/{case_a}/items", CASE_READERS),
    Route(
        "rectification.add",
        "POST",
        "/cases/{case_a}/items",
        STAFF | {"expert_assigned"},
        {"description": "d", "severity": "general"},
        (302,),
    ),
    Route("rectification.show", "GET", "/items/{item_a}", CASE_READERS),
    Route(
        "rectification.work",
        "POST",
        "/items/{item_a}/work",
        {"firm_own"},
        {"measure": "m", "version": "1"},
        (302,),
    ),
    Route("rectification.upload", "POST", "/items/{item_a}/evidence", {"firm_own"}, {}, (400,)),
    Route(
        "rectification.submit",
        "POST",
        "/items/{item_a}/submit",
        {"firm_own"},
        {"version": "1"},
        (400,),
    ),
    Route(
        "rectification.verify", "POST", "/items/{item_a}/verify", {"expert_assigned"}, {}, (302,)
    ),
    Route(
        "rectification.return_item",
        "POST",
        "/items/{item_a}/return",
        {"expert_assigned"},
        {"reason": "r"},
        (302,),
    ),
    Route("rectification.waive", "POST", "/items/{item_a}/waive", STAFF, {"reason": "r"}, (302,)),
    Route(
        "rectification.queue", "GET", "/verification", STAFF | {"expert_assigned", "expert_other"}
    ),
    # Training: training_a (2026-06-10, past) invites case_a only and has material_a. A firm or
    # expert with a case of the batch sees the calendar; the session itself only the firm invited.
    Route("training.calendar", "GET", "/batches/{batch}/training", EVERYONE - {"expert_other"}),
    Route("training.new", "GET", "/batches/{batch}/training/new", STAFF),
    Route(
        "training.new",
        "POST",
        "/batches/{batch}/training/new",
        STAFF,
        {
            "topic": "t",
            "day": "2026-06-20",
            "start_time": "09:30",
            "hours": "2",
            "place": "p",
            "trainer": "t",
            "case_ids": ["{case_a}"],
        },
        (302,),
    ),
    Route("training.show", "GET", "/training/{training_a}", CASE_READERS),
    Route("training.edit", "GET", "/training/{training_a}/edit", STAFF),
    Route(
        "training.edit",
        "POST",
        "/training/{training_a}/edit",
        STAFF,
        {
            "topic": "t",
            "day": "2026-06-10",
            "start_time": "09:30",
            "hours": "2",
            "place": "p",
            "trainer": "t",
            "case_ids": ["{case_a}"],
            "version": "1",
        },
        (302,),
    ),
    # Nothing posted for any firm: the sheet is saved unchanged.
    Route("training.attendance", "POST", "/training/{training_a}/attendance", STAFF, {}, (302,)),
    Route("files.download", "GET", "/files/{material_a}", EVERYONE - {"expert_other"}),
    Route("training.add_coaching", "GET", "/cases/{case_a}/coaching", {"expert_assigned"}),
    Route(
        "training.add_coaching",
        "POST",
        "/cases/{case_a}/coaching",
        {"expert_assigned"},
        {"coached_on": "2026-06-12", "hours": "1.5", "topic": "t"},
        (302,),
    ),
    # The follow-up plan, on case_p (firm A's case in a second batch, expert_a its lead): version
    # 1 approved, version 2 a draft with an action and a target revision. The firm reads approved
    # versions only (plan.edit sends it to the one in force). Approving or returning the draft is
    # refused with a message and a redirect.
    Route("plan.edit", "GET", "/cases/{case_p}/plan", CASE_READERS, ok=(200, 302)),
    Route("plan.version", "GET", "/cases/{case_p}/plan/versions/1", CASE_READERS),
    Route("plan.version", "GET", "/cases/{case_p}/plan/versions/2", STAFF | LEAD),
    Route(
        "plan.save",
        "POST",
        "/cases/{case_p}/plan/save",
        LEAD,
        # Version 2 was opened (0) and given a target revision (1).
        {"summary": "s", "edit_version": "1"},
        (302,),
    ),
    Route(
        "plan.add_action",
        "POST",
        "/cases/{case_p}/plan/actions",
        LEAD,
        {
            "action-what": "w",
            "action-owner": "o",
            "action-start_date": "2026-07-01",
            "action-due_date": "2026-08-01",
            "action-finding_id": "0",
        },
        (302,),
    ),
    Route(
        "plan.remove_action",
        "POST",
        "/cases/{case_p}/plan/actions/{plan_action}/remove",
        LEAD,
        {},
        (302,),
    ),
    Route(
        "plan.revise_target",
        "POST",
        "/cases/{case_p}/plan/revisions",
        LEAD,
        {
            "revision-target_id": "{work_target}",
            "revision-new_target": "99",
            "revision-new_date": "2027-01-31",
            "revision-reason": "r",
        },
        (302,),
    ),
    Route(
        "plan.remove_revision",
        "POST",
        "/cases/{case_p}/plan/revisions/{plan_revision}/remove",
        LEAD,
        {},
        (302,),
    ),
    Route("plan.submit", "POST", "/cases/{case_p}/plan/submit", LEAD, {}, (302,)),
    Route("plan.new_version", "POST", "/cases/{case_p}/plan/new-version", LEAD, {}, (302,)),
    Route("plan.approve", "POST", "/cases/{case_p}/plan/approve", STAFF, {}, (302,)),
    Route(
        "plan.return_plan",
        "POST",
        "/cases/{case_p}/plan/return",
        STAFF,
        {"return-comment": "c"},
        (302,),
    ),
    # Stage 6 and closing on case_a, whose plan is not approved: a permitted input is refused
    # with a message and a redirect (the verdict: the form back with the service's refusal).
    # Reopening needs a closed case: case_closed, firm A's case in another batch, expert_a lead.
    Route("evaluation.show", "GET", "/cases/{case_a}/evaluation", CASE_READERS),
    Route(
        "evaluation.enter_actual",
        "POST",
        "/cases/{case_a}/evaluation/targets/1/actual",
        {"expert_assigned"},
        {"t1-actual": "1"},
        (302,),
    ),
    Route(
        "evaluation.check_actual",
        "POST",
        "/cases/{case_a}/evaluation/actuals/1/check",
        STAFF,
        {"seen": "1"},
        (302,),
    ),
    Route(
        "evaluation.rate",
        "POST",
        "/cases/{case_a}/evaluation/ratings/overall",
        STAFF | {"firm_own"},
        {"rateoverall-professionalism": "5"},
        (302,),
    ),
    Route(
        "evaluation.assessment",
        "POST",
        "/cases/{case_a}/evaluation/assessment",
        {"expert_assigned"},
        {"assessment-assessment": "a"},
        (302,),
    ),
    Route(
        "evaluation.verdict",
        "POST",
        "/cases/{case_a}/evaluation/verdict",
        STAFF,
        {"verdict-verdict": "met"},
        (400,),
    ),
    Route("evaluation.close", "POST", "/cases/{case_a}/evaluation/close", STAFF, {}, (302,)),
    Route(
        "evaluation.reopen",
        "POST",
        "/cases/{case_closed}/evaluation/reopen",
        STAFF,
        {"reopen-reason": "r"},
        (302,),
    ),
    Route("evaluation.batch_results", "GET", "/batches/{batch}/results", STAFF),
    Route("batches.index", "GET", "/batches/", STAFF),
    Route("batches.new", "GET", "/batches/new", STAFF),
    Route("batches.show", "GET", "/batches/{batch}", STAFF),
    Route("batches.edit", "GET", "/batches/{batch}/edit", STAFF),
    Route("batches.week", "GET", "/batches/{batch}/week", STAFF),
    # No firm is outside the batch, so staff get the form back with its message (400).
    Route(
        "batches.open_cases",
        "POST",
        "/batches/{batch}/cases",
        STAFF,
        {"firm_ids": ["{firm_a}"]},
        (302, 400),
    ),
    Route("firms.index", "GET", "/firms/", STAFF),
    Route("firms.roster_template", "GET", "/firms/import/template.xlsx", STAFF),
    Route("firms.import_roster", "GET", "/firms/import/{batch}", STAFF),
    # No file: staff get the form back with its message (400).
    Route("firms.import_roster", "POST", "/firms/import/{batch}", STAFF, {}, (400,)),
    Route("ledger.batch_ledger", "GET", "/batches/{batch}/ledger.xlsx", STAFF),
    Route("ledger.board", "GET", "/board.xlsx", STAFF),
    Route("ledger.results", "GET", "/batches/{batch}/results.xlsx", STAFF),
    Route("ledger.hours", "GET", "/batches/{batch}/hours.xlsx", STAFF),
    Route("firms.new", "GET", "/firms/new", STAFF),
    Route("firms.show", "GET", "/firms/{firm_a}", STAFF),
    Route("firms.edit", "GET", "/firms/{firm_a}/edit", STAFF),
    Route("frameworks.index", "GET", "/frameworks/", {"admin"}),
    Route("frameworks.show", "GET", "/frameworks/{framework}", {"admin"}),
    Route("frameworks.upload", "POST", "/frameworks/", {"admin"}, {}, (302,)),
    Route("reports.download", "GET", "/cases/{case_a}/report", CASE_READERS),
    Route("reports.version", "GET", "/cases/{case_a}/reports/1", CASE_READERS),
    Route("reports.batch_reports", "POST", "/batches/{batch}/reports", STAFF, {}, (302,)),
    Route("reports.job", "GET", "/reports/jobs/{job_a}", STAFF),
    Route("reports.job_download", "GET", "/reports/jobs/{job_a}/download", STAFF),
    Route("accounts.users", "GET", "/users", {"admin"}),
    Route("accounts.new_user", "GET", "/users/new", {"admin"}),
    Route("accounts.edit_user", "GET", "/users/{firm_user_b}", {"admin"}),
    Route(
        "accounts.reset_password",
        "POST",
        "/users/{firm_user_b}/password",
        {"admin"},
        {"pw-password": "new-password-1", "pw-confirm": "new-password-1"},
        (302,),
    ),
    Route("accounts.toggle_active", "POST", "/users/{firm_user_b}/active", {"admin"}, {}, (302,)),
    # Everyone's own profile: there is no other user's to open.
    Route("accounts.profile", "GET", "/profile", EVERYONE),
    Route("notifications.index", "GET", "/notifications/", EVERYONE),
    # firm A's user was told of visit_a: only they may read it (anyone else: 404).
    Route("notifications.read", "POST", "/notifications/{notice_a}/read", {"firm_own"}, {}, (302,)),
    Route("notifications.read_all", "POST", "/notifications/read-all", EVERYONE, {}, (302,)),
    # The API tokens page: everyone their own; a token is revoked by its owner only (firm B's here).
    Route("tokens.profile", "GET", "/profile/tokens", EVERYONE),
    Route("tokens.create", "POST", "/profile/tokens", EVERYONE, {"name": "n"}),
    Route(
        "tokens.revoke", "POST", "/profile/tokens/{token_firm_b}/revoke", {"firm_other"}, {}, (302,)
    ),
]


@dataclass
class ApiRoute:
    """An /api/v1 endpoint, called with the user's bearer token."""

    endpoint: str
    method: str
    path: str
    allowed: set[str]
    json: dict | None = None
    ok: tuple[int, ...] = (200,)


#: The API under the same rules as the pages. A permitted call that the record's state refuses
#: answers 409 or 422 (item_a is open: nothing to verify or return, no measure to submit).
API_ROUTES = [
    ApiRoute("api.me", "GET", "/api/v1/me", EVERYONE),
    ApiRoute("api.list_batches", "GET", "/api/v1/batches", EVERYONE),
    # Firm B has a case in the batch too; expert_b has none.
    ApiRoute("api.get_batch", "GET", "/api/v1/batches/{batch}", EVERYONE - {"expert_other"}),
    ApiRoute("api.list_firms", "GET", "/api/v1/firms", STAFF),
    ApiRoute("api.get_firm", "GET", "/api/v1/firms/{firm_a}", STAFF),
    ApiRoute("api.list_cases", "GET", "/api/v1/cases", EVERYONE),
    ApiRoute("api.get_case", "GET", "/api/v1/cases/{case_a}", CASE_READERS),
    ApiRoute("api.list_stages", "GET", "/api/v1/cases/{case_a}/stages", CASE_READERS),
    ApiRoute("api.list_items", "GET", "/api/v1/cases/{case_a}/items", CASE_READERS),
    ApiRoute(
        "api.add_item",
        "POST",
        "/api/v1/cases/{case_a}/items",
        STAFF | {"expert_assigned"},
        {"description": "d", "severity": "general"},
        (201,),
    ),
    ApiRoute("api.get_item", "GET", "/api/v1/items/{item_a}", CASE_READERS),
    ApiRoute(
        "api.work_item",
        "PATCH",
        "/api/v1/items/{item_a}",
        {"firm_own"},
        {"measure": "m", "version": 1},
    ),
    ApiRoute(
        "api.upload_evidence", "POST", "/api/v1/items/{item_a}/evidence", {"firm_own"}, None, (422,)
    ),
    ApiRoute("api.submit_item", "POST", "/api/v1/items/{item_a}/submit", {"firm_own"}, {}, (422,)),
    ApiRoute(
        "api.verify_item",
        "POST",
        "/api/v1/items/{item_a}/verify",
        {"expert_assigned"},
        None,
        (409,),
    ),
    ApiRoute(
        "api.return_item",
        "POST",
        "/api/v1/items/{item_a}/return",
        {"expert_assigned"},
        {"reason": "r"},
        (409,),
    ),
    ApiRoute("api.waive_item", "POST", "/api/v1/items/{item_a}/waive", STAFF, {"reason": "r"}),
    ApiRoute("api.download_file", "GET", "/api/v1/files/{doc_a}", CASE_READERS),
    ApiRoute("api.download_file", "GET", "/api/v1/files/{material_a}", EVERYONE - {"expert_other"}),
    ApiRoute("api.list_visits", "GET", "/api/v1/cases/{case_a}/visits", CASE_READERS),
    ApiRoute(
        "api.confirm_visit",
        "POST",
        "/api/v1/visits/{visit_a}/confirm",
        STAFF | {"firm_own"},
        {"reason": "r"},
    ),
    # case_p's baseline is accepted (the firm reads it) and its plan has an approved version.
    ApiRoute("api.get_diagnosis", "GET", "/api/v1/cases/{case_p}/diagnosis/baseline", CASE_READERS),
    ApiRoute("api.list_plan_versions", "GET", "/api/v1/cases/{case_p}/plan", CASE_READERS),
    # A closed case's archived report (tests/test_api.py renders a draft once).
    ApiRoute("api.get_report", "GET", "/api/v1/cases/{case_closed}/report", CASE_READERS),
]

#: Routes open to anyone (no data behind them) or that only sign in/out.
PUBLIC = {
    "accounts.login",
    "accounts.logout",
    "static",
    "fonts.font",
    "i18n.set_language",
    # The API's OpenAPI document and its page: no data behind them.
    "api.openapi",
    "api.docs",
}


def resolve(text: str, world) -> str:
    ids = {name: getattr(world, name).id for name in vars(world)}
    return text.format(**ids)


def call(client, route: Route, world):
    url = resolve(route.path, world)
    if route.method == "GET":
        return client.get(url)
    data = {
        key: [resolve(v, world) for v in value]
        if isinstance(value, list)
        else resolve(value, world)
        for key, value in route.data.items()
    }
    return client.post(url, data=data)


def _logged_visit(session, world):
    from datetime import date
    from decimal import Decimal

    from pilot.visits.services import log_visit

    return log_visit(
        session,
        world.expert_a,
        world.case_a,
        visit_date=date(2026, 6, 1),
        hours=Decimal(2),
        expert_ids=[],
        activities="诊断",
        today=date(2026, 6, 15),
    )


def _notice_of(session, user):
    from sqlmodel import select

    from pilot.notifications.models import Notification

    return session.exec(select(Notification).where(Notification.recipient_id == user.id)).first()


def _open_item(session, world):
    from datetime import date

    from pilot.rectification.services import add_item

    return add_item(
        session,
        world.staff,
        world.case_a,
        description="质量目标未分解",
        severity="general",
        due_date=None,
        today=date(2026, 6, 15),
    )


def _report_job(session, world):
    """An archived report of case_a and a finished batch ZIP, for the report routes."""
    from pilot.reports.archive import reports_root, store
    from pilot.reports.models import ReportJob
    from pilot.reports.pdf import Rendered

    store(session, world.staff, world.case_a, Rendered(factories.pdf_bytes(), 1))
    (reports_root() / "batches").mkdir(parents=True, exist_ok=True)
    (reports_root() / "batches" / "test.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    job = ReportJob(
        batch_id=world.batch.id,
        requested_by_id=world.staff.id,
        status="done",
        total=2,
        done=2,
        storage_key="batches/test.zip",
    )
    session.add(job)
    session.flush()
    return job


def _training_session(session, world):
    """A held session of the batch inviting case_a, with one material (a batch-wide file)."""
    import decimal
    from datetime import UTC, datetime
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from pilot.files.store import save_upload
    from pilot.training.services import save_session

    training = save_session(
        session,
        world.staff,
        world.batch,
        None,
        case_ids=[world.case_a.id],
        finding_ids=[],
        topic="卓越绩效导入",
        starts_at=datetime(2026, 6, 10, 1, 30, tzinfo=UTC),
        hours=decimal.Decimal(3),
        place="市局",
        trainer="张教授",
        areas=[],
    )
    upload = FileStorage(BytesIO(factories.pdf_bytes()), filename="讲义.pdf")
    material = save_upload(
        session,
        world.staff,
        upload,
        owner_type="training",
        owner_id=training.id,
        batch_id=world.batch.id,
    )
    return training, material


def _plan_world(session, world) -> None:
    """case_p: firm A's case in a second batch, expert_a its lead, with an accepted baseline,
    an approved plan version 1 and a draft version 2 holding an action and a revision."""
    from pilot.plan import services as plan
    from tests.test_plan import accepted_baseline

    case = factories.make_case(
        session, factories.make_batch(session), world.firm_a, experts=[world.expert_a]
    )
    ready = accepted_baseline(session, case, world.expert_a, world.staff, world.firm_user_a)
    v1 = plan.draft(session, world.expert_a, case)
    for finding_id in ready["findings"]:
        action = plan.ActionInput(
            what="w",
            owner="o",
            start_date=date(2026, 7, 1),
            due_date=date(2026, 9, 30),
            finding_id=finding_id,
        )
        plan.add_action(session, world.expert_a, v1, action)
    plan.submit(session, world.expert_a, v1)
    plan.approve(session, world.staff, v1)
    v2 = plan.start_new_version(session, world.expert_a, case)
    plan.revise_target(
        session,
        world.expert_a,
        v2,
        target_id=ready["target"],
        new_target=Decimal("98"),
        new_date=date(2027, 3, 31),
        reason="r",
    )
    world.case_p = case
    world.plan_action = v2.actions[0]
    world.plan_revision = v2.revisions[0]
    world.work_target = session.get(WorkTarget, ready["target"])


def _closed_case(session, world):
    """Firm A's case in another batch, expert_a its lead, closed with its report archived (set
    directly: closing through the services takes all six stages; tests/test_evaluation.py does
    that)."""
    from pilot.database import utcnow
    from pilot.reports.archive import store
    from pilot.reports.pdf import Rendered

    case = factories.make_case(
        session, factories.make_batch(session), world.firm_a, experts=[world.expert_a]
    )
    case.closed_at = utcnow()
    # Its final report, archived on closing: reading it renders nothing.
    store(session, world.staff, case, Rendered(factories.pdf_bytes(), 1))
    return case


#: Each world's bearer secrets by matrix user, per variant (built in this process).
SECRETS: dict[str, dict[str, str]] = {}


def _tokens(session, world, variant: str) -> None:
    from pilot.api.services import issue_token

    users = {
        "admin": world.admin,
        "staff": world.staff,
        "expert_assigned": world.expert_a,
        "expert_other": world.expert_b,
        "firm_own": world.firm_user_a,
        "firm_other": world.firm_user_b,
    }
    SECRETS[variant] = {}
    for who, user in users.items():
        token, SECRETS[variant][who] = issue_token(session, user, "matrix")
        if who == "firm_other":
            world.token_firm_b = token


def _build(session, variant: str) -> SimpleNamespace:
    """The shared world plus the records the routes above point at. An accepted diagnosis takes
    a while to build: only the plan's rows get one ("plan"), and only the reopen row gets a
    closed case ("closed")."""
    world = build_world(session)
    world.doc_a = factories.make_case_document(session, world.case_a, world.staff)
    world.visit_a = _logged_visit(session, world)
    world.notice_a = _notice_of(session, world.firm_user_a)
    world.framework = load_shipped(session)[0]
    world.item_a = _open_item(session, world)
    world.training_a, world.material_a = _training_session(session, world)
    world.job_a = _report_job(session, world)
    if variant == "plan":
        _plan_world(session, world)
    if variant == "closed":
        world.case_closed = _closed_case(session, world)
    _tokens(session, world, variant)
    session.commit()
    return world


def _variant(request) -> str:
    route = _route(request)
    if route is not None and "{case_p}" in route.path:
        return "plan"
    if route is not None and "{case_closed}" in route.path:
        return "closed"
    return "base"


def _route(request) -> Route | ApiRoute | None:
    callspec = getattr(request.node, "callspec", None)
    if not callspec:
        return None
    return callspec.params.get("route") or callspec.params.get("api_route")


def _digest(folder: Path) -> str:
    """A hash of every file under `folder` (the database file on SQLite, uploads, reports)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class MatrixWorlds:
    """Each world (base, plan, closed) built once in its own folder (database, uploads, reports)
    and copied into the one app's folder when a row needs it.

    On SQLite the database is a file in the folder; on PostgreSQL each world is a template
    database and the app's database is dropped and created from it again.
    """

    def __init__(self, root: Path, sqlite_template: Path | None):
        self.root = root
        self.sqlite_template = sqlite_template
        self.worlds: dict[str, tuple[Path, str, dict, str]] = {}
        #: The world now in the app's folder, None when a row may have changed it.
        self.current: str | None = None
        self.live = root / "live"
        self.live.mkdir()
        self.app = make_test_app(self._new_database(self.live, "pilot_matrix"), self.live)

    def _new_database(self, folder: Path, prefix: str) -> str:
        if PG_URL:
            url = make_database(PG_URL, prefix)
            create_schema(url)
            return url
        url = f"sqlite:///{folder / 'test.sqlite'}"
        copy_sqlite(self.sqlite_template, url)
        return url

    def _built(self, variant: str) -> tuple[Path, str, dict, str]:
        if variant not in self.worlds:
            folder = self.root / variant
            folder.mkdir()
            url = self._new_database(folder, f"pilot_matrix_{variant}")
            app = make_test_app(url, folder)
            with app.app_context(), force_locale("en"):
                world = _build(db.session, variant)
                ids = record_ids(world)
                db.engine.dispose()
            self.worlds[variant] = (folder, url, ids, _digest(folder))
        return self.worlds[variant]

    def prepare(self, variant: str, reuse: bool) -> None:
        """Give the app a fresh copy of the world, unless `reuse` and it holds one already."""
        folder, url, _, _ = self._built(variant)
        if reuse and self.current == variant:
            return
        with self.app.app_context():
            db.engine.dispose()
        for name in ("instance", "files"):
            shutil.rmtree(self.live / name, ignore_errors=True)
            if (folder / name).exists():
                shutil.copytree(folder / name, self.live / name)
        if PG_URL:
            live = sa.make_url(self.app.config["DATABASE_URL"]).database
            template = sa.make_url(url).database
            engine = sa.create_engine(
                sa.make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
            )
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{live}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{live}" TEMPLATE "{template}"'))
            engine.dispose()
        else:
            copy_sqlite(folder / "test.sqlite", self.app.config["DATABASE_URL"])
        self.current = variant

    def unchanged(self, variant: str) -> bool:
        return _digest(self.live) == self._built(variant)[3]

    def load(self, session, variant: str) -> SimpleNamespace:
        """The world's records, read in the test's session."""
        return load_records(session, self._built(variant)[2])

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()
        if PG_URL:
            for _, url, _, _ in self.worlds.values():
                drop_database(url)
            drop_database(self.app.config["DATABASE_URL"])


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, request):
    template = None if PG_URL else request.getfixturevalue("sqlite_template")
    worlds = MatrixWorlds(tmp_path_factory.mktemp("matrix"), template)
    yield worlds
    worlds.close()


@pytest.fixture
def app(matrix, request):
    """The module's one app, holding a fresh copy of the row's world.

    A row whose route only reads (GET) reuses the copy the previous reading row left, on SQLite,
    and fails if it changed anything in it. On PostgreSQL every row gets a fresh copy.
    """
    variant = _variant(request)
    route = _route(request)
    reading = route is not None and route.method == "GET" and not PG_URL
    matrix.prepare(variant, reuse=reading)
    yield matrix.app
    if not reading:
        matrix.current = None
    elif not matrix.unchanged(variant):
        matrix.current = None
        pytest.fail(f"{route.method} {route.path} changed the database or the files")


@pytest.fixture
def world(matrix, session, request):
    return matrix.load(session, _variant(request))


@pytest.fixture(autouse=True)
def no_report_process(monkeypatch):
    """Asking for a batch ZIP queues no job here (the tests' queue runs tasks at once): the
    matrix checks who may ask; tests/test_background.py runs the job itself end to end."""
    started = []
    monkeypatch.setattr(jobs, "start_job", started.append)
    return started


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
@pytest.mark.parametrize("who", list(USERS))
def test_route_permissions(client, world, route, who):
    login(client, USERS[who])
    response = call(client, route, world)
    response.close()
    if who in route.allowed:
        assert response.status_code in route.ok, response.get_data(as_text=True)[:300]
    else:
        assert response.status_code in (403, 404)
        # Nothing of firm A leaks into a refusal.
        assert world.firm_a.name not in response.get_data(as_text=True)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_anonymous_is_sent_to_login(client, world, route):
    response = call(client, route, world)
    response.close()
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def call_api(client, route: ApiRoute, world, secret: str | None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.open(
        resolve(route.path, world), method=route.method, json=route.json, headers=headers
    )


@pytest.mark.parametrize("api_route", API_ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
@pytest.mark.parametrize("who", list(USERS))
def test_api_permissions(client, world, request, api_route, who):
    response = call_api(client, api_route, world, SECRETS[_variant(request)][who])
    response.close()
    if who in api_route.allowed:
        assert response.status_code in api_route.ok, response.get_data(as_text=True)[:300]
    else:
        assert response.status_code in (403, 404), response.get_data(as_text=True)[:300]
        assert response.get_json()["code"] in ("forbidden", "not_found")
        assert world.firm_a.name not in response.get_data(as_text=True)


@pytest.mark.parametrize("api_route", API_ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_api_without_a_token_is_refused(client, world, api_route):
    login(client, "admin")  # a browser's session is no API credential
    response = call_api(client, api_route, world, None)
    response.close()
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_every_route_is_in_the_matrix(app):
    covered = {r.endpoint for r in ROUTES} | {r.endpoint for r in API_ROUTES} | PUBLIC
    missing = {rule.endpoint for rule in app.url_map.iter_rules()} - covered
    assert not missing, f"routes missing from the permission matrix: {sorted(missing)}"


def test_withdrawn_case_can_be_reinstated_by_staff_only(client, world, session):
    from pilot.cases.services import withdraw_case

    withdraw_case(session, world.staff, world.case_a, "moved away")
    session.commit()
    for who in ("expert_assigned", "firm_own"):
        login(client, USERS[who])
        assert (
            client.post(f"/cases/{world.case_a.id}/reinstate", data={"reason": "x"}).status_code
            == 403
        )
        client.post("/logout")
    login(client, "staff")
    response = client.post(f"/cases/{world.case_a.id}/reinstate", data={"reason": "back"})
    assert response.status_code == 302
    session.refresh(world.case_a)
    assert not world.case_a.is_withdrawn
