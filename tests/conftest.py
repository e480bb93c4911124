"""Fixtures: a fresh database per test (SQLite, or PostgreSQL with PILOT_TEST_DATABASE_URL),
a test client that keeps CSRF on, a login helper and a small world of users and cases.

The schema is built once per test process (each pytest-xdist worker is one) into a template:
on SQLite a database file that each test copies, on PostgreSQL one database per worker whose
tables are emptied before each test. The demo batch is built once per run (tests/demo.py) and
copied by the tests that ask for `demo_data`.
"""

import contextvars
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_babel import force_locale
from itsdangerous import URLSafeTimedSerializer
from jinja2 import BytecodeCache
from sqlmodel import SQLModel
from werkzeug.routing.rules import Rule

import pilot.models  # noqa: F401
from pilot import create_app
from pilot.extensions import db
from pilot.frameworks.models import Framework
from tests import demo, factories

PG_URL = os.environ.get("PILOT_TEST_DATABASE_URL")
TODAY = "2026-06-15"
#: "gw0", "gw1"… under pytest-xdist, "main" without it: names each worker's own databases.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


#: Where the run's shared demo is built: set by the first process, inherited by xdist's workers.
DEMO_FOLDER = "TESTS_SHARED_DEMO_FOLDER"


def reuse_url_builders() -> None:
    """Keep Werkzeug's compiled URL builders for the run instead of compiling them per app.

    Every new app compiles two small Python functions for each of its URL rules: three quarters
    of the 40 ms create_app takes, and the suite makes an app per test. Such a function depends
    only on the rule's parsed shape and defaults (it reads the rule's converters when called),
    so one compiled function serves every app's copy of the rule.
    """
    compile_builder = Rule._compile_builder
    builders = {}

    def reused(self, append_unknown=True):
        shape = (tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if shape not in builders:
            builders[shape] = compile_builder(self, append_unknown)
        return builders[shape]

    Rule._compile_builder = reused


def pytest_configure(config):
    reuse_url_builders()
    if hasattr(config, "workerinput"):
        return  # a pytest-xdist worker: the controller made the folder
    folder = Path(tempfile.mkdtemp(prefix="pilot-demo-"))
    os.environ[DEMO_FOLDER] = str(folder)
    # With workers, build the demo beside them from the start; alone, when a test first needs it.
    distributed = config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses")
    config.demo_build = demo.start_in_background(folder) if distributed else None


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown when it is not loaded
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores. A browser test waits on Chromium and its live
    server in turn, and the demo's build waits on its commands; the extra worker keeps the cores
    busy meanwhile."""
    return len(os.sched_getaffinity(0)) + 1


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        demo.finish(Path(os.environ[DEMO_FOLDER]), config.demo_build)


@pytest.fixture(scope="session")
def shared_demo() -> demo.SharedDemo:
    """The demo instance of this run (tests/demo.py), waited for if it is being built."""
    return demo.shared(Path(os.environ[DEMO_FOLDER]))


def make_database(server_url: str, prefix: str) -> str:
    """Create an empty PostgreSQL database beside the given one; return its URL."""
    url = sa.make_url(server_url)
    name = f"{prefix}_{WORKER}_{uuid.uuid4().hex[:10]}"
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


def create_schema(url: str) -> None:
    engine = sa.create_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()


def copy_sqlite(template: Path, url: str) -> None:
    """Put a copy of the template database file where the SQLite URL points."""
    shutil.copyfile(template, sa.make_url(url).database)


@pytest.fixture(scope="session")
def pg_database():
    """One PostgreSQL database for this worker, its tables emptied before each test."""
    if not PG_URL:
        yield None
        return
    url = make_database(PG_URL, "pilot_test")
    create_schema(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file holding the empty schema, built once for this worker and copied per test
    (a file copy takes a millisecond, create_all a third of a second)."""
    path = tmp_path_factory.mktemp("template") / "schema.sqlite"
    create_schema(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def world_template(sqlite_template, tmp_path_factory) -> tuple[Path, dict]:
    """The `world` fixture's records built once for this worker (SQLite): the database file
    that the tests using `world` start from, and the records' ids."""
    folder = tmp_path_factory.mktemp("world")
    url = f"sqlite:///{folder / 'test.sqlite'}"
    copy_sqlite(sqlite_template, url)
    app = make_test_app(url, folder)
    with app.app_context(), force_locale("en"):
        ids = record_ids(build_world(db.session))
        db.session.commit()
        db.engine.dispose()
    return folder / "test.sqlite", ids


@pytest.fixture(scope="session")
def world_frameworks_template(world_template, tmp_path_factory) -> tuple[Path, list[int]]:
    """The world with the `frameworks` fixture's records, built once for this worker (SQLite):
    the database file and the frameworks' ids."""
    folder = tmp_path_factory.mktemp("world-frameworks")
    url = f"sqlite:///{folder / 'test.sqlite'}"
    copy_sqlite(world_template[0], url)
    app = make_test_app(url, folder)
    with app.app_context(), force_locale("en"):
        world = load_records(db.session, world_template[1])
        ids = [framework.id for framework in add_frameworks(db.session, world.batch)]
        db.session.commit()
        db.engine.dispose()
    return folder / "test.sqlite", ids


@pytest.fixture
def database_url(request, tmp_path):
    if "demo_data" in request.fixturenames:
        url = demo.copy_database(request.getfixturevalue("shared_demo"), tmp_path / "test.sqlite")
        request.addfinalizer(lambda: demo.drop(url))
        return url
    if not PG_URL:
        # A test that uses `world` starts from a copy of the world built once (see `world`),
        # with the frameworks loaded if it uses them too (see `frameworks`).
        if {"world", "frameworks"} <= set(request.fixturenames):
            template = request.getfixturevalue("world_frameworks_template")[0]
        elif "world" in request.fixturenames:
            template = request.getfixturevalue("world_template")[0]
        else:
            template = request.getfixturevalue("sqlite_template")
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
        copy_sqlite(template, url)
        return url
    pg_database = request.getfixturevalue("pg_database")
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


class SharedBytecode(BytecodeCache):
    """Compiled templates kept in memory for the whole run, shared by every app of a worker.

    Each test makes its own app, whose Jinja environment would otherwise parse and compile every
    template it renders again. Jinja checks each template's source checksum before using a
    stored bytecode, so an edited template is compiled anew.
    """

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = SharedBytecode()


def make_test_app(database_url: str, folder: Path):
    """The app as the tests use it, on the given database, its files under `folder`."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(folder / "instance"),
            "FILES_PATH": str(folder / "files"),
            "TODAY": TODAY,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # Background tasks run as they are queued (tests/test_background.py runs workers).
            "QUEUE_IMMEDIATE": True,
        }
    )
    app.test_client_class = CSRFClient
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    return app


@pytest.fixture
def app(database_url, tmp_path):
    app = make_test_app(database_url, tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def demo_data(app, shared_demo) -> demo.SharedDemo:
    """The demo batch in the app: its database is a copy of the run's demo (see database_url),
    and this copies the uploads and archived reports beside it."""
    demo.copy_files(shared_demo, Path(app.config["FILES_PATH"]), Path(app.config["REPORTS_PATH"]))
    return shared_demo


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


def wait_for(check, timeout: float = 120.0):
    """Poll a condition until it holds or the time is up (a worker does the job meanwhile)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def login(client, username: str, password: str = factories.PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def world(request, session):
    """Two firms' cases in one batch, with a user of every kind.

    case_a belongs to firm_a, with expert_a as lead; expert_b is assigned to nothing;
    firm_b's user has a case of their own (case_b).

    On SQLite the test's database is already a copy of the world built once for the worker
    (database_url), and this reads its records; on PostgreSQL it builds them.
    """
    if not PG_URL:
        return load_records(session, request.getfixturevalue("world_template")[1])
    w = build_world(session)
    session.commit()
    return w


def record_ids(world: SimpleNamespace) -> dict:
    """Each record of a world by name, as its model and id, to read it again in another copy."""
    return {name: (type(row), row.id) for name, row in vars(world).items()}


def load_records(session, ids: dict) -> SimpleNamespace:
    return SimpleNamespace(**{name: session.get(model, id) for name, (model, id) in ids.items()})


def build_world(session) -> SimpleNamespace:
    """The `world` fixture's records, flushed (not committed)."""
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
    return w


@pytest.fixture
def frameworks(request, session, world):
    """GB/T 19580 and the brand maturity framework with the KPI catalogue, chosen for the world's
    batch. On SQLite the test's database is a copy that holds them already (database_url)."""
    if not PG_URL:
        ids = request.getfixturevalue("world_frameworks_template")[1]
        return [session.get(Framework, id) for id in ids]
    shipped = add_frameworks(session, world.batch)
    session.commit()
    return shipped


def add_frameworks(session, batch) -> list:
    """The shipped frameworks and KPI catalogue loaded and chosen for the batch (flushed)."""
    from pilot.frameworks.services import load_kpi_catalogue, load_shipped, set_batch_frameworks

    shipped = load_shipped(session)
    load_kpi_catalogue(session)
    set_batch_frameworks(session, batch.id, [f.id for f in shipped])
    session.flush()
    return shipped
