"""Browser tests: the demo batch served by a real HTTP server, driven by the system Chromium.

Playwright never downloads a browser here: it launches Debian's /usr/bin/chromium. Without it the
browser tests are skipped locally and fail on CI (CI=true), so they cannot silently vanish there.
"""

import asyncio
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from flask import Flask
from sqlmodel import select
from werkzeug.serving import make_server

from pilot.accounts.models import User
from pilot.cases.models import Case
from pilot.demo import DEMO_PASSWORD
from pilot.extensions import db
from pilot.firms.models import Firm

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BROWSER_TESTS = Path(__file__).resolve().parent
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    """Run the browser tests last, so the rest of the suite never runs beside Playwright's loop.

    Playwright (and the Flask patch below) are session-scoped and live until the run ends; with the
    browser tests last, no other test is set up while they are alive.
    """
    items.sort(key=lambda item: BROWSER_TESTS in item.path.parents)


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def flask_async_beside_playwright():
    """Let Flask run async teardowns while Playwright's sync API is alive in this thread.

    The sync API keeps its event loop marked as running in the main thread between calls, and
    Flask's default async_to_sync (asgiref) refuses to work under a running loop. Flask-SQLAlchemy-
    Lite registers an async teardown, so every app context popped in a test (create_app, the app
    fixture, load_demo) would raise. While a loop runs here, this runs the coroutine in a worker
    thread with its own loop, in a copy of the current context (flask.g lives in a contextvar).
    Flask documents async_to_sync as the method to override for this.
    """
    original = Flask.async_to_sync

    def async_to_sync(self, func):
        default = original(self, func)

        def run(*args, **kwargs):
            if not _loop_running_here():
                return default(*args, **kwargs)
            context = contextvars.copy_context()
            with ThreadPoolExecutor(max_workers=1) as pool:
                return pool.submit(context.run, asyncio.run, func(*args, **kwargs)).result()

        return run

    patch = pytest.MonkeyPatch()
    patch.setattr(Flask, "async_to_sync", async_to_sync)
    yield
    patch.undo()


@pytest.fixture
def live_server(app, demo_data):
    """The app with the demo batch, served on 127.0.0.1 at a free port; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def demo(app, live_server) -> SimpleNamespace:
    """What the live server's demo holds, read from its database: case ids by firm name, the
    firm names, and each firm user's firm name by username."""
    with app.app_context():
        cases = db.session.exec(select(Firm.name, Case.id).join(Case, Case.firm_id == Firm.id))
        users = db.session.exec(
            select(User.username, Firm.name).join(Firm, User.firm_id == Firm.id)
        )
        case_ids = dict(cases.all())
        return SimpleNamespace(
            case_ids=case_ids, firm_names=sorted(case_ids), firm_of=dict(users.all())
        )


@pytest.fixture(scope="session")
def playwright_instance():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def _page(browser, base_url: str, **options):
    context = browser.new_context(base_url=base_url, locale="zh-CN", **options)
    page = context.new_page()
    return context, page


@pytest.fixture
def page(browser, live_server):
    """A desktop page in a fresh context (its own cookies), with the live server as base URL."""
    context, page = _page(browser, live_server, viewport=DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    """A phone-sized page (390×844, mobile, touch) in a fresh context."""
    context, page = _page(
        browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/screenshots/, taken once the web fonts are in."""
    page.evaluate("document.fonts.ready.then(() => true)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def at_path(path: str):
    return lambda url: urlparse(url).path == path


def fill_login(page, username: str, password: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form:has(#password) button[type=submit]").click()


def sign_in(page, username: str) -> None:
    fill_login(page, username, DEMO_PASSWORD)
    page.wait_for_url(at_path("/"))
    page.wait_for_load_state()


@contextmanager
def signed_in(browser, live_server, username: str, viewport=DESKTOP, **options):
    """A fresh browser context signed in as a demo user, closed afterwards."""
    context, page = _page(browser, live_server, viewport=viewport, **options)
    try:
        sign_in(page, username)
        yield page
    finally:
        context.close()


def demo_case(session, firm_name: str) -> Case:
    """The demo case of the named firm, with its experts loaded."""
    case = session.exec(
        select(Case).join(Firm, Firm.id == Case.firm_id).where(Firm.name == firm_name)
    ).one()
    session.refresh(case, ["assignments"])
    return case
