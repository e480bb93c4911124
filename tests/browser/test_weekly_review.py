"""Staff's weekly review of the demo batch in a real browser: reached from the batch page, on a
desktop, a phone, and as printed (A4, no navigation)."""

from playwright.sync_api import expect
from sqlmodel import select

from pilot.batches.models import Batch
from pilot.database import local_zone
from pilot.diagnosis.models import Diagnosis
from pilot.extensions import db
from tests.browser.conftest import PHONE, SCREENSHOTS, screenshot, signed_in


def test_staff_read_and_print_the_weekly_review(app, browser, live_server):
    with app.app_context():
        batch = db.session.exec(select(Batch)).first()
        # The demo's records carry the moment it was built; its calendar dates follow the
        # tests' fixed today. The week of its acceptances is the busy one.
        accepted = db.session.exec(
            select(Diagnosis.accepted_at).where(Diagnosis.accepted_at.is_not(None))
        ).first()
        busy = accepted.astimezone(local_zone()).date().isoformat()
    with signed_in(browser, live_server, "staff1") as page:
        page.goto(f"/batches/{batch.id}")
        page.locator(f"a[href='/batches/{batch.id}/week']").click()
        page.wait_for_url(f"**/batches/{batch.id}/week")
        expect(page.locator("[data-total='stages']")).to_be_visible()
        page.locator("a[rel=prev]").click()
        page.wait_for_url("**/week?on=*")
        page.locator("form.week-pick input[name=on]").fill(busy)
        page.locator("form.week-pick button").click()
        page.wait_for_url(f"**/week?on={busy}")
        expect(page.locator("[data-total='diagnoses'] b")).not_to_have_text("0")
        screenshot(page, "weekly-review-desktop")
        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator(".no-print").first).to_be_hidden()
        screenshot(page, "weekly-review-print")
        page.pdf(path=str(SCREENSHOTS / "weekly-review.pdf"), format="A4")
    with signed_in(browser, live_server, "staff1", viewport=PHONE, is_mobile=True) as phone:
        phone.goto(f"/batches/{batch.id}/week?on={busy}")
        screenshot(phone, "weekly-review-phone")
