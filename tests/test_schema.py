"""The schema says what is allowed: CHECK constraints on every status-like column, made by the
migrations on SQLite and PostgreSQL, and migrations that keep a real database's rows."""

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import SQLModel, select
from werkzeug.datastructures import FileStorage

import pilot.models  # noqa: F401
from pilot import create_app, migrate
from pilot.audit.models import AuditLog
from pilot.batches.models import DEFAULT_DUE_WEEKS
from pilot.cases.services import assign_experts
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Finding, Severity
from pilot.evaluation import services as evaluation
from pilot.evaluation.models import ServiceRating
from pilot.extensions import db
from pilot.files.models import OwnerType, StoredFile
from pilot.files.store import open_stored, save_upload
from pilot.frameworks.services import load_shipped, set_batch_frameworks
from pilot.stages import STAGE_CODES
from tests.conftest import PG_URL, drop_database, make_database
from tests.test_evaluation import to_stage6

#: The revision before the schema constraints; a database there is upgraded with its rows.
BEFORE_CONSTRAINTS = "82894e580619"

CHECKS = sorted(
    (
        (table.name, constraint)
        for table in SQLModel.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    ),
    key=lambda pair: pair[1].name,
)


@contextmanager
def _migrated_app(path: Path) -> Iterator[Flask]:
    """An app on an empty database brought to head by the migrations (not create_all)."""
    url = make_database(PG_URL, "pilot_schema") if PG_URL else f"sqlite:///{path / 's.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(path / "instance"),
            "FILES_PATH": str(path / "files"),
            "TODAY": "2026-06-15",
        }
    )
    migrate.upgrade(app)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if PG_URL:
            drop_database(url)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated database for the constraint tests: what they write is refused or undone."""
    with _migrated_app(tmp_path_factory.mktemp("schema")) as app:
        yield app


def _allowed(constraint: sa.CheckConstraint) -> list[str]:
    return re.findall(r"'([^']*)'", str(constraint.sqltext))


def _column_of(constraint: sa.CheckConstraint) -> str:
    return str(constraint.sqltext).split(" IN ", 1)[0]


def _filler(column: sa.Column):
    """A value of the column's type, for the columns the test does not care about."""
    kind = getattr(column.type, "impl", column.type)  # UTCDateTime is a DateTime
    fillers = [
        (sa.DateTime, datetime.now(UTC)),
        (sa.Date, date(2026, 6, 15)),
        (sa.Boolean, False),
        (sa.Integer, 1),
        (sa.Numeric, Decimal(1)),
        (sa.JSON, []),
    ]
    return next((value for type_, value in fillers if isinstance(kind, type_)), "x")


def _row(table: sa.Table, column: str, value: str) -> dict:
    """A row that satisfies every constraint of the table except, perhaps, column = value.

    Foreign keys are not enforced on the connection used, so ids need not exist.
    """
    row = {c.name: _filler(c) for c in table.columns if not c.nullable and not c.primary_key}
    row.update({c.name: 1 for c in table.primary_key.columns if not c.autoincrement})
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            row[_column_of(constraint)] = _allowed(constraint)[0]
    row[column] = value
    return row


def _unchecked_connection(engine: sa.Engine) -> sa.Connection:
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.exec_driver_sql("SET session_replication_role = replica")  # no foreign-key triggers
        conn.commit()  # a SET in a transaction rolled back would be undone
    return conn


def test_every_status_column_has_its_constraint_in_the_migrated_database(migrated):
    with migrated.app_context(), db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table, constraint in CHECKS:
            names = {c["name"] for c in inspector.get_check_constraints(table)}
            assert constraint.name in names, (table, constraint.name)
    assert len(CHECKS) >= 18


@pytest.mark.parametrize(("table", "constraint"), CHECKS, ids=lambda v: getattr(v, "name", v))
def test_a_bad_status_written_straight_into_the_database_is_refused(migrated, table, constraint):
    column = _column_of(constraint)
    target = SQLModel.metadata.tables[table]
    # A plain engine: the app's turns SQLite's foreign keys on.
    with migrated.app_context():
        engine = sa.create_engine(db.engine.url)
    try:
        with _unchecked_connection(engine) as conn:
            # The same row with an allowed value goes in: only the value makes the difference.
            with conn.begin() as transaction:
                conn.execute(target.insert().values(_row(target, column, _allowed(constraint)[-1])))
                transaction.rollback()
            with pytest.raises(sa.exc.IntegrityError, match=constraint.name), conn.begin():
                conn.execute(target.insert().values(_row(target, column, "bogus")))
            # Values are compared as written: a capitalised one is not the same status.
            capitalised = _allowed(constraint)[0].upper()
            with pytest.raises(sa.exc.IntegrityError, match=constraint.name), conn.begin():
                conn.execute(target.insert().values(_row(target, column, capitalised)))
    finally:
        engine.dispose()


def test_stage_marks_allow_exactly_the_stage_codes():
    assert tuple(DEFAULT_DUE_WEEKS) == STAGE_CODES


def test_a_database_with_demo_rows_upgrades_and_downgrades_with_them(app, demo_data):
    """The demo's rows (written by the app, so holding every value it writes) pass the new
    constraints: downgrade past them and upgrade again, on SQLite with its rebuilt tables.
    (`app` is on a copy of the run's demo, which the migrations made: see `demo_data`.)"""
    _round_trip(app)


def _round_trip(migrated: Flask) -> None:
    with migrated.app_context():
        counts = _counts()
        assert counts["rectification_item"] > 20
    migrate.downgrade(migrated, BEFORE_CONSTRAINTS)
    with migrated.app_context():
        down = _counts()
        assert down == {name: counts[name] for name in down}
        # A table added after that revision goes with the downgrade: form submissions, the
        # digest log and the API tokens held no demo rows; the demo's notifications (messages,
        # not records) go with their table.
        gone = {name: counts[name] for name in set(counts) - set(down)}
        assert gone.pop("notification") > 0
        assert gone == {"form_submission": 0, "digest_sent": 0, "api_token": 0}
    migrate.upgrade(migrated)
    with migrated.app_context():
        assert _counts() == {**counts, "notification": 0}
        with db.engine.connect() as conn:
            names = {c["name"] for c in sa.inspect(conn).get_check_constraints("finding")}
        assert names == {"ck_finding_severity", "ck_finding_disposition"}


def _counts() -> dict[str, int]:
    """Rows per table, for the tables the database has at its revision (but the data version's,
    whose one row its migration makes)."""
    with db.engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
            if table.name in present and table.name != "data_version"
        }


# One overall service rating per case ------------------------------------------------------------

SCORES = {"professionalism": 5, "timeliness": 4, "usefulness": 4}


def _ratings(session, case) -> list[ServiceRating]:
    session.expire_all()
    return list(
        session.exec(
            select(ServiceRating).where(ServiceRating.case_id == case.id).order_by(ServiceRating.id)
        ).all()
    )


@pytest.fixture
def rated_cases(session, world, frameworks):
    """case_a and case_b with stage 6 open (a service rating is part of stage 6), expert_a their
    lead."""
    assign_experts(session, world.staff, world.case_b, [world.expert_a.id], world.expert_a.id)
    for case, firm_user in ((world.case_a, world.firm_user_a), (world.case_b, world.firm_user_b)):
        to_stage6(session, world, case, firm_user, world.expert_a)
    return world


def test_two_overall_ratings_leave_one_row_with_the_second(session, rated_cases):
    world = rated_cases
    firm_user = world.firm_user_a
    first = evaluation.rate(
        session, firm_user, world.case_a, expert_id=None, scores=SCORES, comment="好"
    )
    session.commit()
    second = evaluation.rate(
        session,
        firm_user,
        world.case_a,
        expert_id=None,
        scores=SCORES | {"usefulness": 2},
        comment="一般",
    )
    session.commit()
    rows = _ratings(session, world.case_a)
    assert [(r.id, r.usefulness, r.comment) for r in rows] == [(first.id, 2, "一般")]
    assert second.id == first.id
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "rate")).all()) == 2


def test_an_expert_rating_and_the_overall_one_are_two_rows(session, rated_cases):
    world = rated_cases
    for expert_id in (None, world.expert_a.id, world.expert_a.id, None):
        evaluation.rate(
            session, world.firm_user_a, world.case_a, expert_id=expert_id, scores=SCORES, comment=""
        )
        session.commit()
    assert [r.expert_id for r in _ratings(session, world.case_a)] == [None, world.expert_a.id]
    # Each case has its own overall rating.
    evaluation.rate(
        session, world.firm_user_b, world.case_b, expert_id=None, scores=SCORES, comment=""
    )
    session.commit()
    assert len(_ratings(session, world.case_b)) == 1


def test_the_database_refuses_a_second_overall_rating(session, rated_cases):
    world = rated_cases
    evaluation.rate(
        session, world.firm_user_a, world.case_a, expert_id=None, scores=SCORES, comment=""
    )
    session.commit()
    with pytest.raises(sa.exc.IntegrityError, match="uq_service_rating_case_id_overall|UNIQUE"):
        session.add(
            ServiceRating(case_id=world.case_a.id, rated_by_id=world.firm_user_a.id, **SCORES)
        )
        session.flush()
    session.rollback()
    assert len(_ratings(session, world.case_a)) == 1


# Removing a finding removes its evidence --------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def finding_with_evidence(session, world):
    """A draft baseline finding with two versions of one evidence photo and another file."""
    shipped = load_shipped(session)
    set_batch_frameworks(session, world.batch.id, [f.id for f in shipped])
    lead = world.expert_a
    draft = diagnosis.start(session, lead, world.case_a)
    finding = diagnosis.add_finding(
        session,
        lead,
        draft,
        item_id=shipped[0].items[0].id,
        description="过程检验记录缺失",
        severity=Severity.GENERAL,
    )
    for name in ("现场照片.png", "现场照片.png", "记录.png"):
        save_upload(
            session,
            lead,
            FileStorage(io.BytesIO(PNG), name),
            owner_type=OwnerType.FINDING,
            owner_id=finding.id,
            case_id=world.case_a.id,
        )
    session.commit()
    return finding


def _evidence(session) -> list[StoredFile]:
    session.expire_all()
    return list(session.exec(select(StoredFile).where(StoredFile.owner_type == OwnerType.FINDING)))


def test_removing_a_finding_removes_its_evidence_rows_then_bytes(
    session, world, finding_with_evidence
):
    files = _evidence(session)
    assert sorted(f.version for f in files) == [1, 1, 2]
    paths = [open_stored(f) for f in files]
    diagnosis.remove_finding(session, world.expert_a, finding_with_evidence)
    session.flush()
    assert _evidence_count(session) == 0
    assert all(p.is_file() for p in paths)  # not before the removal is kept
    session.commit()
    assert not any(p.exists() for p in paths)
    assert session.exec(select(Finding)).all() == []
    removals = session.exec(
        select(AuditLog).where(AuditLog.record_type == "stored_file", AuditLog.action == "remove")
    ).all()
    assert sorted(r.before["name"] for r in removals) == [
        "现场照片.png",
        "现场照片.png",
        "记录.png",
    ]


def _evidence_count(session) -> int:
    return session.exec(
        select(sa.func.count()).select_from(StoredFile).where(StoredFile.owner_type == "finding")
    ).one()


def test_a_finding_removal_rolled_back_keeps_its_evidence(session, world, finding_with_evidence):
    paths = [open_stored(f) for f in _evidence(session)]
    diagnosis.remove_finding(session, world.expert_a, finding_with_evidence)
    session.flush()
    session.rollback()
    assert _evidence_count(session) == 3
    assert all(p.is_file() for p in paths)
    # A later commit does not run the forgotten removal.
    session.commit()
    assert all(p.is_file() for p in paths)


def test_no_stored_file_points_at_a_missing_finding(session, world, finding_with_evidence):
    other = session.get(Finding, finding_with_evidence.id)
    diagnosis.remove_finding(session, world.expert_a, other)
    session.commit()
    dangling = session.exec(
        select(StoredFile).where(
            StoredFile.owner_type == OwnerType.FINDING,
            StoredFile.owner_id.not_in(select(Finding.id)),
        )
    ).all()
    assert dangling == []
