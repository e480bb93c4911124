"""Each role's home in a real browser: the firm, on a phone, follows the task its home page lists
to a returned rectification item and resubmits it; then the three homes (staff's board, the
expert's tasks, the firm's list) are photographed on a desktop and on a 390 px phone.
Selectors use ids, data attributes and URLs, never translated text."""

from urllib.parse import urlparse

from playwright.sync_api import Page, expect
from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo.data import FIRMS
from pilot.extensions import db
from tests.browser.conftest import DESKTOP, PHONE, demo_case, screenshot, sign_in, signed_in

#: A demo firm whose diagnosis is accepted and whose items are spread over the statuses.
FIRM = FIRMS[11][0]
#: The late red of app.css (--late), which overdue tasks are written in.
LATE_RED = "rgb(197, 48, 48)"


def test_the_firm_follows_its_home_task_to_a_returned_item_and_resubmits_it(
    app, browser, live_server, phone_page: Page
):
    with app.app_context():
        case = demo_case(db.session, FIRM)
        firm_user = db.session.exec(select(User).where(User.firm_id == case.firm_id)).first()
        users = {"firm": firm_user.username, "expert": case.lead_expert.username}

    firm = phone_page
    sign_in(firm, users["firm"])
    tasks = firm.locator("#my-tasks li[data-kind]")
    # Overdue first and in red: the items to work, then the returned item.
    expect(tasks).to_have_count(2)
    expect(tasks.nth(0)).to_have_attribute("data-kind", "work_items")
    returned = tasks.nth(1)
    expect(returned).to_have_attribute("data-kind", "resubmit_item")
    expect(returned).to_have_attribute("data-overdue", "")
    expect(returned.locator(".what")).to_have_css("color", LATE_RED)
    screenshot(firm, "home-firm-tasks-phone")

    returned.locator("a.task").click()
    firm.wait_for_url(lambda url: urlparse(url).path.startswith("/items/"))
    item_path = urlparse(firm.url).path
    assert urlparse(firm.url).fragment == "returned"
    expect(firm.locator(".rc-item-card")).to_have_attribute("data-status", "returned")
    expect(firm.locator("#returned [data-reason]")).to_be_visible()
    firm.locator("#submit button[type=submit]").click()
    expect(firm.locator(".rc-item-card")).to_have_attribute("data-status", "submitted")
    assert urlparse(firm.url).path == item_path

    # Back home the task is gone; the expert now has the item to verify.
    firm.goto("/")
    expect(firm.locator("#my-tasks li[data-kind=resubmit_item]")).to_have_count(0)
    expect(firm.locator("#my-tasks li[data-kind=work_items]")).to_have_count(1)

    for who, username in (("board", "staff1"), ("expert", users["expert"]), ("firm", None)):
        for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone")):
            with signed_in(browser, live_server, username or users["firm"], viewport) as page:
                if who == "expert":
                    verify = page.locator(f'li[data-kind=verify_item] a[href^="{item_path}"]')
                    expect(verify).to_have_count(1)
                elif who == "board":
                    expect(page.locator("[data-waiting]").first).to_be_visible()
                screenshot(page, f"home-{who}-{size}")
