"""The follow-up service plan in a real browser: the lead expert drafts it, submits, staff return
it with a comment, the expert fixes and resubmits, staff approve (认定); the firm then reads the
approved plan on its phone. Selectors use ids, names, data attributes and URLs, never translated
text."""

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo.data import FIRMS
from pilot.diagnosis.services import targets_of
from pilot.extensions import db
from pilot.plan import services
from tests.browser.conftest import PHONE, SCREENSHOTS, demo_case, screenshot, sign_in, signed_in

#: A demo firm whose baseline is accepted with two observations carried into the plan, and no
#: plan started.
FIRM = FIRMS[10][0]
SUMMARY = "巩固整改成果，以卓越绩效自评为主线推进品牌培育"
FURTHER = "试点结束后每季度回访一次，全年安排两次一对一辅导"
RETURN_COMMENT = "请补充品牌知名度测量的时间安排，并说明产品一次交检合格率目标调整的依据"
REASON = "新产线投产后检验能力提升，目标值相应提高"


@pytest.fixture
def drafting(app, live_server):
    """The case, its lead expert and firm user, its carried findings and a work target."""
    with app.app_context():
        session = db.session
        case = demo_case(session, FIRM)
        assert services.versions_of(session, case) == []
        carried = services.carried_findings(session, case)
        assert len(carried) == 2
        firm_user = session.exec(select(User).where(User.firm_id == case.firm_id)).first()
        return {
            "case": case.id,
            "expert": case.lead_expert.username,
            "firm_user": firm_user.username,
            "findings": [str(f.id) for f in carried],
            "target": str(targets_of(session, case)[0].id),
            "url": f"/cases/{case.id}/plan",
        }


def status_is(page: Page, status: str) -> None:
    expect(page.locator(".pl-status [data-plan-status]")).to_have_attribute(
        "data-plan-status", status
    )


def add_action(page: Page, what: str, owner: str, start: str, due: str, finding: str = "0"):
    form = page.locator("form.pl-add-action")
    form.locator("#action-what").fill(what)
    form.locator("#action-owner").fill(owner)
    form.locator("#action-start_date").fill(start)
    form.locator("#action-due_date").fill(due)
    form.locator("#action-finding_id").select_option(finding)
    form.locator("button[type=submit]").click()


def test_plan_drafted_returned_resubmitted_and_approved(page: Page, browser, live_server, drafting):
    first, second = drafting["findings"]
    sign_in(page, drafting["expert"])
    page.goto(drafting["url"])
    status_is(page, "none")
    expect(page.locator(f'li[data-finding="{first}"]')).to_have_attribute("data-answered", "no")

    page.locator("#summary").fill(SUMMARY)
    page.locator("#further_service").fill(FURTHER)
    page.locator("form.pl-text button[type=submit]").click()
    expect(page.locator(".flash.success")).to_be_visible()
    status_is(page, "draft")

    # A due date before the start: the field says so and nothing is added.
    add_action(page, "编制品牌故事手册并统一对外使用", "品牌部", "2026-09-01", "2026-08-01", first)
    expect(page.locator(".field.has-error #action-due_date")).to_be_visible()
    expect(page.locator("table.pl-actions tr[data-action]")).to_have_count(0)
    page.locator("#action-due_date").fill("2026-12-31")
    page.locator("form.pl-add-action button[type=submit]").click()
    expect(page.locator("table.pl-actions tr[data-action]")).to_have_count(1)
    expect(page.locator(f'li[data-finding="{first}"]')).to_have_attribute("data-answered", "yes")

    # The other carried finding is not answered yet: submitting is refused.
    page.locator("#submit form button[type=submit]").click()
    expect(page.locator(".flash.error")).to_be_visible()
    status_is(page, "draft")
    add_action(page, "开展品牌知名度、美誉度测量", "市场部", "2026-09-01", "2027-03-31", second)
    expect(page.locator(f'li[data-finding="{second}"]')).to_have_attribute("data-answered", "yes")
    screenshot(page, "plan-drafting")
    page.locator("#submit form button[type=submit]").click()
    status_is(page, "submitted")
    expect(page.locator("form.pl-add-action")).to_have_count(0)

    # The firm sees nothing of the draft.
    with signed_in(browser, live_server, drafting["firm_user"]) as firm:
        response = firm.goto(drafting["url"])
        assert response is not None and response.status == 404
        firm.goto(f"/cases/{drafting['case']}")
        expect(firm.locator("#follow-up-plan")).to_have_count(0)

    # Staff return it with a comment (an empty comment is refused).
    with signed_in(browser, live_server, "staff1") as staff:
        staff.goto(f"/cases/{drafting['case']}")
        staff.locator("#follow-up-plan a[href$='#review']").click()
        status_is(staff, "submitted")
        screenshot(staff, "plan-review")
        staff.locator("form.pl-return button[type=submit]").click()
        expect(staff.locator(".field.has-error #return-comment")).to_be_visible()
        staff.locator("#return-comment").fill(RETURN_COMMENT)
        staff.locator("form.pl-return button[type=submit]").click()
        status_is(staff, "returned")

    # The expert reads the comment, proposes a revised target, and submits again.
    page.goto(drafting["url"])
    status_is(page, "returned")
    expect(page.locator("#return-comment")).to_contain_text(RETURN_COMMENT)
    form = page.locator("form.pl-add-revision")
    form.locator("#revision-target_id").select_option(drafting["target"])
    # No proposed value (the number input takes digits only): the field says so.
    form.locator("#revision-new_date").fill("2027-06-30")
    form.locator("#revision-reason").fill(REASON)
    form.locator("button[type=submit]").click()
    expect(page.locator(".field.has-error #revision-new_target")).to_be_visible()
    page.locator("#revision-new_target").fill("98.5")
    page.locator("form.pl-add-revision button[type=submit]").click()
    expect(page.locator("table.pl-revisions tr[data-revision] [data-new-target]")).to_have_text(
        "98.5"
    )
    screenshot(page, "plan-returned-fixed")
    page.locator("#submit form button[type=submit]").click()
    status_is(page, "submitted")

    # Staff approve; stage 5 is done and the card shows the plan in force.
    with signed_in(browser, live_server, "staff1") as staff:
        staff.goto(drafting["url"] + "#review")
        staff.locator("form.pl-approve button[type=submit]").click()
        status_is(staff, "approved")
        staff.goto(f"/cases/{drafting['case']}")
        expect(staff.locator('.stage[data-stage="plan"] .pill')).to_have_class("pill st-done")
        expect(staff.locator("#follow-up-plan table.pl-actions tr[data-action]")).to_have_count(2)
        screenshot(staff, "plan-case-approved")
        # The case page is long: the card alone, to look at.
        staff.locator("#follow-up-plan").screenshot(path=str(SCREENSHOTS / "plan-case-card.png"))

    # The lead can start a new version; the approved one stays in force and readable.
    page.goto(drafting["url"])
    status_is(page, "approved")
    expect(page.locator("#new-version form button[type=submit]")).to_be_visible()

    # The firm reads the approved plan on its phone.
    with signed_in(
        browser,
        live_server,
        drafting["firm_user"],
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    ) as phone:
        phone.goto(f"/cases/{drafting['case']}#follow-up-plan")
        card = phone.locator("#follow-up-plan")
        expect(card.locator("table.pl-actions tr[data-action]")).to_have_count(2)
        expect(card.locator("table.pl-revisions")).to_contain_text(REASON)
        expect(card).to_contain_text(FURTHER)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        screenshot(phone, "plan-firm-case-phone")
        card.screenshot(path=str(SCREENSHOTS / "plan-firm-card-phone.png"))
        phone.locator("#follow-up-plan a[href$='/plan/versions/1']").first.click()
        expect(phone.locator("[data-approved-by]")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        screenshot(phone, "plan-firm-version-phone")
