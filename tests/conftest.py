"""Fixtures: a fresh database per test (SQLite, or PostgreSQL with PILOT_TEST_DATABASE_URL),
a test client that keeps CSRF on, a login helper and a small world of users and cases."""

import contextvars
import os
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_babel import force_locale
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import SQLModel

import pilot.models  # noqa: F401
from pilot import create_app
from pilot.extensions import db
from tests import factories

PG_URL = os.environ.get("PILOT_TEST_DATABASE_URL")
TODAY = "2026-06-15"


def make_database(server_url: str, prefix: str) -> str:
    """Create an empty PostgreSQL database beside the given one; return its URL."""
    url = sa.make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(db_url: str) -> None:
    url = sa.make_url(db_url)
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_database():
    """One PostgreSQL database for the run, its tables emptied before each test."""
    if not PG_URL:
        yield None
        return
    url = make_database(PG_URL, "pilot_test")
    engine = sa.create_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture
def database_url(pg_database, tmp_path):
    if pg_database is None:
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    engine = sa.create_engine(pg_database)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return pg_database


class CSRFClient(FlaskClient):
    """A test client that adds a valid CSRF token to form posts, so CSRF stays on in tests.

    It reads the English interface, so tests can assert messages by their source text; the
    Chinese default is tested on its own (forget_language) and the catalogue is checked whole.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with self.session_transaction() as session:
            session["lang"] = "en"

    def forget_language(self) -> None:
        with self.session_transaction() as session:
            session.pop("lang", None)

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", uuid.uuid4().hex)
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def open(self, *args, **kwargs):
        csrf = kwargs.pop("csrf", True)
        data = kwargs.get("data")
        if csrf and kwargs.get("method", "GET") == "POST" and isinstance(data, dict):
            data.setdefault("csrf_token", self.csrf_token())
        # Each request runs outside the test's app context, as in production: its own `g`,
        # its own database session, its own Flask-Login user.
        return contextvars.Context().run(super().open, *args, **kwargs)

    def post(self, *args, **kwargs):
        kwargs.setdefault("data", {})
        return self.open(*args, method="POST", **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "FILES_PATH": str(tmp_path / "files"),
            "TODAY": TODAY,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    app.test_client_class = CSRFClient
    with app.app_context():
        if database_url.startswith("sqlite"):
            SQLModel.metadata.create_all(db.engine)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The app's session inside an app context, for arranging data and checking results.

    Services called from a test speak English, like the test client's pages.
    """
    with app.app_context(), force_locale("en"):
        yield db.session


@pytest.fixture
def client(app) -> CSRFClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def login(client, username: str, password: str = factories.PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def world(session):
    """Two firms' cases in one batch, with a user of every kind.

    case_a belongs to firm_a, with expert_a as lead; expert_b is assigned to nothing;
    firm_b's user has a case of their own (case_b).
    """
    w = SimpleNamespace()
    w.admin = factories.make_user(session, "admin", "admin")
    w.staff = factories.make_user(session, "staff", "staff")
    w.expert_a = factories.make_user(session, "expert", "expert_a")
    w.expert_b = factories.make_user(session, "expert", "expert_b")
    w.batch = factories.make_batch(session)
    w.firm_a = factories.make_firm(session, "甲企业有限公司")
    w.firm_b = factories.make_firm(session, "乙企业有限公司")
    w.firm_user_a = factories.make_user(session, "firm", "firm_a", firm_id=w.firm_a.id)
    w.firm_user_b = factories.make_user(session, "firm", "firm_b", firm_id=w.firm_b.id)
    w.case_a = factories.make_case(session, w.batch, w.firm_a, experts=[w.expert_a])
    w.case_b = factories.make_case(session, w.batch, w.firm_b)
    session.commit()
    return w
