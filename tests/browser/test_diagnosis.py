"""The baseline diagnosis in a real browser: the lead expert files it, staff return it with a
comment, the expert fixes and resubmits, staff accept it, the firm then sees its findings and
targets. Selectors use ids, names, data attributes and URLs, never translated text."""

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo.data import FIRMS
from pilot.diagnosis import services
from pilot.diagnosis.models import Round
from pilot.extensions import db
from pilot.frameworks.models import Scale
from pilot.kpis.models import Kpi
from tests.browser.conftest import PHONE, demo_case, screenshot, sign_in, signed_in

#: The demo firm with no diagnosis started (its survey is still a draft).
FIRM = FIRMS[18][0]
FINDING = "车间首件检验记录缺少签字，过程控制证据不足"
TARGET = "质量损失率"
RETURN_COMMENT = "4.1.2 高层领导的作用评分偏低，请补充依据后重新提交"


@pytest.fixture
def filing(app, live_server):
    """The case, its lead expert and firm user; every item scored by the expert but 4.1.2."""
    with app.app_context():
        session = db.session
        case = demo_case(session, FIRM)
        lead = case.lead_expert
        firm_user = session.exec(select(User).where(User.firm_id == case.firm_id)).first()
        diagnosis = services.start(session, lead, case, Round.BASELINE)
        frameworks = services.frameworks_of(session, diagnosis)
        entries = []
        for framework in frameworks:
            for n, item in enumerate(framework.items):
                if item.code == "4.1.2":
                    skipped = item.id
                elif framework.scale == Scale.BAND:
                    entries.append(services.ScoreInput(item.id, percent=(40, 50, 55, 65)[n % 4]))
                else:
                    entries.append(services.ScoreInput(item.id, level=2 + n % 3))
        services.save_scores(session, lead, diagnosis, entries)
        kpi = session.exec(select(Kpi).where(Kpi.code == "quality_loss_rate")).one()
        session.commit()
        return {
            "case": case.id,
            "expert": lead.username,
            "firm_user": firm_user.username,
            "item": skipped,
            "kpi": kpi.id,
            "url": f"/cases/{case.id}/diagnosis/baseline",
        }


def status_is(page: Page, status: str) -> None:
    expect(page.locator(".dg-status [data-diagnosis-status]")).to_have_attribute(
        "data-diagnosis-status", status
    )


def test_diagnosis_filed_returned_resubmitted_accepted_and_seen_by_the_firm(
    page: Page, browser, live_server, filing
):
    # The lead expert scores the last item, adds a finding and a target, submits.
    sign_in(page, filing["expert"])
    page.goto(filing["url"])
    status_is(page, "draft")
    item = page.locator(f'.dg-item[data-item="{filing["item"]}"]')
    expect(item.locator("[data-earned]")).not_to_contain_text("17.5")
    screenshot(page, "diagnosis-scoring")

    page.locator(f"#score_{filing['item']}").select_option("35")
    page.locator(f"#strengths_{filing['item']}").fill("高层领导重视质量，亲自推动卓越绩效导入")
    page.locator("form.dg-scoring button[type=submit]").click()
    # 50 points × 35 % = 17.5, computed by the server and shown once saved.
    expect(item.locator("[data-earned]")).to_contain_text("17.5")
    expect(page.locator(".flash.success")).to_be_visible()

    page.locator("#finding-item_id").select_option(str(filing["item"]))
    page.locator("#finding-severity").select_option("severe")
    page.locator("#finding-description").fill(FINDING)
    page.locator("form.dg-add:has(#finding-description) button[type=submit]").click()
    expect(page.locator("table.dg-findings tr[data-finding]")).to_have_count(1)

    page.locator("#target-kpi_id").select_option(str(filing["kpi"]))
    page.locator("#target-baseline").fill("2.8")
    # No target value: the field says so (the form has novalidate, the server checks).
    page.locator("#target-target_date").fill("2026-12-31")
    page.locator("form.dg-add:has(#target-target) button[type=submit]").click()
    expect(page.locator(".field.has-error #target-target")).to_be_visible()
    page.locator("#target-target").fill("2.0")
    page.locator("form.dg-add:has(#target-target) button[type=submit]").click()
    expect(page.locator("table.dg-targets tr[data-target]")).to_have_count(1)
    expect(page.locator("table.dg-targets")).to_contain_text(TARGET)

    page.locator("#submit form button[type=submit]").click()
    status_is(page, "submitted")
    expect(page.locator("form.dg-scoring")).to_have_count(0)

    # Staff return it with a comment (an empty comment is refused).
    with signed_in(browser, live_server, "staff1") as staff:
        staff.goto(filing["url"])
        status_is(staff, "submitted")
        expect(staff.locator(f"#accept-disposition_{_finding_id(staff)}")).to_have_value("rectify")
        screenshot(staff, "diagnosis-review")
        staff.locator("form.dg-return button[type=submit]").click()
        expect(staff.locator(".field.has-error #return-comment")).to_be_visible()
        staff.locator("#return-comment").fill(RETURN_COMMENT)
        staff.locator("form.dg-return button[type=submit]").click()
        status_is(staff, "returned")

    # The firm sees nothing of the draft meanwhile.
    with signed_in(browser, live_server, filing["firm_user"]) as firm:
        response = firm.goto(filing["url"])
        assert response is not None and response.status == 404
        firm.goto(f"/cases/{filing['case']}")
        expect(firm.locator("#diagnosis")).to_have_count(0)
        assert FINDING not in firm.content()

    # The expert reads the comment, raises the score and submits again.
    page.goto(filing["url"])
    status_is(page, "returned")
    expect(page.locator("#return-comment")).to_contain_text(RETURN_COMMENT)
    page.locator(f"#score_{filing['item']}").select_option("45")
    page.locator("form.dg-scoring button[type=submit]").click()
    expect(item.locator("[data-earned]")).to_contain_text("22.5")
    page.locator("#submit form button[type=submit]").click()
    status_is(page, "submitted")

    # Staff accept; the severe finding becomes a rectification item.
    with signed_in(browser, live_server, "staff1") as staff:
        staff.goto(f"/cases/{filing['case']}")
        staff.locator("#diagnosis a[href$='#review']").click()
        staff.locator("form.dg-accept button[type=submit]").click()
        staff.wait_for_url(f"**/cases/{filing['case']}#diagnosis")
        expect(staff.locator("#diagnosis [data-diagnosis-status]")).to_have_attribute(
            "data-diagnosis-status", "accepted"
        )
        expect(staff.locator("#diagnosis figure.radar svg")).to_have_count(2)
        expect(staff.locator("#diagnosis tr[data-rectification-item]")).to_have_count(1)
        screenshot(staff, "diagnosis-case-accepted")

    # The firm now sees the totals, the charts, its finding with the disposition, its target.
    with signed_in(browser, live_server, filing["firm_user"]) as firm:
        firm.goto(f"/cases/{filing['case']}")
        card = firm.locator("#diagnosis")
        expect(card.locator("figure.radar svg")).to_have_count(2)
        expect(card.locator("table.dg-findings")).to_contain_text(FINDING)
        expect(card.locator("td[data-disposition]")).to_have_attribute(
            "data-disposition", "rectify"
        )
        expect(card.locator("table.dg-targets")).to_contain_text(TARGET)
        expect(card.locator("tr[data-rectification-item] td[data-due]")).to_have_count(1)
        # The chart's labels are the Chinese category names, drawn in the bundled font.
        expect(card.locator("figure.radar svg text").filter(has_text="顾客与市场")).to_have_count(1)
        assert firm.evaluate("document.fonts.check('16px \"Pilot Sans SC\"', '顾客与市场')")
        screenshot(firm, "diagnosis-firm-case")
        assert firm.goto(filing["url"]).status == 200

    with signed_in(
        browser,
        live_server,
        filing["firm_user"],
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    ) as phone:
        phone.goto(f"/cases/{filing['case']}#diagnosis")
        expect(phone.locator("#diagnosis figure.radar svg")).to_have_count(2)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        screenshot(phone, "diagnosis-firm-case-phone")


def _finding_id(page: Page) -> str:
    return page.locator("form.dg-accept tr[data-finding]").first.get_attribute("data-finding")
