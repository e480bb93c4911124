"""Notifications in a real browser: a demo firm's user sees the bell's count on a phone, opens
the list, follows a notification to where it happened (which marks it read) and the count drops;
the list on a desktop. Selectors use classes, data attributes and URLs, never translated text."""

from playwright.sync_api import expect
from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo.data import FIRMS
from pilot.extensions import db
from pilot.notifications.services import unread_count
from tests.browser.conftest import DESKTOP, PHONE, demo_case, screenshot, signed_in

#: A demo firm far along the pilot: its users were told of visits, the diagnosis and the plan.
FIRM = FIRMS[11][0]


def test_firm_follows_a_notification_from_the_bell(app, browser, live_server):
    with app.app_context():
        case = demo_case(db.session, FIRM)
        user = db.session.exec(select(User).where(User.firm_id == case.firm_id)).first()
        unread = unread_count(db.session, user.id)
    assert unread > 0
    with signed_in(
        browser, live_server, user.username, viewport=PHONE, is_mobile=True, has_touch=True
    ) as phone:
        expect(phone.locator(".bell-count")).to_have_attribute("data-unread", str(unread))
        screenshot(phone, "notifications-bell-phone")
        phone.locator("a.bell").click()
        phone.wait_for_url("**/notifications/")
        expect(phone.locator("ul.notices li.unread")).to_have_count(min(unread, 30))
        screenshot(phone, "notifications-list-phone")
        first = phone.locator("ul.notices li.unread").first
        notification_id = first.get_attribute("data-notification")
        target = first.locator("button.notice-text").get_attribute("data-href")
        first.locator("button.notice-text").click()
        phone.wait_for_url(f"**{target}")
        expect(phone.locator(".bell-count")).to_have_attribute("data-unread", str(unread - 1))
        phone.goto("/notifications/")
        expect(phone.locator(f'li[data-notification="{notification_id}"]')).to_have_class("read")
    with signed_in(browser, live_server, user.username, viewport=DESKTOP) as desktop:
        desktop.goto("/notifications/")
        screenshot(desktop, "notifications-list-desktop")
        desktop.locator("form[action$='/read-all'] button").click()
        desktop.wait_for_url("**/notifications/")
        expect(desktop.locator(".bell-count")).to_have_count(0)
        expect(desktop.locator("ul.notices li.unread")).to_have_count(0)
