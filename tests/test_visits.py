"""On-site visits: logging with photos, the firm's confirmation or dispute, staff confirming for
the firm, the case page's card and the batch's hours delivered against hours bought."""

import io
import re
import struct
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import func, select
from werkzeug.datastructures import FileStorage

from pilot.audit.models import AuditLog
from pilot.cases.services import assign_experts, withdraw_case
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected
from pilot.visits.models import Visit, VisitStatus
from pilot.visits.services import (
    VisitError,
    add_photos,
    confirm_visit,
    dispute_visit,
    log_visit,
)
from tests import factories
from tests.conftest import login

TODAY = date(2026, 6, 15)  # conftest pins the app's today


def png_bytes(red: int = 200) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, 30, 30]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def visit_form(**overrides) -> dict:
    data = {
        "visit_date": "2026-06-10",
        "hours": "3.5",
        "firm_participants": "王经理（质量部）",
        "activities": "巡查总装车间，访谈质量部。",
    }
    data.update(overrides)
    return data


def new_visit_url(case) -> str:
    return f"/cases/{case.id}/visits/new"


def stored_files(app) -> set[Path]:
    root = Path(app.config["FILES_PATH"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def photos(session) -> list[StoredFile]:
    return session.exec(
        select(StoredFile).where(StoredFile.owner_type == "visit").order_by(StoredFile.id)
    ).all()


def add_visit(session, world, expert=None, case=None, hours="2", experts=(), when=date(2026, 6, 1)):
    visit = log_visit(
        session,
        expert or world.expert_a,
        case or world.case_a,
        visit_date=when,
        hours=Decimal(hours),
        expert_ids=[e.id for e in experts],
        activities="诊断",
        today=TODAY,
    )
    session.commit()
    return visit


@pytest.fixture
def expert_c(session, world):
    """A second expert assigned to case_a (expert_a stays lead)."""
    expert = factories.make_user(session, "expert", "expert_c", display_name="专家丙")
    session.refresh(world.case_a, ["assignments"])
    assign_experts(session, None, world.case_a, [world.expert_a.id, expert.id], world.expert_a.id)
    session.commit()
    return expert


# Logging ----------------------------------------------------------------------------------------


def test_expert_logs_a_visit_with_a_photo(app, client, world, session, expert_c):
    login(client, "expert_a")
    page = client.get(new_visit_url(world.case_a))
    assert page.status_code == 200
    assert 'name="expert_ids"' in page.get_data(as_text=True)

    data = visit_form(expert_ids=[str(expert_c.id)])
    data["photos"] = [(io.BytesIO(png_bytes()), "车间.png")]
    before = stored_files(app)
    response = client.post(new_visit_url(world.case_a), data=data)
    assert response.status_code == 302

    visit = session.exec(select(Visit)).one()
    assert response.headers["Location"] == f"/visits/{visit.id}"
    assert visit.hours == Decimal("3.5")
    assert visit.visit_date == date(2026, 6, 10)
    assert visit.status == VisitStatus.LOGGED
    assert visit.logged_by_id == world.expert_a.id
    session.refresh(visit, ["experts"])
    assert {e.id for e in visit.experts} == {world.expert_a.id, expert_c.id}

    (photo,) = photos(session)
    assert (photo.owner_type, photo.owner_id, photo.case_id) == ("visit", visit.id, world.case_a.id)
    assert photo.name == "车间.png"
    assert len(stored_files(app) - before) == 1

    shown = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert f'href="/files/{photo.id}"' in shown
    assert "巡查总装车间" in shown
    with client.get(f"/files/{photo.id}") as download:
        assert download.data == png_bytes()

    # The firm sees the photo; another firm does not.
    client.post("/logout")
    login(client, "firm_a")
    with client.get(f"/files/{photo.id}") as download:
        assert download.status_code == 200
    client.post("/logout")
    login(client, "firm_b")
    assert client.get(f"/files/{photo.id}").status_code == 404


def test_logging_expert_is_always_present(client, world, session):
    login(client, "expert_a")
    assert client.post(new_visit_url(world.case_a), data=visit_form()).status_code == 302
    visit = session.exec(select(Visit)).one()
    session.refresh(visit, ["experts"])
    assert [e.id for e in visit.experts] == [world.expert_a.id]


def test_several_photos_of_the_same_name_are_all_kept(client, world, session):
    login(client, "expert_a")
    data = visit_form()
    data["photos"] = [
        (io.BytesIO(png_bytes(10)), "image.png"),
        (io.BytesIO(png_bytes(20)), "image.png"),
        (io.BytesIO(png_bytes(30)), "IMAGE (2).png"),
    ]
    assert client.post(new_visit_url(world.case_a), data=data).status_code == 302
    kept = photos(session)
    assert [p.name for p in kept] == ["image.png", "image (2).png", "IMAGE (2) (2).png"]
    assert all(p.is_current and p.version == 1 for p in kept)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("visit_date", "2026-06-16"),  # tomorrow
        ("visit_date", ""),
        ("visit_date", "2026-02-30"),
        ("visit_date", "2026-01-05"),  # before the batch started
        ("hours", "0"),
        ("hours", "24.5"),
        ("hours", "-2"),
        ("hours", "2.25"),
        ("hours", "abc"),
        ("hours", "NaN"),
        ("hours", "1e999999"),
        ("hours", ""),
        ("activities", "   "),
        ("expert_ids", "999"),
    ],
)
def test_bad_visit_is_refused_with_a_field_message_and_nothing_saved(
    app, client, world, session, field, value
):
    login(client, "expert_a")
    before = stored_files(app)
    data = visit_form(**{field: value})
    data["photos"] = [(io.BytesIO(png_bytes()), "photo.png")]
    response = client.post(new_visit_url(world.case_a), data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The message sits on the field it is about.
    match = re.search(rf'<div class="field[^"]*has-error">\s*<label for="{field}"', html)
    assert match, html[:3000]
    assert count(session, Visit) == 0
    assert photos(session) == []
    assert stored_files(app) == before


@pytest.mark.parametrize(
    "bad",
    [
        (b"just some text, not an image", "notes.png"),
        (PDF, "sheet.pdf"),  # an allowed file kind, but not a photo
        (b"", "empty.jpg"),
    ],
)
def test_a_refused_photo_rolls_back_the_whole_visit(app, client, world, session, bad):
    login(client, "expert_a")
    before = stored_files(app)
    data = visit_form()
    content, name = bad
    data["photos"] = [(io.BytesIO(png_bytes()), "good.png"), (io.BytesIO(content), name)]
    response = client.post(new_visit_url(world.case_a), data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert name in html
    assert re.search(r'<div class="field[^"]*has-error">\s*<label for="photos"', html)
    assert count(session, Visit) == 0
    assert photos(session) == []
    assert not session.exec(
        select(AuditLog).where(AuditLog.record_type.in_(["visit", "stored_file"]))
    ).all()
    assert stored_files(app) == before


def test_service_keeps_only_photos(app, world, session):
    """The visits service tells the file store the kinds a photo may be: a PDF, a kind the store
    keeps elsewhere, is refused before anything is written."""
    visit = log_visit(
        session,
        world.expert_a,
        world.case_a,
        visit_date=date(2026, 5, 12),
        hours=Decimal(4),
        expert_ids=[],
        activities="现场诊断",
        today=date(2026, 6, 1),
    )
    before = stored_files(app)
    with pytest.raises(FileRejected, match="sheet.pdf is not a photo"):
        add_photos(session, world.expert_a, visit, [FileStorage(io.BytesIO(PDF), "sheet.pdf")])
    assert stored_files(app) == before
    (kept,) = add_photos(
        session, world.expert_a, visit, [FileStorage(io.BytesIO(png_bytes()), "现场.png")]
    )
    assert (kept.owner_id, kept.content_type) == (visit.id, "image/png")


def test_service_keeps_a_reason_only_from_staff_confirming_for_the_firm(world, session):
    def logged() -> Visit:
        return log_visit(
            session,
            world.expert_a,
            world.case_a,
            visit_date=date(2026, 5, 12),
            hours=Decimal(4),
            expert_ids=[],
            activities="现场诊断",
            today=date(2026, 6, 1),
        )

    own = logged()
    confirm_visit(session, world.firm_user_a, own, reason="我们自己确认")
    assert (own.status, own.answer_comment) == (VisitStatus.CONFIRMED, "")
    for_firm = logged()
    with pytest.raises(VisitError, match="Give a reason for confirming on the firm's behalf."):
        confirm_visit(session, world.staff, for_firm, reason=" ")
    assert for_firm.status == VisitStatus.LOGGED
    confirm_visit(session, world.staff, for_firm, reason="企业电话确认")
    assert for_firm.answer_comment == "企业电话确认"


def test_unassigned_expert_gets_404(client, world, session):
    login(client, "expert_b")
    assert client.get(new_visit_url(world.case_a)).status_code == 404
    assert client.post(new_visit_url(world.case_a), data=visit_form()).status_code == 404
    assert count(session, Visit) == 0


def test_firm_user_cannot_log_a_visit(client, world, session):
    login(client, "firm_a")
    assert client.get(new_visit_url(world.case_a)).status_code == 403
    assert client.post(new_visit_url(world.case_a), data=visit_form()).status_code == 403
    assert count(session, Visit) == 0


def test_no_visit_is_logged_on_a_withdrawn_case(client, world, session):
    visit = add_visit(session, world)
    withdraw_case(session, world.staff, world.case_a, "left the pilot")
    session.commit()
    login(client, "expert_a")
    assert client.get(new_visit_url(world.case_a)).status_code == 403
    assert client.get(f"/visits/{visit.id}").status_code == 200
    client.post("/logout")
    login(client, "firm_a")
    assert client.post(f"/visits/{visit.id}/confirm").status_code == 403
    session.refresh(visit)
    assert visit.status == VisitStatus.LOGGED


# Confirming and disputing -----------------------------------------------------------------------


def test_firm_confirms_the_visit(client, world, session):
    visit = add_visit(session, world)
    login(client, "firm_a")
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert f'action="/visits/{visit.id}/confirm"' in page
    assert f'action="/visits/{visit.id}/dispute"' in page
    assert 'name="reason"' not in page

    response = client.post(f"/visits/{visit.id}/confirm")
    assert response.status_code == 302
    session.refresh(visit)
    assert visit.status == VisitStatus.CONFIRMED
    assert visit.answered_by_id == world.firm_user_a.id
    assert visit.answer_comment == ""

    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert 'data-status="confirmed"' in page
    assert f'action="/visits/{visit.id}/confirm"' not in page
    assert world.firm_user_a.display_name in page
    # Confirming twice changes nothing and does not fail.
    assert client.post(f"/visits/{visit.id}/confirm").status_code == 302
    # A confirmed visit cannot be disputed any more.
    assert client.post(f"/visits/{visit.id}/dispute", data={"comment": "x"}).status_code == 302
    session.refresh(visit)
    assert visit.status == VisitStatus.CONFIRMED


def test_dispute_needs_a_comment(client, world, session):
    visit = add_visit(session, world)
    login(client, "firm_a")
    response = client.post(f"/visits/{visit.id}/dispute", data={"comment": "  "})
    assert response.status_code == 400
    assert re.search(
        r'<div class="field[^"]*has-error">\s*<label for="comment"', response.get_data(as_text=True)
    )
    session.refresh(visit)
    assert visit.status == VisitStatus.LOGGED

    response = client.post(f"/visits/{visit.id}/dispute", data={"comment": "专家只待了一小时"})
    assert response.status_code == 302
    session.refresh(visit)
    assert visit.status == VisitStatus.DISPUTED
    assert visit.answer_comment == "专家只待了一小时"
    assert visit.answered_by_id == world.firm_user_a.id
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert 'data-status="disputed"' in page
    assert "专家只待了一小时" in page


def test_staff_confirm_for_the_firm_needs_a_reason(client, world, session):
    visit = add_visit(session, world)
    login(client, "staff")
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert 'name="reason"' in page
    assert f'action="/visits/{visit.id}/dispute"' not in page

    response = client.post(f"/visits/{visit.id}/confirm", data={"reason": ""})
    assert response.status_code == 400
    assert re.search(
        r'<div class="field[^"]*has-error">\s*<label for="reason"', response.get_data(as_text=True)
    )
    session.refresh(visit)
    assert visit.status == VisitStatus.LOGGED

    response = client.post(
        f"/visits/{visit.id}/confirm", data={"reason": "企业联系人出差，电话确认"}
    )
    assert response.status_code == 302
    session.refresh(visit)
    assert visit.status == VisitStatus.CONFIRMED
    assert visit.answered_by_id == world.staff.id
    assert visit.answer_comment == "企业联系人出差，电话确认"
    assert "企业联系人出差，电话确认" in client.get(f"/visits/{visit.id}").get_data(as_text=True)
    entry = session.exec(
        select(AuditLog).where(AuditLog.record_type == "visit", AuditLog.action == "confirm")
    ).one()
    assert entry.reason == "企业联系人出差，电话确认"


def test_staff_cannot_dispute_and_experts_cannot_answer(client, world, session):
    visit = add_visit(session, world)
    login(client, "staff")
    assert client.post(f"/visits/{visit.id}/dispute", data={"comment": "x"}).status_code == 403
    client.post("/logout")
    login(client, "expert_a")
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "/confirm" not in page and "/dispute" not in page
    assert client.post(f"/visits/{visit.id}/confirm", data={"reason": "x"}).status_code == 403
    assert client.post(f"/visits/{visit.id}/dispute", data={"comment": "x"}).status_code == 403
    session.refresh(visit)
    assert visit.status == VisitStatus.LOGGED


@pytest.mark.parametrize("username", ["firm_b", "expert_b"])
def test_other_firms_user_and_unassigned_expert_get_404(client, world, session, username):
    visit = add_visit(session, world)
    login(client, username)
    assert client.get(f"/visits/{visit.id}").status_code == 404
    assert client.post(f"/visits/{visit.id}/confirm", data={"reason": "x"}).status_code == 404
    assert client.post(f"/visits/{visit.id}/dispute", data={"comment": "x"}).status_code == 404
    session.refresh(visit)
    assert visit.status == VisitStatus.LOGGED


def test_unknown_visit_is_404(client, world):
    login(client, "staff")
    assert client.get("/visits/9999").status_code == 404
    assert client.post("/visits/9999/confirm", data={"reason": "x"}).status_code == 404


# The case page ----------------------------------------------------------------------------------


def test_case_page_lists_visits_and_confirmed_hours(client, world, session, expert_c):
    confirmed = add_visit(session, world, hours="3", experts=[expert_c])
    confirm_visit(session, world.firm_user_a, confirmed)
    add_visit(session, world, hours="1.5", when=date(2026, 6, 3))
    session.commit()

    login(client, "expert_a")
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert f'href="/visits/{confirmed.id}"' in page
    assert "专家丙" in page
    assert 'data-confirmed-hours="3.0"' in page
    assert f'href="/cases/{world.case_a.id}/visits/new"' in page
    assert 'data-status="confirmed"' in page and 'data-status="logged"' in page

    client.post("/logout")
    login(client, "firm_a")
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert f'href="/visits/{confirmed.id}"' in page
    assert "/visits/new" not in page


def test_case_page_query_count_does_not_grow_with_visits(app, client, world, session, expert_c):
    login(client, "staff")
    statements: list[str] = []

    def counter(conn, cursor, statement, *args):
        statements.append(statement)

    def page_queries() -> int:
        statements.clear()
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            assert client.get(f"/cases/{world.case_a.id}").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)
        return len(statements)

    add_visit(session, world, experts=[expert_c])
    one = page_queries()
    for day in range(2, 8):
        add_visit(session, world, experts=[expert_c], when=date(2026, 6, day))
    assert page_queries() == one


# Hours delivered against hours bought -----------------------------------------------------------


def hours_rows(html: str, table: str) -> dict[str, tuple[str, str]]:
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>\s*(.*?)\s*</td>", row, re.S)
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_hours_page_sums_confirmed_and_pending_hours(client, world, session, expert_c):
    session.refresh(world.case_b, ["assignments"])
    assign_experts(session, None, world.case_b, [world.expert_b.id], world.expert_b.id)
    session.commit()
    # Two experts on one 3-hour visit: 3 hours each, 3 hours once for the firm.
    both = add_visit(session, world, hours="3", experts=[expert_c])
    confirm_visit(session, world.firm_user_a, both)
    disputed = add_visit(session, world, hours="2", when=date(2026, 6, 2))
    dispute_visit(session, world.firm_user_a, disputed, "没来")
    b_confirmed = add_visit(session, world, expert=world.expert_b, case=world.case_b, hours="4")
    confirm_visit(session, world.staff, b_confirmed, reason="电话确认")
    add_visit(session, world, expert=world.expert_b, case=world.case_b, hours="1.5")
    session.commit()

    login(client, "staff")
    response = client.get(f"/batches/{world.batch.id}/hours")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert hours_rows(html, "per-expert") == {
        "expert_a": ("3.0", "2.0"),
        "专家丙": ("3.0", "0.0"),
        "expert_b": ("4.0", "1.5"),
    }
    assert hours_rows(html, "per-firm") == {
        world.firm_a.name: ("3.0", "2.0"),
        world.firm_b.name: ("4.0", "1.5"),
    }
    total = re.search(r'data-total="delivered"><b>(.*?)</b>', html).group(1)
    bought = re.search(r'data-total="bought"><b>(.*?)</b>', html).group(1)
    share = re.search(r'data-total="share"><b>(.*?)</b>', html).group(1)
    pending = re.search(r'data-total="pending"><b>(.*?)</b>', html).group(1)
    assert (total, bought, share, pending) == ("10.0", "400.0", "2.5%", "3.5")


def test_hours_page_of_an_empty_batch(client, world):
    login(client, "admin")
    response = client.get(f"/batches/{world.batch.id}/hours")
    assert response.status_code == 200
    assert re.search(r'data-total="share"><b>0\.0%</b>', response.get_data(as_text=True))
    assert client.get("/batches/9999/hours").status_code == 404


@pytest.mark.parametrize("username", ["expert_a", "expert_b", "firm_a", "firm_b"])
def test_hours_page_is_refused_to_experts_and_firms(client, world, session, username):
    add_visit(session, world)
    login(client, username)
    response = client.get(f"/batches/{world.batch.id}/hours")
    assert response.status_code in (403, 404)
    assert world.firm_a.name not in response.get_data(as_text=True)


def visit_links(page: str) -> dict[int, tuple[str, str]]:
    """Each visit row's link on the case page: (data-visit-link, its words)."""
    found = re.findall(
        r'<tr data-visit="(\d+)">.*?data-visit-link="(\w+)">([^<]+)</a>', page, flags=re.S
    )
    return {int(visit): (kind, words) for visit, kind, words in found}


def test_the_visit_link_says_confirm_only_to_the_firm_that_has_to(client, world, session):
    confirmed = add_visit(session, world)
    confirm_visit(session, world.firm_user_a, confirmed)
    waiting = add_visit(session, world, when=date(2026, 6, 3))
    session.commit()
    login(client, "firm_a")
    client.forget_language()
    links = visit_links(client.get(f"/cases/{world.case_a.id}").get_data(as_text=True))
    assert links == {confirmed.id: ("view", "查看"), waiting.id: ("confirm", "去确认")}
    client.post("/logout")
    # Staff confirm only for the firm, with a reason: for them every row is to read.
    login(client, "staff")
    client.forget_language()
    links = visit_links(client.get(f"/cases/{world.case_a.id}").get_data(as_text=True))
    assert links == {confirmed.id: ("view", "查看"), waiting.id: ("view", "查看")}
