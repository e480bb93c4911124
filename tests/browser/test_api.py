"""API tokens in a real browser: a firm user creates a token on the profile page (on a phone),
lists its cases with it over HTTP, then revokes it; the API's documentation page."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import at_path, screenshot, sign_in


def test_firm_user_creates_uses_and_revokes_a_token(phone_page: Page, page: Page, demo):
    sign_in(phone_page, "firm01")
    phone_page.goto("/profile/tokens")
    phone_page.fill("input[name=name]", "数据平台")
    phone_page.locator("form[action='/profile/tokens'] button[type=submit]").click()
    secret = phone_page.locator("#new-token").inner_text().strip()
    assert secret.startswith("pcm_")
    screenshot(phone_page, "profile-token-phone")

    headers = {"Authorization": f"Bearer {secret}"}
    listed = phone_page.request.get("/api/v1/cases", headers=headers)
    assert listed.ok
    firms = {case["firm"]["name"] for case in listed.json()["items"]}
    assert firms == {demo.firm_of["firm01"]}

    phone_page.goto("/profile/tokens")
    phone_page.locator("form[action$='/revoke'] button[type=submit]").first.click()
    phone_page.wait_for_url(at_path("/profile/tokens"))
    assert phone_page.request.get("/api/v1/cases", headers=headers).status == 401

    page.goto("/api/v1/docs")
    expect(page.locator("h3", has_text="/api/v1/cases/{case_id}/items").first).to_be_visible()
    screenshot(page, "api-docs")
