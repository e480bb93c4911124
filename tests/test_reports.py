"""The 一企一策 report: content, embedded CJK fonts, repeated table headers, footer, archive."""

import hashlib
import io
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import gettext
from sqlmodel import select

from pilot.cases.models import Case
from pilot.database import today
from pilot.firms.models import Firm
from pilot.rectification import services as items
from pilot.reports import archive
from pilot.reports.models import ReportArchive
from tests import factories
from tests.conftest import login

SECTIONS = [
    "1. Firm profile",
    "2. Needs survey and analysis",
    "3. On-site quality and brand diagnosis",
    "4. Work targets",
    "5. Rectification list",
    "6. Centralised training",
    "7. Follow-up service plan",
    "8. Evaluation of targets and service",
    "9. Sign-off trail",
]


def pdf_text(path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if first:
        args += ["-f", str(first), "-l", str(last or first)]
    return subprocess.run(
        [*args, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_page_texts(path) -> list[str]:
    """The text of each page, from one pdftotext run (it ends each page with a form feed)."""
    return pdf_text(path).split("\f")[:-1]


def pdf_pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(
        next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:"))
    )


@pytest.fixture
def render(app, session, tmp_path):
    """Render a case's report into a file, as the pages and the CLI do."""

    def _render(case_id: int):
        with app.test_request_context():
            rendered = archive.render_case(session, case_id, today())
        path = tmp_path / f"case{case_id}.pdf"
        path.write_bytes(rendered.pdf)
        return path, rendered

    return _render


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "reports"


def test_the_cjk_font_is_embedded_and_every_section_is_there(app, render, world):
    path, rendered = render(world.case_a.id)
    # Pages as pictures, to look at (pdftotext passes even when Chinese prints as boxes).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-l", "3", str(path), str(ARTIFACTS / "open-case")],
        check=True,
    )
    assert sorted(ARTIFACTS.glob("open-case-*.png"))
    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "Pilot-Sans-SC" in fonts and "Pilot-Serif-SC" in fonts
    for line in fonts.splitlines()[2:]:
        assert line.split()[-5] == "yes", f"font not embedded: {line}"  # the "emb" column
    text = pdf_text(path)
    assert world.firm_a.name in text
    with app.test_request_context():
        for heading in SECTIONS:
            assert gettext(heading) in text
        # Stages not reached say so instead of vanishing.
        assert gettext("This stage has not been reached yet (stage %(n)d).", n=2) in text
    assert rendered.pages == pdf_pages(path)


def test_an_open_case_is_marked_draft_on_every_page(app, render, world):
    path, _rendered = render(world.case_a.id)
    with app.test_request_context():
        mark = gettext("DRAFT")
    for page in range(1, pdf_pages(path) + 1):
        assert mark in pdf_text(path, page)


#: Enough items for the list to run over at least three pages.
LONG_LIST = 50


def test_a_long_rectification_list_repeats_its_header_and_numbers_pages(
    app, session, render, world
):
    for n in range(LONG_LIST):
        items.add_item(
            session,
            world.staff,
            world.case_a,
            description=f"整改项第{n + 1}条：关键工序记录不完整，需补充过程能力分析",
            severity="general",
            due_date=today() + timedelta(days=30),
            today=today(),
        )
    session.commit()
    path, _rendered = render(world.case_a.id)
    pages = pdf_pages(path)
    texts = pdf_page_texts(path)
    assert len(texts) == pages
    with app.test_request_context():
        header, first, last = gettext("Verified by"), "第1条", f"第{LONG_LIST}条"
    holding = [n for n, text in enumerate(texts, 1) if "整改项第" in text]
    assert len(holding) >= 3
    for page in holding:
        assert header in texts[page - 1], f"no header row on page {page}"
    text = "".join(texts)
    assert first in text and last in text
    for page in range(2, pages + 1):  # the footer "x / y" on every page but the cover
        assert f"{page} / {pages}" in texts[page - 1]
    assert f"1 / {pages}" not in texts[0]


def test_the_report_shows_no_draft_diagnosis(app, session, render, world):
    from pilot.diagnosis import services as diagnosis
    from pilot.frameworks.services import load_shipped, set_batch_frameworks

    frameworks = load_shipped(session)
    set_batch_frameworks(session, world.batch.id, [f.id for f in frameworks])
    d = diagnosis.start(session, world.expert_a, world.case_a)
    item = frameworks[0].items[0]
    diagnosis.add_finding(
        session,
        world.expert_a,
        d,
        item_id=item.id,
        description="草稿中的问题不应出现在报告里",
        severity="general",
    )
    session.commit()
    path, _rendered = render(world.case_a.id)
    assert "草稿中的问题" not in pdf_text(path)


def test_archived_versions_keep_their_hash_and_count_up(app, session, world):
    with app.test_request_context():
        first = archive.archive_final(session, world.staff, world.case_a.id, today())
        session.commit()
        second = archive.archive_final(session, world.staff, world.case_a.id, today())
        session.commit()
    assert (first.version, second.version) == (1, 2)
    for row in (first, second):
        data = archive.archive_path(row).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256 and len(data) == row.size


def test_closed_demo_case_downloads_its_final_report_and_only_its_own(client, session, demo_data):
    closed = session.exec(select(Case).where(Case.closed_at.is_not(None))).all()
    assert closed
    case = closed[0]
    firm = session.get(Firm, case.firm_id)
    other = session.exec(select(Case).where(Case.id != case.id)).first()
    username = (
        f"firm{sorted(f.id for f in session.exec(select(Firm)).all()).index(firm.id) + 1:02d}"
    )
    login(client, username, "pilot-demo-2026")
    response = client.get(f"/cases/{case.id}/report", follow_redirects=True)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    row = session.exec(select(ReportArchive).where(ReportArchive.case_id == case.id)).one()
    assert hashlib.sha256(response.data).hexdigest() == row.sha256
    response.close()
    assert client.get(f"/cases/{other.id}/report").status_code == 404


def test_cli_writes_one_report_and_a_batch_zip(runner, session, world, tmp_path):
    import zipfile

    out = tmp_path / "a.pdf"
    result = runner.invoke(args=["report", str(world.case_a.id), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    zipped = tmp_path / "batch.zip"
    result = runner.invoke(args=["report", "--batch", world.batch.name, "-o", str(zipped)])
    assert result.exit_code == 0, result.output
    assert len(zipfile.ZipFile(zipped).namelist()) == 2
    assert runner.invoke(args=["report", "-o", str(out)]).exit_code != 0
    assert runner.invoke(args=["report", "999999", "-o", str(out)]).exit_code != 0


def test_batch_zip_names_are_credit_code_and_a_cleaned_firm_name(session, world):
    """Two firms of one name with a path in it: two entries, neither a folder nor outside."""
    cases = []
    for _ in range(2):
        firm = factories.make_firm(session, "../同名\\企业/有限公司")
        cases.append(factories.make_case(session, world.batch, firm, experts=[world.expert_a]))
    session.commit()
    ids = [c.id for c in cases]
    codes = {c.id: c.firm.credit_code for c in cases}

    def render_many(case_ids):
        for case_id in case_ids:
            yield case_id, archive.render_case(session, case_id, today())

    data = archive.batch_zip(session, ids, today(), render_many)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(names) == sorted(
        f"{codes[cid]}__同名_企业_有限公司_一企一策报告_草稿.pdf" for cid in ids
    )
    assert not any("/" in name or "\\" in name for name in names)


def test_draft_reports_are_limited_per_user(app, client, world):
    app.config["DRAFT_REPORT_LIMIT"] = "2 per 5 minutes"
    login(client, "firm_a")
    for _ in range(2):
        response = client.get(f"/cases/{world.case_a.id}/report")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
    refused = client.get(f"/cases/{world.case_a.id}/report")
    assert refused.status_code == 429
    assert "Draft reports are made afresh each time" in refused.get_data(as_text=True)
    other = app.test_client()
    login(other, "staff")  # another user has their own allowance
    assert other.get(f"/cases/{world.case_a.id}/report").status_code == 200
