"""The pages' one script under the Content-Security-Policy: the language menu switches the page
with no inline handler, and the browser reports no policy violation."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in


def test_language_menu_switches_under_the_policy(page: Page, demo):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, "staff1")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    with page.expect_navigation():
        page.locator("select[name=lang]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with page.expect_navigation():
        page.locator("select[name=lang]").select_option("zh_CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    screenshot(page, "board-after-language-switch")
    # A case page with its radar charts (inline SVG with their own styles) breaks no rule either.
    page.goto(f"/cases/{max(demo.case_ids.values())}")
    page.wait_for_load_state()
    page.goto(f"/cases/{min(demo.case_ids.values())}")
    page.wait_for_load_state()
    assert violations == []
