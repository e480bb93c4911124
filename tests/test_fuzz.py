"""No 500 for any input: every URL with bad ids, every page's filters with odd values, and every
form the pages show, posted with fields left out and with a corpus of hostile values, by every kind
of user on the demo batch (a case in every state)."""

import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from pilot import create_app
from pilot.demo import DEMO_PASSWORD
from pilot.extensions import db
from tests import demo
from tests.conftest import TODAY, CSRFClient

#: Values a careless user or an attacker types into a field or a URL.
CORPUS = [
    "",
    " ",
    "0",
    "-1",
    "2147483648",
    "9" * 25,
    "1e309",
    "NaN",
    "-0.000001",
    "١٢",
    "２０２６-０１-０１",
    "2026-02-30",
    "0000-00-00",
    "a\x00b",
    "a\r\nb",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "😀" * 3,
    "长" * 6000,
]
BAD_IDS = ["0", "2147483648", "9" * 25, "١٢", "%EF%BC%91", "-1", "1.5"]
USERS = ["admin", "staff1", "expert1", "firm01"]
#: Forms that end the signed-in session; posted at the very end.
LAST = ("/logout",)
MAX_PAGES = 400
#: URLs that render a PDF report rather than show a page.
RENDERED = "/report"


class Forms(HTMLParser):
    """The links and the POST forms of a page, with their fields' names and first values."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or "", "fields": {}, "files": []}
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input" and a.get("type") == "file":
            self._form["files"].append(a["name"])
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            if "checked" in a or a["name"] not in self._form["fields"]:
                self._form["fields"].setdefault(a["name"], a.get("value", "y"))
        elif tag in ("input", "textarea"):
            self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self._form["fields"].setdefault(a["name"], "")
        elif tag == "button" and a.get("value") is not None:
            self._form["fields"].setdefault(a["name"], a["value"])

    def handle_starttag_option(self, a):
        if self._select and not self._form["fields"].get(self._select):
            self._form["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def _parse(page: str) -> Forms:
    parser = Forms()
    original = parser.handle_starttag

    def starttag(tag, attrs):
        if tag == "option" and parser._form is not None:
            parser.handle_starttag_option(dict(attrs))
        else:
            original(tag, attrs)

    parser.handle_starttag = starttag
    parser.feed(page)
    return parser


def _app(url: str, instance: Path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(instance),
            "TODAY": TODAY,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SIGN_IN_LIMIT_PER_ACCOUNT": "1000 per minute",
            "SIGN_IN_LIMIT_PER_ADDRESS": "1000 per minute",
            "DRAFT_REPORT_LIMIT": "1000 per minute",
        }
    )
    # Let the error handler answer, as in production, instead of raising into the test.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.test_client_class = CSRFClient
    return app


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def demo_app(shared_demo, tmp_path):
    """A copy of the run's demo for one test: the fuzz deactivates users and resets passwords."""
    url = demo.copy_database(shared_demo, tmp_path / "demo.sqlite")
    demo.copy_files(shared_demo, tmp_path / "instance" / "files", tmp_path / "instance" / "reports")
    app = _app(url, tmp_path / "instance")
    yield app
    _dispose(app)
    demo.drop(url)


def _signed_in(app, username: str) -> CSRFClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def _on_site(href: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith(("/static/", "/fonts/", "/logout")):
        return None
    # A draft report is rendered anew (a second or more): tests/test_reports.py downloads them,
    # and test_no_url_with_a_bad_id_gives_a_500 below still tries the report URLs.
    if parts.path.endswith(RENDERED):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _crawl(client) -> tuple[list[str], list[dict]]:
    """Every page reachable from the home page by links, and the POST forms they show."""
    seen, forms, failures = {"/"}, {}, []
    queue = deque(["/"])
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        response = client.get(path)
        if response.status_code >= 500:
            failures.append(f"GET {path} -> {response.status_code}")
        if response.mimetype != "text/html":
            response.close()
            continue
        parsed = _parse(response.get_data(as_text=True))
        for href in parsed.links:
            target = _on_site(href)
            # Pages of one kind differ by id: a few of each are enough.
            if target and target not in seen and _kind_count(seen, target) < 2:
                seen.add(target)
                queue.append(target)
        for form in parsed.forms:
            action = form["action"] or urlsplit(path).path
            # One form of each kind (the same form on every item of a list is posted once).
            kind = (_kind(action), tuple(sorted(re.sub(r"\d+", "N", f) for f in form["fields"])))
            forms.setdefault(kind, {**form, "action": action})
    assert not failures, failures
    return sorted(seen), list(forms.values())


def _kind(path: str) -> str:
    """A path with its ids taken out: /cases/N/items/N."""
    return re.sub(r"\d+", "N", urlsplit(path).path)


def _kind_count(seen: set[str], target: str) -> int:
    return sum(1 for s in seen if _kind(s) == _kind(target))


@pytest.mark.parametrize("username", USERS)
def test_no_form_or_page_gives_a_500(demo_app, username):
    client = _signed_in(demo_app, username)
    pages, forms = _crawl(client)
    assert len(pages) > 5 and forms
    failures = []

    def post(action: str, data: dict, label: str):
        response = client.post(action, data=data)
        if response.status_code >= 500:
            failures.append(f"POST {action} ({label}) -> {response.status_code}")
        response.close()

    forms.sort(key=lambda f: f["action"] in LAST)
    for form in forms:
        if form["action"] in LAST:
            continue
        fields = {k: v for k, v in form["fields"].items() if k != "csrf_token"}
        post(form["action"], {}, "every field left out")
        post(form["action"], dict(fields), "as shown")
        # A hand-made request that leaves out one field: one field of each kind (score_12 and
        # score_13 are one kind), so a form of a hundred scores is not posted a hundred times.
        for name in {re.sub(r"\d+", "N", name): name for name in fields}.values():
            post(form["action"], {k: v for k, v in fields.items() if k != name}, f"without {name}")
        for value in CORPUS:
            post(form["action"], {name: value for name in fields}, f"every field = {value[:12]!r}")
    # Query strings: each filter of each page with each odd value.
    for page in {_kind(page): page for page in pages}.values():
        parts = urlsplit(page)
        names = {k for k, _v in parse_qsl(parts.query)} | {"batch", "case", "sort", "dir", "page"}
        for value in ("9" * 25, "١٢", "-1", "a\x00b", "<x>"):
            url = f"{parts.path}?{urlencode(dict.fromkeys(names, value))}"
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"GET {url} -> {response.status_code}")
            response.close()
    assert not failures, "\n".join(failures)


def test_no_url_with_a_bad_id_gives_a_500(demo_app):
    client = _signed_in(demo_app, "admin")
    failures = []
    for rule in demo_app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint == "static":
            continue
        for bad in BAD_IDS:
            path = re.sub(r"<(?:int:)?[^>]+>", bad, rule.rule)
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(path, method=method, data={})
                if response.status_code >= 500:
                    failures.append(f"{method} {path} -> {response.status_code}")
                response.close()
    assert not failures, "\n".join(failures)


def test_the_fuzz_reaches_the_database(demo_app):
    """The corpus really goes through: the demo's records are there to be hit."""
    with demo_app.app_context():
        count = db.session.execute(sa.text("SELECT count(*) FROM rectification_item")).scalar()
    assert count > 20
