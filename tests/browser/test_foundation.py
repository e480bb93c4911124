"""The foundation in a real browser: signing in, the cohort board, a case, a firm's phone view,
the bundled CJK web font. Selectors use ids, names, data attributes, URLs and the demo's firm
names, never translated text, so they hold in Chinese and English alike."""

import re

from playwright.sync_api import Page, expect

from pilot.stages import STAGE_CODES
from tests.browser.conftest import at_path, fill_login, screenshot, sign_in

DEMO_FIRMS = 20


def test_staff_board_and_case(page: Page, demo):
    assert len(demo.firm_names) == DEMO_FIRMS
    sign_in(page, "staff1")

    rows = page.locator("table.board tbody tr[data-case]")
    expect(rows).to_have_count(DEMO_FIRMS)
    firm_links = rows.locator("td:first-child a")
    assert sorted(firm_links.all_inner_texts()) == demo.firm_names
    overdue_rows = page.locator(
        "table.board tbody tr[data-case]:has(td.stage-cell .pill.st-overdue)"
    )
    expect(overdue_rows.first).to_be_visible()
    assert int(page.locator("[data-count=overdue]").inner_text()) >= 1
    screenshot(page, "staff-board")

    row = overdue_rows.first
    case_id = row.get_attribute("data-case")
    link = row.locator("td:first-child a")
    firm_name = link.inner_text()
    assert demo.case_ids[firm_name] == int(case_id)
    link.click()
    page.wait_for_url(at_path(f"/cases/{case_id}"))

    expect(page.locator("h1")).to_contain_text(firm_name)
    stages = page.locator(".stages .stage[data-stage]")
    expect(stages).to_have_count(6)
    assert [s.get_attribute("data-stage") for s in stages.all()] == list(STAGE_CODES)
    expect(page.locator(".stages .pill.st-overdue").first).to_be_visible()
    screenshot(page, "staff-case")


def test_firm_sees_only_its_own_case_on_a_phone(phone_page: Page, demo):
    page = phone_page
    own = demo.firm_of["firm01"]
    other = next(name for name in demo.firm_names if name != own)
    sign_in(page, "firm01")

    expect(page.locator("h1")).to_have_text(own)
    expect(page.locator(".stages .stage[data-stage]")).to_have_count(6)
    text = page.locator("body").inner_text()
    assert [name for name in demo.firm_names if name in text] == [own]
    screenshot(page, "firm-home-phone")

    page.locator(f'a[href="/cases/{demo.case_ids[own]}"]').first.click()
    page.wait_for_url(at_path(f"/cases/{demo.case_ids[own]}"))
    expect(page.locator("h1")).to_contain_text(own)
    screenshot(page, "firm-case-phone")

    response = page.goto(f"/cases/{demo.case_ids[other]}")
    assert response is not None and response.status == 404
    expect(page.locator("main h1")).to_have_text("404")
    assert other not in page.content()
    screenshot(page, "firm-other-case-404-phone")


def test_bundled_cjk_web_font_loads(page: Page):
    sign_in(page, "staff1")
    expect(page.locator("table.board tbody tr[data-case]")).to_have_count(DEMO_FIRMS)
    fonts = page.evaluate(
        """async () => {
            await document.fonts.ready;
            const faces = [...document.fonts].filter(
                f => f.family.replace(/["']/g, "") === "Pilot Sans SC");
            return {
                check: document.fonts.check('16px "Pilot Sans SC"', "质量"),
                statuses: faces.map(f => f.status),
                fetched: performance.getEntriesByType("resource")
                    .some(e => new URL(e.name).pathname === "/fonts/sans.otf"),
            };
        }"""
    )
    assert fonts["check"] is True, fonts
    # check() is also true for a family the page never declared, so make sure ours is loaded.
    assert fonts["statuses"] == ["loaded"], fonts
    assert fonts["fetched"], fonts


def test_wrong_password_stays_on_login(page: Page):
    fill_login(page, "staff1", "not-the-password")

    expect(page.locator(".field.has-error .error")).to_have_count(1)
    expect(page.locator(".field.has-error #password")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("header .who")).to_have_count(0)
    screenshot(page, "login-wrong-password")
