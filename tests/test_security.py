"""What every response holds: no start with the placeholder key, security headers on pages, no
script inline, redirects that stay on this site, ids the database can take, an error page that
survives a failed statement, and the production server."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from pilot import create_app
from pilot.config import PROJECT_ROOT
from pilot.extensions import db
from tests import demo, factories
from tests.conftest import PG_URL, login


def test_the_app_refuses_to_start_with_the_placeholder_key(tmp_path):
    config = {"SECRET_KEY": "change-me", "INSTANCE_PATH": str(tmp_path), "TESTING": False}
    with pytest.raises(RuntimeError, match="SECRET_KEY is the placeholder"):
        create_app(config)


def test_a_page_carries_the_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    header = response.headers["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_template_holds_an_inline_script_or_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}: {match.group(0)}"
        for path in (PROJECT_ROOT / "templates").rglob("*.html")
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_page_script_is_served_and_allowed(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<script src="/static/app.js" defer></script>' in page
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert "data-autosubmit" in script.get_data(as_text=True)
    script.close()


#: Targets as the server reads them (decoded from the query string or the form).
OFF_SITE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "//evil.example",
    "/\\evil.example",
    "/\\\\evil.example",
    "https://evil.example",
    "https:evil.example",
    "/\r\nSet-Cookie: x=1",
    " //evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(client, world, target):
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "staff", "password": factories.PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", OFF_SITE)
def test_language_switch_never_redirects_off_site(client, target):
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("query", ["next=/%09/evil.example", "next=/%0d%0aSet-Cookie:%20x=1"])
def test_login_with_an_encoded_control_character_stays_home(client, world, query):
    response = client.post(
        f"/login?{query}", data={"username": "staff", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_path_on_this_site(client, world):
    response = client.post(
        "/login",
        query_string={"next": "/cases/1?tab=items"},
        data={"username": "staff", "password": factories.PASSWORD},
    )
    assert response.headers["Location"] == "/cases/1?tab=items"


@pytest.mark.parametrize(
    "path",
    [
        "/cases/9223372036854775808",
        "/cases/99999999999999999999999",
        "/cases/2147483648",
        "/cases/%D9%A1%D9%A2",  # Arabic-Indic digits
        "/cases/%EF%BC%91",  # a full-width 1
        "/files/18446744073709551616",
    ],
)
def test_an_id_out_of_range_or_not_ascii_is_not_found(client, world, path):
    login(client, "staff")
    response = client.get(path)
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["99999999999999999999999", "2147483648", "١٢", "-1", "1e3"])
def test_a_filter_id_out_of_range_is_ignored(client, world, value):
    login(client, "staff")
    for name in ("expert", "batch"):
        response = client.get("/", query_string={name: value})
        assert response.status_code == 200


def test_the_error_page_survives_a_failed_statement(app, client, world):
    """A failing query aborts the transaction (on PostgreSQL every later query fails too); the
    error page, which reads the signed-in user, still shows in the user's language."""

    def broken():
        db.session.execute(sa.text("SELECT no_such_column FROM no_such_table"))

    app.add_url_rule("/test-broken", "test_broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, "staff")
    response = client.get("/test-broken")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "staff" in page  # the header still shows who is signed in


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stdout.read()}")
        try:
            return urllib.request.urlopen(url, timeout=5)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def test_pilot_serve_runs_gunicorn_and_refuses_the_placeholder_key(tmp_path, shared_demo):
    pilot = shutil.which("pilot", path=str(Path(sys.executable).parent))
    assert pilot, "the console script is installed with the project"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_")}
    env["PILOT_INSTANCE_PATH"] = str(tmp_path / "inst")
    # A migrated database: a copy of the run's demo, which `pilot db upgrade` made.
    (tmp_path / "inst").mkdir()
    url = demo.copy_database(shared_demo, tmp_path / "inst" / "pilot.sqlite")
    if PG_URL:
        env["PILOT_DATABASE_URL"] = url
    try:
        refused = subprocess.run(
            [pilot, "serve"], env=env, capture_output=True, text=True, timeout=60
        )
        assert refused.returncode != 0
        assert "SECRET_KEY is the placeholder" in refused.stderr

        env["PILOT_SECRET_KEY"] = "a-long-random-test-key"
        port = _free_port()
        server = subprocess.Popen(
            [pilot, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            response = _wait_for(f"http://127.0.0.1:{port}/login", server)
            assert response.status == 200
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert not re.search(r"\d", response.headers.get("Server", ""))
        finally:
            server.terminate()
            server.wait(timeout=30)
            server.stdout.close()
    finally:
        demo.drop(url)
