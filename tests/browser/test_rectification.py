"""The rectification checklist in a real browser: on a phone the firm records its measure, uploads
evidence and submits; the expert, on a desktop, returns it with a reason; the firm sees the reason,
adds evidence and resubmits; the expert verifies it from the queue; the checklist shows it closed.
Selectors use ids, names, data attributes and URLs, never translated text."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo.data import FIRMS
from pilot.extensions import db
from pilot.rectification.models import ItemStatus
from pilot.rectification.services import items_of
from tests.browser.conftest import SCREENSHOTS, demo_case, screenshot, sign_in
from tests.factories import pdf_bytes

#: A demo firm whose diagnosis is accepted and whose items are spread over the statuses.
FIRM = FIRMS[11][0]
RETURN_REASON = "佐证材料缺少培训签到表，请补充后重新提交"


def at_path(path: str):
    return lambda url: urlparse(url).path == path


def pdf(name: str, text: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": pdf_bytes(text)}


@pytest.fixture
def rectifying(app, live_server):
    """The case, an open item on it, the firm user and the lead expert."""
    with app.app_context():
        session = db.session
        case = demo_case(session, FIRM)
        item = next(i for i in items_of(session, case.id) if i.status == ItemStatus.OPEN)
        firm_user = session.exec(select(User).where(User.firm_id == case.firm_id)).first()
        return {
            "case": case.id,
            "item": item.id,
            "firm_user": firm_user.username,
            "expert": case.lead_expert.username,
        }


def test_evidence_returned_resubmitted_and_verified(phone_page: Page, page: Page, rectifying):
    case_id, item_id = rectifying["case"], rectifying["item"]
    checklist = f"/cases/{case_id}/items"
    item_path = f"/items/{item_id}"

    # The firm, on a phone: the checklist, then the item.
    firm = phone_page
    sign_in(firm, rectifying["firm_user"])
    firm.goto(checklist)
    row = firm.locator(f'li.rc-item[data-item="{item_id}"]')
    expect(row).to_have_attribute("data-status", "open")
    expect(firm.locator("[data-group=returned] li.rc-item").first).to_be_visible()
    screenshot(firm, "rectification-checklist-phone")
    row.locator("a.rc-link").click()
    firm.wait_for_url(at_path(item_path))
    expect(firm.locator("#work details")).to_have_attribute("open", "")
    screenshot(firm, "rectification-item-open-phone")

    firm.locator("#root_cause").fill("考核制度未覆盖车间，目标没有分解到班组")
    firm.locator("#measure").fill("修订质量考核办法，目标分解到班组并按月考核")
    firm.locator("#owner_name").fill("王敏")
    firm.locator("#owner_dept").fill("质量部")
    firm.locator("#note").fill("考核办法已起草，下周发布")
    firm.locator("#work button[type=submit]").click()
    expect(firm.locator(".flash.success")).to_be_visible()
    expect(firm.locator(".rc-item-card")).to_have_attribute("data-status", "in_progress")
    expect(firm.locator("[data-note]")).to_have_count(1)

    firm.locator("#files").set_input_files(
        [pdf("考核办法.pdf", "rules"), pdf("班组目标分解表.pdf", "targets")]
    )
    firm.locator("#evidence button[type=submit]").click()
    expect(firm.locator("#evidence [data-file]")).to_have_count(2)
    screenshot(firm, "rectification-item-phone")

    firm.locator("#submit button[type=submit]").click()
    expect(firm.locator(".rc-item-card")).to_have_attribute("data-status", "submitted")
    expect(firm.locator("#waiting")).to_be_visible()

    # The lead expert, on a desktop: the queue, the item, returned with a reason.
    expert = page
    sign_in(expert, rectifying["expert"])
    expert.goto("/verification")
    card = expert.locator(f'.rc-queue-item[data-item="{item_id}"]')
    expect(card.locator("[data-file]")).to_have_count(2)
    screenshot(expert, "rectification-queue-desktop")
    card.locator(f'a[href="{item_path}"]').click()
    expert.wait_for_url(at_path(item_path))
    expect(expert.locator("#evidence [data-file]")).to_have_count(2)
    expert.locator("#verify #reason").fill(RETURN_REASON)
    expert.locator(f'#verify form[action^="{item_path}/return"] button').click()
    expect(expert.locator(".rc-item-card")).to_have_attribute("data-status", "returned")
    screenshot(expert, "rectification-item-returned-desktop")

    # The firm sees the reason, adds what was missing and submits again.
    firm.goto(item_path)
    expect(firm.locator("#returned [data-reason]")).to_have_text(RETURN_REASON)
    screenshot(firm, "rectification-item-returned-phone")
    firm.locator("#files").set_input_files([pdf("培训签到表.pdf", "attendance")])
    firm.locator("#evidence button[type=submit]").click()
    expect(firm.locator("#evidence [data-file]")).to_have_count(3)
    firm.locator("#submit button[type=submit]").click()
    expect(firm.locator(".rc-item-card")).to_have_attribute("data-status", "submitted")
    expect(firm.locator("#returned")).to_have_count(0)

    # The expert verifies it straight from the queue.
    expert.goto("/verification")
    card = expert.locator(f'.rc-queue-item[data-item="{item_id}"]')
    expect(card.locator("[data-file]")).to_have_count(3)
    card.locator('form[action$="/verify"] button').click()
    expert.wait_for_url(at_path("/verification"))
    expect(expert.locator(f'.rc-queue-item[data-item="{item_id}"]')).to_have_count(0)
    expert.goto(checklist)
    expect(expert.locator("#add textarea#description")).to_be_visible()
    screenshot(expert, "rectification-checklist-desktop")

    # The firm's checklist shows it closed.
    firm.goto(checklist)
    closed = firm.locator(f'[data-group=closed] li.rc-item[data-item="{item_id}"]')
    expect(closed).to_have_attribute("data-status", "verified")
    expect(closed.locator("[data-evidence]")).to_have_attribute("data-evidence", "3")
    screenshot(firm, "rectification-checklist-verified-phone")
    firm.goto(item_path)
    expect(firm.locator("#closed")).to_be_visible()
    expect(firm.locator("#work")).to_have_count(0)
    screenshot(firm, "rectification-item-verified-phone")

    # The case page's card counts it.
    firm.goto(f"/cases/{case_id}")
    card = firm.locator("#rectification")
    expect(card.locator('[data-count-status="verified"]')).to_be_visible()
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(SCREENSHOTS / "rectification-case-card-phone.png"))
