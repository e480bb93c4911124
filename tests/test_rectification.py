"""The rectification checklist through its pages: the firm works an item, uploads evidence and
submits it; the assigned expert verifies or returns it; staff waive it; items added by hand; every
illegal transition refused with nothing stored; the lost-update guard; stage 3 of the rules."""

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from pilot.audit.models import AuditLog
from pilot.cases.services import withdraw_case
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.frameworks.models import Scale
from pilot.frameworks.services import load_kpi_catalogue, load_shipped, set_batch_frameworks
from pilot.kpis.models import Kpi
from pilot.permissions import can_see_verification_queue
from pilot.rectification import services
from pilot.rectification.models import ItemNote, ItemStatus, RectificationItem
from pilot.stages import Status, progress_of
from pilot.survey.services import save_survey, write_analysis
from pilot.visits.services import confirm_visit, log_visit
from tests.conftest import TODAY, login
from tests.factories import pdf_bytes

ON = date.fromisoformat(TODAY)
SEVERE_TEXT = "质量目标未分解到车间，考核无依据"
GENERAL_TEXT = "顾客投诉处理记录不完整"
RETURN_REASON = "缺少培训签到表和考核记录"


@pytest.fixture(autouse=True)
def english(client):
    """Messages are checked in English (the msgids); the default language is Chinese."""
    client.post("/language", data={"lang": "en"})


def text(response) -> str:
    """The page with entities resolved (Jinja writes ' as &#39;)."""
    return unescape(response.get_data(as_text=True))


def add(session, world, description=GENERAL_TEXT, severity="general", due=None, on=ON):
    item = services.add_item(
        session,
        world.staff,
        world.case_a,
        description=description,
        severity=severity,
        due_date=due,
        today=on,
    )
    session.commit()
    return item


@pytest.fixture
def item(session, world) -> RectificationItem:
    """An open general item on case_a."""
    return add(session, world)


def reload(session, item: RectificationItem) -> RectificationItem:
    session.expire_all()
    return session.get(RectificationItem, item.id)


def url(item: RectificationItem, tail: str = "") -> str:
    return f"/items/{item.id}{tail}"


def work_data(version: int = 1, **overrides) -> dict:
    data = {
        "root_cause": "考核制度未覆盖车间",
        "measure": "修订考核办法，目标分解到班组",
        "owner_name": "王敏",
        "owner_dept": "质量部",
        "note": "",
        "version": str(version),
    }
    data.update(overrides)
    return data


def upload(client, item, *files):
    """Post files [(bytes, name), …] through the item's evidence form."""
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post(url(item, "/evidence"), data=data)


def evidence(session, item) -> list[StoredFile]:
    session.expire_all()
    return session.exec(
        select(StoredFile)
        .where(StoredFile.owner_type == "item", StoredFile.owner_id == item.id)
        .order_by(StoredFile.id)
    ).all()


def stored_files(app) -> set[Path]:
    root = Path(app.config["FILES_PATH"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def ready_to_submit(client, session, item) -> None:
    """As the firm: measure saved, one PDF attached."""
    version = reload(session, item).version
    assert client.post(url(item, "/work"), data=work_data(version)).status_code == 302
    assert upload(client, item, (pdf_bytes(), "整改记录.pdf")).status_code == 302


def submit(client, session, item):
    return client.post(url(item, "/submit"), data={"version": str(reload(session, item).version)})


def submitted(client, session, world, item) -> None:
    """The item submitted by the firm with evidence; the client is signed out afterwards."""
    login(client, "firm_a")
    ready_to_submit(client, session, item)
    assert submit(client, session, item).status_code == 302
    client.post("/logout")
    assert reload(session, item).status == ItemStatus.SUBMITTED


def audit_actions(session, item) -> list[str]:
    return session.exec(
        select(AuditLog.action)
        .where(AuditLog.record_type == "rectification_item", AuditLog.record_id == item.id)
        .order_by(AuditLog.id)
    ).all()


# The whole lifecycle ----------------------------------------------------------------------------


def test_firm_works_submits_expert_returns_firm_resubmits_expert_verifies(
    client, session, world, item
):
    login(client, "firm_a")
    page = text(client.get(url(item)))
    assert 'name="version" type="hidden" value="1"' in page
    assert f'action="/items/{item.id}/evidence' in page
    assert 'enctype="multipart/form-data"' in page

    response = client.post(url(item, "/work"), data=work_data(1, note="制度已起草"))
    assert response.status_code == 302
    saved = reload(session, item)
    assert saved.status == ItemStatus.IN_PROGRESS
    assert (saved.root_cause, saved.measure, saved.owner_name, saved.owner_dept) == (
        "考核制度未覆盖车间",
        "修订考核办法，目标分解到班组",
        "王敏",
        "质量部",
    )
    assert [n.text for n in saved.notes] == ["制度已起草"]

    # Several files in one go.
    response = upload(client, item, (pdf_bytes("a"), "考核办法.pdf"), (pdf_bytes("b"), "培训.pdf"))
    assert response.status_code == 302
    assert sorted(f.name for f in evidence(session, item)) == ["培训.pdf", "考核办法.pdf"]
    assert "2 files were added." in text(client.get(url(item)))

    assert submit(client, session, item).status_code == 302
    assert reload(session, item).status == ItemStatus.SUBMITTED
    page = text(client.get(url(item)))
    assert "awaiting the expert's verification" in page
    assert f'action="/items/{item.id}/work' not in page  # nothing to edit while it waits
    client.post("/logout")

    login(client, "expert_a")
    page = text(client.get(url(item)))
    assert 'id="verify"' in page and "考核办法.pdf" in page
    response = client.post(url(item, "/return"), data={"reason": RETURN_REASON})
    assert response.status_code == 302
    assert reload(session, item).status == ItemStatus.RETURNED
    client.post("/logout")

    login(client, "firm_a")
    page = text(client.get(url(item)))
    assert re.search(r'id="returned".*?' + RETURN_REASON, page, re.S)
    checklist = text(client.get(f"/cases/{world.case_a.id}/items"))
    assert RETURN_REASON in checklist
    assert upload(client, item, (pdf_bytes("c"), "签到表.pdf")).status_code == 302
    assert reload(session, item).status == ItemStatus.RETURNED  # still the firm's turn
    assert submit(client, session, item).status_code == 302
    assert reload(session, item).status == ItemStatus.SUBMITTED
    page = text(client.get(url(item)))
    assert 'id="returned"' not in page  # the reason stops shouting once resubmitted
    client.post("/logout")

    login(client, "expert_a")
    assert client.post(url(item, "/verify")).status_code == 302
    verified = reload(session, item)
    assert verified.status == ItemStatus.VERIFIED
    assert verified.verified_by_id == world.expert_a.id and verified.reason == ""
    page = text(client.get(url(item)))
    assert "can no longer be changed" in page and 'id="verify"' not in page
    client.post("/logout")

    login(client, "firm_a")
    checklist = text(client.get(f"/cases/{world.case_a.id}/items"))
    assert re.search(
        rf'data-group="closed".*?data-item="{item.id}" data-status="verified"', checklist, re.S
    )
    assert 'data-closed="1" data-total="1"' in checklist
    assert audit_actions(session, item) == ["add", "work", "submit", "return", "submit", "verify"]


def test_evidence_upload_moves_an_open_item_to_in_progress(client, session, world, item):
    login(client, "firm_a")
    assert upload(client, item, (pdf_bytes(), "现场照片.pdf")).status_code == 302
    assert reload(session, item).status == ItemStatus.IN_PROGRESS
    stored = evidence(session, item)
    assert len(stored) == 1 and stored[0].case_id == world.case_a.id


def test_the_same_name_twice_in_one_upload_keeps_both(client, session, world, item):
    login(client, "firm_a")
    response = upload(client, item, (pdf_bytes("1"), "image.pdf"), (pdf_bytes("2"), "image.pdf"))
    assert response.status_code == 302
    assert sorted(f.name for f in evidence(session, item)) == ["image (2).pdf", "image.pdf"]
    assert all(f.is_current for f in evidence(session, item))


def test_a_later_file_of_the_same_name_is_a_new_version(client, session, world, item):
    login(client, "firm_a")
    upload(client, item, (pdf_bytes("1"), "记录.pdf"))
    upload(client, item, (pdf_bytes("2"), "记录.pdf"))
    files = evidence(session, item)
    assert [(f.version, f.is_current) for f in files] == [(1, False), (2, True)]
    page = text(client.get(url(item)))
    assert page.count('data-file="') == 1 and 'data-evidence="1"' in page


# What the firm cannot do ------------------------------------------------------------------------


def test_submit_without_evidence_is_refused_when_the_batch_requires_it(
    client, session, world, item
):
    assert world.batch.evidence_required
    login(client, "firm_a")
    client.post(url(item, "/work"), data=work_data(1))
    response = submit(client, session, item)
    assert response.status_code == 400
    assert "Upload evidence before submitting: this batch requires it." in text(response)
    assert reload(session, item).status == ItemStatus.IN_PROGRESS
    assert "submit" not in audit_actions(session, item)


def test_submit_without_evidence_is_allowed_when_the_batch_does_not_require_it(
    client, session, world, item
):
    world.batch.evidence_required = False
    session.add(world.batch)
    session.commit()
    login(client, "firm_a")
    client.post(url(item, "/work"), data=work_data(1))
    assert submit(client, session, item).status_code == 302
    assert reload(session, item).status == ItemStatus.SUBMITTED


def test_service_reads_the_batch_evidence_setting_itself(session, world, item):
    """No caller says whether evidence is required: the service asks the case's batch."""
    services.work(session, world.firm_user_a, item, version=None, measure="修订考核办法")
    session.commit()
    assert world.batch.evidence_required
    with pytest.raises(services.ItemError, match="Upload evidence before submitting"):
        services.submit(session, world.firm_user_a, item)
    session.rollback()
    assert reload(session, item).status == ItemStatus.IN_PROGRESS

    world.batch.evidence_required = False
    session.add(world.batch)
    session.commit()
    services.submit(session, world.firm_user_a, reload(session, item))
    session.commit()
    assert reload(session, item).status == ItemStatus.SUBMITTED


def test_submit_needs_the_corrective_measure(client, session, world, item):
    login(client, "firm_a")
    upload(client, item, (pdf_bytes(), "记录.pdf"))
    response = submit(client, session, item)
    assert response.status_code == 400
    assert "Describe the corrective measure before submitting." in text(response)
    assert reload(session, item).status == ItemStatus.IN_PROGRESS


def test_submit_made_on_an_older_version_is_refused(client, session, world, item):
    login(client, "firm_a")
    ready_to_submit(client, session, item)
    response = client.post(url(item, "/submit"), data={"version": "1"})
    assert response.status_code == 302
    assert "The item changed since you opened it" in text(client.get(url(item)))
    assert reload(session, item).status == ItemStatus.IN_PROGRESS


def test_a_tampered_version_is_refused_and_nothing_changes(client, session, world, item):
    login(client, "firm_a")
    response = client.post(url(item, "/work"), data=work_data(version="abc"))
    assert response.status_code == 400
    assert reload(session, item).measure == "" and reload(session, item).version == 1


def test_firm_user_cannot_verify_return_or_waive(client, session, world, item):
    submitted(client, session, world, item)
    login(client, "firm_a")
    assert client.post(url(item, "/verify")).status_code == 403
    assert client.post(url(item, "/return"), data={"reason": "x"}).status_code == 403
    assert client.post(url(item, "/waive"), data={"reason": "x"}).status_code == 403
    assert reload(session, item).status == ItemStatus.SUBMITTED


def test_expert_cannot_waive_or_work_the_item(client, session, world, item):
    login(client, "expert_a")
    assert client.post(url(item, "/waive"), data={"reason": "不需要"}).status_code == 403
    assert client.post(url(item, "/work"), data=work_data(1)).status_code == 403
    assert upload(client, item, (pdf_bytes(), "x.pdf")).status_code == 403
    assert client.post(url(item, "/submit"), data={"version": "1"}).status_code == 403
    fresh = reload(session, item)
    assert (fresh.status, fresh.measure, fresh.version) == (ItemStatus.OPEN, "", 1)
    assert evidence(session, item) == []


def test_staff_cannot_verify_or_work_the_item(client, session, world, item):
    submitted(client, session, world, item)
    login(client, "staff")
    assert client.post(url(item, "/verify")).status_code == 403
    assert client.post(url(item, "/return"), data={"reason": "x"}).status_code == 403
    assert client.post(url(item, "/work"), data=work_data(3)).status_code == 403
    assert reload(session, item).status == ItemStatus.SUBMITTED


def test_unassigned_expert_sees_nothing_and_changes_nothing(client, session, world, item):
    submitted(client, session, world, item)
    login(client, "expert_b")
    assert client.get(url(item)).status_code == 404
    assert client.get(f"/cases/{world.case_a.id}/items").status_code == 404
    assert client.post(url(item, "/verify")).status_code == 404
    assert client.post(url(item, "/return"), data={"reason": "x"}).status_code == 404
    assert (
        client.post(
            f"/cases/{world.case_a.id}/items", data={"description": "d", "severity": "general"}
        ).status_code
        == 404
    )
    assert reload(session, item).status == ItemStatus.SUBMITTED
    assert len(services.items_of(session, world.case_a.id)) == 1


def test_other_firms_user_gets_404_and_nothing_is_stored(app, client, session, world, item):
    login(client, "firm_b")
    before = stored_files(app)
    assert client.get(url(item)).status_code == 404
    for response in (
        client.post(url(item, "/work"), data=work_data(1, note="不是我们的")),
        upload(client, item, (pdf_bytes(), "他人.pdf")),
        client.post(url(item, "/submit"), data={"version": "1"}),
        client.post(url(item, "/verify")),
        client.post(url(item, "/waive"), data={"reason": "x"}),
    ):
        assert response.status_code == 404
        assert world.firm_a.name not in text(response)
    fresh = reload(session, item)
    assert (fresh.status, fresh.measure, fresh.version) == (ItemStatus.OPEN, "", 1)
    assert session.exec(select(func.count()).select_from(ItemNote)).one() == 0
    assert evidence(session, item) == []
    assert stored_files(app) == before


@pytest.mark.parametrize("closing", ["verify", "waive"])
def test_a_closed_item_is_read_only_for_everyone(app, client, session, world, item, closing):
    submitted(client, session, world, item)
    if closing == "verify":
        login(client, "expert_a")
        assert client.post(url(item, "/verify")).status_code == 302
    else:
        login(client, "staff")
        response = client.post(url(item, "/waive"), data={"reason": "随技改一并解决"})
        assert response.status_code == 302
    client.post("/logout")
    closed = reload(session, item)
    snapshot = (closed.status, closed.measure, closed.version, closed.reason)
    files_before = stored_files(app)
    log_before = audit_actions(session, item)

    login(client, "firm_a")
    page = text(client.get(url(item)))
    assert "<form" not in page.split('class="rc-layout"')[1]
    response = client.post(url(item, "/work"), data=work_data(closed.version, measure="改了"))
    assert response.status_code == 409
    assert "This item can no longer be changed." in text(response)
    assert "改了" in text(response)  # the refused input is shown, not lost
    response = upload(client, item, (pdf_bytes(), "迟到.pdf"))
    assert response.status_code == 302
    assert "This item can no longer be changed." in text(client.get(url(item)))
    assert submit(client, session, item).status_code == 400
    client.post("/logout")

    login(client, "expert_a")
    client.post(url(item, "/verify"))
    client.post(url(item, "/return"), data={"reason": "再看看"})
    client.post("/logout")
    login(client, "staff")
    client.post(url(item, "/waive"), data={"reason": "再免一次"})

    fresh = reload(session, item)
    assert (fresh.status, fresh.measure, fresh.version, fresh.reason) == snapshot
    assert stored_files(app) == files_before
    assert audit_actions(session, item) == log_before


def test_return_and_waive_need_a_reason(client, session, world, item):
    submitted(client, session, world, item)
    login(client, "expert_a")
    response = client.post(url(item, "/return"), data={"reason": "  "})
    assert response.status_code == 400
    assert re.search(
        r'<div class="field has-error">\s*<label for="reason".*?Say why the evidence is not enough',
        text(response),
        re.S,
    )
    client.post("/logout")
    login(client, "staff")
    response = client.post(url(item, "/waive"), data={"reason": ""})
    assert response.status_code == 400
    assert "Give a reason for waiving the item." in text(response)
    assert reload(session, item).status == ItemStatus.SUBMITTED


def test_staff_waive_an_open_item_with_a_reason(client, session, world, item):
    login(client, "staff")
    assert 'id="waive"' in text(client.get(url(item)))
    assert client.post(url(item, "/waive"), data={"reason": "随技改一并解决"}).status_code == 302
    waived = reload(session, item)
    assert (waived.status, waived.reason) == (ItemStatus.WAIVED, "随技改一并解决")
    client.post("/logout")
    login(client, "firm_a")
    assert "Waived by the bureau: 随技改一并解决" in text(client.get(url(item)))


def test_verifying_an_item_not_submitted_is_refused(client, session, world, item):
    login(client, "expert_a")
    assert 'id="verify"' not in text(client.get(url(item)))
    assert client.post(url(item, "/verify")).status_code == 302
    assert "Only a submitted item can be verified." in text(client.get(url(item)))
    assert reload(session, item).status == ItemStatus.OPEN


def test_nothing_changes_on_a_withdrawn_case(client, session, world, item):
    withdraw_case(session, world.staff, world.case_a, "搬迁")
    session.commit()
    login(client, "firm_a")
    assert client.get(f"/cases/{world.case_a.id}/items").status_code == 200
    page = text(client.get(url(item)))
    assert f'action="/items/{item.id}/work' not in page
    assert client.post(url(item, "/work"), data=work_data(1)).status_code == 403
    assert upload(client, item, (pdf_bytes(), "x.pdf")).status_code == 403
    assert reload(session, item).version == 1 and evidence(session, item) == []


def test_unknown_item_is_404(client, world):
    login(client, "staff")
    assert client.get("/items/999").status_code == 404
    assert client.post("/items/999/waive", data={"reason": "x"}).status_code == 404


# Evidence files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, name",
    [
        (b"#!/bin/sh\necho not a document\n", "整改报告.pdf"),
        (b"<html><script>alert(1)</script></html>", "page.html"),
        (b"", "empty.pdf"),
    ],
)
def test_a_file_that_is_not_an_allowed_kind_leaves_nothing(
    app, client, session, world, item, content, name
):
    login(client, "firm_a")
    before = stored_files(app)
    # A good file beside the bad one: one refused file refuses the whole upload.
    response = upload(client, item, (pdf_bytes(), "good.pdf"), (content, name))
    assert response.status_code == 400
    page = text(response)
    assert name in page and "Nothing was saved" in page
    assert re.search(r'<div class="field has-error">\s*<label for="files"', page)
    assert evidence(session, item) == []
    assert stored_files(app) == before
    assert reload(session, item).status == ItemStatus.OPEN  # not moved by a refused upload
    assert not session.exec(select(AuditLog).where(AuditLog.record_type == "stored_file")).all()


def test_an_over_size_file_is_refused(app, client, session, world, item):
    app.config["MAX_UPLOAD_BYTES"] = 200
    login(client, "firm_a")
    before = stored_files(app)
    response = upload(client, item, (pdf_bytes() + b"%" * 500, "big.pdf"))
    assert response.status_code == 400
    assert "The file is too large" in text(response)
    assert evidence(session, item) == [] and stored_files(app) == before


def test_no_file_chosen_is_a_message_not_an_error(client, session, world, item):
    login(client, "firm_a")
    response = client.post(url(item, "/evidence"), data={})
    assert response.status_code == 400
    assert "Choose at least one file." in text(response)


def test_a_path_in_the_file_name_is_cleaned(app, client, session, world, item):
    login(client, "firm_a")
    root = Path(app.config["FILES_PATH"]).resolve()
    outside = root.parent
    before_outside = {p for p in outside.rglob("*") if p.is_file() and root not in p.parents}
    response = upload(client, item, (pdf_bytes(), "../../x.pdf"))
    assert response.status_code == 302
    [stored] = evidence(session, item)
    assert stored.name == "x.pdf"
    after_outside = {p for p in outside.rglob("*") if p.is_file() and root not in p.parents}
    assert after_outside == before_outside
    [path] = stored_files(app)
    assert root in path.resolve().parents
    download = client.get(f"/files/{stored.id}")
    body = download.data
    download.close()
    assert download.status_code == 200 and body == pdf_bytes()
    assert "filename=x.pdf" in download.headers["Content-Disposition"]


def test_another_firms_user_cannot_download_the_evidence(client, session, world, item):
    login(client, "firm_a")
    upload(client, item, (pdf_bytes(), "记录.pdf"))
    [stored] = evidence(session, item)
    client.post("/logout")
    login(client, "firm_b")
    response = client.get(f"/files/{stored.id}")
    response.close()
    assert response.status_code == 404


# No lost edit -----------------------------------------------------------------------------------


def test_a_save_on_an_older_version_gets_409_and_keeps_the_input(client, session, world, item):
    login(client, "firm_a")
    first = work_data(1, root_cause="第一个标签页的原因", measure="第一个标签页的措施", note="一")
    second = work_data(
        1,
        root_cause="第二个标签页的原因",
        measure="第二个标签页的措施",
        owner_name="李强",
        note="二",
    )
    assert client.post(url(item, "/work"), data=first).status_code == 302
    response = client.post(url(item, "/work"), data=second)
    assert response.status_code == 409
    page = text(response)
    assert "Someone else changed this item" in page
    # The user's input stays in the form …
    assert re.search(r'<textarea[^>]*name="root_cause"[^>]*>\s*第二个标签页的原因</textarea>', page)
    assert re.search(r'<textarea[^>]*name="measure"[^>]*>\s*第二个标签页的措施</textarea>', page)
    assert re.search(r'<input[^>]*name="owner_name"[^>]*value="李强"', page)
    assert re.search(r'<textarea[^>]*name="note"[^>]*>\s*二</textarea>', page)
    # … beside what the save would overwrite …
    assert re.search(r'data-saved="root_cause">第一个标签页的原因<', page)
    assert re.search(r'data-saved="measure">第一个标签页的措施<', page)
    # … and the form now carries the version it was compared with.
    assert 'name="version" type="hidden" value="2"' in page

    fresh = reload(session, item)
    assert (fresh.root_cause, fresh.measure, fresh.owner_name, fresh.version) == (
        "第一个标签页的原因",
        "第一个标签页的措施",
        "王敏",
        2,
    )
    assert [n.text for n in fresh.notes] == ["一"]

    # Saving again after seeing the current values goes through.
    assert (
        client.post(
            url(item, "/work"),
            data=work_data(2, **{k: v for k, v in second.items() if k != "version"}),
        ).status_code
        == 302
    )
    fresh = reload(session, item)
    assert (fresh.root_cause, fresh.owner_name, fresh.version) == ("第二个标签页的原因", "李强", 3)
    assert [n.text for n in fresh.notes] == ["一", "二"]


# Items added by hand ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "expert_a"])
def test_staff_or_the_assigned_expert_add_an_item(client, session, world, who):
    login(client, who)
    page = text(client.get(f"/cases/{world.case_a.id}/items"))
    assert 'id="add"' in page
    response = client.post(
        f"/cases/{world.case_a.id}/items",
        data={"description": "计量器具未按期检定", "severity": "severe", "due_date": ""},
    )
    assert response.status_code == 302
    [added] = services.items_of(session, world.case_a.id)
    assert (added.description, added.severity, added.status) == (
        "计量器具未按期检定",
        "severe",
        ItemStatus.OPEN,
    )
    assert added.due_date == min(ON + timedelta(days=30), world.case_a.rectification_due)
    assert added.finding_id is None


def test_an_item_with_a_chosen_due_date(client, session, world):
    login(client, "staff")
    client.post(
        f"/cases/{world.case_a.id}/items",
        data={"description": "标识不清", "severity": "general", "due_date": "2026-07-01"},
    )
    [added] = services.items_of(session, world.case_a.id)
    assert added.due_date == date(2026, 7, 1)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"description": " ", "severity": "general"}, "description", "Describe what must be fixed"),
        ({"description": "d", "severity": "observation"}, "severity", "Not a valid choice"),
        (
            {"description": "d", "severity": "general", "due_date": "2026-06-01"},
            "due_date",
            "The due date cannot be in the past.",
        ),
        (
            {"description": "d", "severity": "general", "due_date": "15/06/2026"},
            "due_date",
            "Not a valid date value.",
        ),
    ],
)
def test_a_bad_item_is_refused_on_its_field(client, session, world, data, field, message):
    login(client, "staff")
    response = client.post(f"/cases/{world.case_a.id}/items", data=data)
    assert response.status_code == 400
    page = text(response)
    assert re.search(rf'<div class="field has-error">\s*<label for="{field}"', page)
    assert message in page
    assert services.items_of(session, world.case_a.id) == []


def test_the_firm_cannot_add_items(client, session, world):
    login(client, "firm_a")
    assert 'id="add"' not in text(client.get(f"/cases/{world.case_a.id}/items"))
    response = client.post(
        f"/cases/{world.case_a.id}/items", data={"description": "d", "severity": "general"}
    )
    assert response.status_code == 403
    assert services.items_of(session, world.case_a.id) == []


# The checklist and the case page ----------------------------------------------------------------


def test_checklist_groups_returned_first_and_overdue_first_in_red(client, session, world):
    early = ON - timedelta(days=60)
    late_general = add(session, world, "逾期一般项", "general", ON - timedelta(days=3), early)
    later = add(session, world, "按期一般项", "general", ON + timedelta(days=20))
    late_severe = add(session, world, "逾期严重项", "severe", ON - timedelta(days=10), early)
    returned = add(session, world, "退回项", "general", ON + timedelta(days=5))
    waiting = add(session, world, "待验证项", "severe", ON - timedelta(days=1), early)
    verified = add(session, world, "已验证项", "general", ON + timedelta(days=9))
    for done in (returned, waiting, verified):
        submitted(client, session, world, done)
    login(client, "expert_a")
    client.post(url(returned, "/return"), data={"reason": RETURN_REASON})
    client.post(url(verified, "/verify"))
    client.post("/logout")

    login(client, "firm_a")
    page = text(client.get(f"/cases/{world.case_a.id}/items"))
    groups = re.findall(r'data-group="(\w+)"', page)
    assert groups == ["returned", "active", "submitted", "closed"]
    order = [int(i) for i in re.findall(r'<li class="rc-item[^"]*"[^>]*data-item="(\d+)"', page)]
    assert order == [
        returned.id,
        late_severe.id,
        late_general.id,
        later.id,
        waiting.id,
        verified.id,
    ]
    overdue = {int(i) for i in re.findall(r'data-item="(\d+)"[^>]*data-overdue', page)}
    # A submitted item past its date waits on the expert, not the firm: not marked overdue.
    assert overdue == {late_severe.id, late_general.id}
    assert "Overdue by 10 days" in page and "Overdue by 3 days" in page
    assert re.search(rf'data-item="{waiting.id}".*?data-evidence="1"', page, re.S)
    assert re.search(rf'data-item="{later.id}".*?data-evidence="0"', page, re.S)
    assert 'data-closed="1" data-total="6"' in page
    assert 'data-overdue-count="2"' in page
    assert "2 items are overdue" in page


def test_case_page_card_counts_items_by_status(client, session, world):
    first = add(session, world, "一", "general", ON - timedelta(days=2), ON - timedelta(days=40))
    add(session, world, "二", "severe", ON + timedelta(days=5))
    submitted(client, session, world, add(session, world, "三", "general"))
    login(client, "expert_a")
    page = text(client.get(f"/cases/{world.case_a.id}"))
    card = page.split('id="rectification"')[1]
    assert 'data-count-status="open"' in card and 'data-count-status="submitted"' in card
    assert 'data-overdue-count="1"' in card
    assert re.search(rf'<ul class="rc-next">\s*<li class="overdue" data-item="{first.id}"', card)
    assert f'href="/cases/{world.case_a.id}/items"' in card
    assert 'href="/verification"' in card
    assert "1 item awaits your verification" in card


def _count_queries(app, client, path: str) -> int:
    statements: list[str] = []

    def counter(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    return len(statements)


def test_page_queries_do_not_grow_with_items(app, client, session, world):
    def with_evidence(n: int) -> None:
        for k in range(n):
            submitted(client, session, world, add(session, world, f"项目{k}{n}", "general"))

    with_evidence(1)
    login(client, "expert_a")
    paths = [f"/cases/{world.case_a.id}/items", f"/cases/{world.case_a.id}", "/verification"]
    one = [_count_queries(app, client, p) for p in paths]
    client.post("/logout")
    with_evidence(5)
    login(client, "expert_a")
    assert [_count_queries(app, client, p) for p in paths] == one


# The verification queue -------------------------------------------------------------------------


def test_expert_queue_lists_submitted_items_oldest_first(client, session, world):
    older = add(session, world, "先提交", "general")
    newer = add(session, world, "后提交", "severe")
    open_one = add(session, world, "未提交", "general")
    submitted(client, session, world, older)
    submitted(client, session, world, newer)
    # A submitted item of a case expert_a is not assigned to stays out of their queue.
    other = services.add_item(
        session,
        world.staff,
        world.case_b,
        description="乙的项",
        severity="general",
        due_date=None,
        today=ON,
    )
    other.measure = "m"
    other.status = ItemStatus.SUBMITTED
    session.commit()

    login(client, "expert_a")
    page = text(client.get("/verification"))
    ids = [int(i) for i in re.findall(r'class="card rc-queue-item"[^>]*data-item="(\d+)"', page)]
    assert ids == [older.id, newer.id]
    assert open_one.id not in ids and other.id not in ids
    assert world.firm_b.name not in page
    assert "整改记录.pdf" in page and 'href="/files/' in page
    assert f'action="/items/{older.id}/verify"' in page
    assert f'action="/items/{older.id}/return"' in page

    response = client.post(url(older, "/verify"), data={"back": "queue"})
    assert response.headers["Location"] == "/verification"
    response = client.post(url(newer, "/return"), data={"back": "queue", "reason": ""})
    assert response.headers["Location"] == "/verification"
    assert "Say why the evidence is not enough." in text(client.get("/verification"))
    assert reload(session, newer).status == ItemStatus.SUBMITTED
    assert reload(session, older).status == ItemStatus.VERIFIED


def test_queue_of_an_unassigned_expert_is_empty_and_firms_get_404(client, session, world, item):
    submitted(client, session, world, item)
    login(client, "expert_b")
    page = text(client.get("/verification"))
    assert "Nothing is waiting for verification." in page
    assert world.firm_a.name not in page
    client.post("/logout")
    login(client, "firm_a")
    assert client.get("/verification").status_code == 404


def test_staff_see_every_waiting_item_without_verify_buttons(client, session, world, item):
    submitted(client, session, world, item)
    login(client, "staff")
    page = text(client.get("/verification"))
    assert f'data-item="{item.id}"' in page and world.firm_a.name in page
    assert "/verify" not in page and "expert_a" in page


# Stage 3 of the rules ---------------------------------------------------------------------------


def accepted_baseline(session, world) -> list[RectificationItem]:
    """Stages 1 and 2 done on case_a through the services; the baseline's items created."""
    case, expert = world.case_a, world.expert_a
    shipped = load_shipped(session)
    load_kpi_catalogue(session)
    set_batch_frameworks(session, world.batch.id, [f.id for f in shipped])
    save_survey(
        session, world.firm_user_a, case, baselines=[], submit=True, wanted_help="导入卓越绩效模式"
    )
    write_analysis(session, world.staff, case, "需求集中在过程管理")
    visit = log_visit(
        session,
        expert,
        case,
        visit_date=ON,
        hours=Decimal(6),
        expert_ids=[],
        activities="现场诊断",
        today=ON,
    )
    confirm_visit(session, world.firm_user_a, visit)
    d = diagnosis.start(session, expert, case, Round.BASELINE)
    frameworks = diagnosis.frameworks_of(session, d)
    for framework in frameworks:
        diagnosis.save_scores(
            session,
            expert,
            d,
            [
                diagnosis.ScoreInput(i.id, percent=50)
                if framework.scale == Scale.BAND
                else diagnosis.ScoreInput(i.id, level=3)
                for i in framework.items
            ],
        )
    first_item = frameworks[0].items[0]
    diagnosis.add_finding(
        session, expert, d, item_id=first_item.id, description=SEVERE_TEXT, severity="severe"
    )
    diagnosis.add_finding(
        session, expert, d, item_id=first_item.id, description=GENERAL_TEXT, severity="general"
    )
    kpi = session.exec(select(Kpi).order_by(Kpi.id)).first()
    diagnosis.add_target(
        session,
        expert,
        d,
        diagnosis.TargetInput(
            kpi_id=kpi.id, baseline=Decimal(90), target=Decimal(95), target_date=case.evaluation_due
        ),
    )
    diagnosis.submit(session, expert, d)
    items = diagnosis.accept(session, world.staff, d, {}, ON)
    session.commit()
    return items


def stage3(session, world) -> Status:
    session.expire_all()
    return progress_of(session, world.case_a, ON)["rectification"].status


def test_stage_three_is_done_when_every_item_is_verified_or_waived(client, session, world):
    items = accepted_baseline(session, world)
    severe, general = sorted(items, key=lambda i: i.severity != "severe")
    assert progress_of(session, world.case_a, ON)["diagnosis"].status == Status.DONE
    assert stage3(session, world) == Status.IN_PROGRESS

    submitted(client, session, world, severe)
    login(client, "expert_a")
    assert client.post(url(severe, "/verify")).status_code == 302
    client.post("/logout")
    assert stage3(session, world) == Status.IN_PROGRESS  # the general item is still open

    login(client, "staff")
    assert client.post(url(general, "/waive"), data={"reason": "已随技改解决"}).status_code == 302
    assert stage3(session, world) == Status.DONE
    client.post("/logout")

    # An item added by hand later undoes the rule; the log says why.
    login(client, "expert_a")
    response = client.post(
        f"/cases/{world.case_a.id}/items",
        data={"description": "复查发现新问题", "severity": "general"},
    )
    assert response.status_code == 302
    assert stage3(session, world) == Status.IN_PROGRESS
    timeline = text(client.get(f"/cases/{world.case_a.id}"))
    assert "Rectification item 3 added" in timeline  # after the two from the diagnosis


def test_who_sees_the_verification_queue(world):
    seen = {
        who: can_see_verification_queue(getattr(world, who))
        for who in ("admin", "staff", "expert_a", "expert_b", "firm_user_a")
    }
    assert seen == {
        "admin": True,
        "staff": True,
        "expert_a": True,
        "expert_b": True,
        "firm_user_a": False,
    }
