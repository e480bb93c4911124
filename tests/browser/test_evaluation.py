"""Stage 6 and closing in a real browser, on a demo case whose follow-up plan is approved: the
lead expert re-scores on the final round's page and enters the actuals, the firm rates the
service (on a phone), staff accept the re-scoring, check the actuals, give the verdict and close
the case; the batch's results with their charts. Selectors use ids, names, data attributes and
URLs, never translated text."""

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo.data import FIRMS
from pilot.diagnosis import services as diagnosis
from pilot.extensions import db
from tests.browser.conftest import (
    PHONE,
    SCREENSHOTS,
    demo_case,
    screenshot,
    sign_in,
    signed_in,
)

#: A demo firm with stages 1–5 done and nothing of stage 6 (DONE_STAGES[3] == 5).
FIRM = FIRMS[3][0]
ASSESSMENT = "企业完成了全部整改，过程能力分析已常态化，主要质量目标达到预期，建议持续推进。"


@pytest.fixture
def evaluating(app, live_server):
    """The case, its lead expert, firm user and work targets (with their baselines and goals)."""
    with app.app_context():
        session = db.session
        case = demo_case(session, FIRM)
        firm_user = session.exec(select(User).where(User.firm_id == case.firm_id)).first()
        targets = [
            {"id": t.id, "baseline": t.baseline, "target": t.target, "direction": t.direction}
            for t in diagnosis.targets_of(session, case)
        ]
        return {
            "case": case.id,
            "batch": case.batch_id,
            "lead": case.lead_expert.username,
            "experts": [a.expert_id for a in case.assignments],
            "firm_user": firm_user.username,
            "targets": targets,
            "url": f"/cases/{case.id}/evaluation",
            "final": f"/cases/{case.id}/diagnosis/final",
        }


def fits(page: Page, selector: str) -> bool:
    """The (first) table is no wider than its scrolling wrapper."""
    inner, outer = page.evaluate(
        "s => { const t = document.querySelector(s);"
        " return [t.scrollWidth, t.parentElement.clientWidth]; }",
        selector,
    )
    return inner <= outer


def actual_for(target: dict, n: int) -> str:
    """The first target reaches its goal; the others get half way there."""
    if n == 0:
        return str(target["target"].normalize())
    half = target["baseline"] + (target["target"] - target["baseline"]) / 2
    return str(half.quantize(target["target"]).normalize())


def test_stage6_from_actuals_to_closing(page: Page, browser, live_server, evaluating):
    ev = evaluating
    # The lead expert opens stage 6 and goes to the final round from it.
    sign_in(page, ev["lead"])
    page.goto(ev["url"])
    expect(page.locator("section.ev-actual")).to_have_count(len(ev["targets"]))
    page.locator('#comparison a[data-action="rescore"]').click()
    page.wait_for_url(f"**{ev['final']}")
    # Every item re-scored a step up: 60 % on the band scale, level 4 on the maturity scale.
    page.evaluate(
        """() => document.querySelectorAll('form.dg-scoring select[id^="score_"]').forEach(s => {
             const values = [...s.options].map(o => o.value);
             s.value = values.includes('60') ? '60' : '4';
           })"""
    )
    page.locator("form.dg-scoring button[type=submit]").click()
    expect(page.locator(".flash.success")).to_be_visible()
    # Each item shows its baseline score beside the new one.
    items = page.locator("form.dg-scoring .dg-item").count()
    expect(page.locator("form.dg-scoring [data-baseline]")).to_have_count(items)
    screenshot(page, "final-round-expert")
    page.locator("#submit form button[type=submit]").click()
    expect(page.locator(".dg-status [data-diagnosis-status]")).to_have_attribute(
        "data-diagnosis-status", "submitted"
    )

    # Actuals: a word is refused on its field, nothing saved; numbers are saved.
    page.goto(ev["url"])
    first = ev["targets"][0]["id"]
    section = page.locator(f'section.ev-actual[data-target="{first}"]')
    section.locator(f'input[name="t{first}-actual"]').fill("九十八")
    section.locator('button[data-action="enter"]').click()
    expect(page.locator(f'section[data-target="{first}"] .field.has-error')).to_be_visible()
    expect(
        page.locator(f'table.ev-targets tr[data-target="{first}"] td[data-actual=""]')
    ).to_be_visible()
    for n, target in enumerate(ev["targets"]):
        section = page.locator(f'section.ev-actual[data-target="{target["id"]}"]')
        section.locator(f'input[name="t{target["id"]}-actual"]').fill(actual_for(target, n))
        section.locator(f'input[name="t{target["id"]}-period"]').fill("2026年1-6月")
        section.locator('button[data-action="enter"]').click()
        expect(
            page.locator(f'section.ev-actual[data-target="{target["id"]}"] figure svg')
        ).to_have_count(1)
    expect(page.locator('table.ev-targets [data-met="yes"]')).to_have_count(1)
    expect(page.locator('table.ev-targets [data-achievement="50.0"]')).to_have_count(
        len(ev["targets"]) - 1
    )
    page.locator('#assessment textarea[name="assessment-assessment"]').fill(ASSESSMENT)
    page.locator('button[data-action="assess"]').click()
    expect(page.locator("#assessment [data-assessment]")).to_contain_text("过程能力分析")
    screenshot(page, "evaluation-expert")

    # Staff accept the re-scoring and check every actual.
    with signed_in(browser, live_server, "staff1") as staff:
        staff.goto(ev["final"])
        staff.locator("form.dg-accept button[type=submit]").click()
        # Accepting the final round leads to stage 6, where it is compared with the baseline.
        staff.wait_for_url(f"**{ev['url']}#comparison")
        expect(staff.locator("#comparison section.ev-framework figure svg")).to_have_count(2)
        checks = staff.locator('button[data-action="check"]')
        for remaining in range(len(ev["targets"]), 0, -1):
            expect(checks).to_have_count(remaining)
            checks.first.click()
        expect(checks).to_have_count(0)
        expect(staff.locator('table.ev-targets [data-checked="yes"]')).to_have_count(
            len(ev["targets"])
        )

    # The firm rates the service on its phone: overall, then each expert.
    with signed_in(
        browser,
        live_server,
        ev["firm_user"],
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    ) as phone:
        phone.goto(ev["url"] + "#rating")
        for who in ["overall", *map(str, ev["experts"])]:
            form = phone.locator(f'form.ev-rate[data-ratee="{who}"]')
            for aspect, score in (("professionalism", "5"), ("timeliness", "4")):
                form.locator(f'input[name="rate{who}-{aspect}"][value="{score}"]').check()
            form.locator('button[data-action="rate"]').click()
            # Usefulness was left out: the form says so and keeps the other answers.
            form = phone.locator(f'form.ev-rate[data-ratee="{who}"]')
            expect(form.locator(".field.has-error")).to_have_count(1)
            expect(form.locator(f'input[name="rate{who}-timeliness"][value="4"]')).to_be_checked()
            form.locator(f'input[name="rate{who}-usefulness"][value="5"]').check()
            form.locator(f'textarea[name="rate{who}-comment"]').fill("专家诊断准确，建议实用")
            form.locator('button[data-action="rate"]').click()
            expect(phone.locator(f'table.ev-ratings tr[data-rating="{who}"]')).to_have_count(1)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        for table in ("table.ev-targets", "table.ev-change", "table.ev-ratings"):
            assert fits(phone, table), table
        screenshot(phone, "evaluation-firm-phone")

    # Staff give the verdict and close the case; it is then read-only, with its verdict.
    with signed_in(browser, live_server, "staff1") as staff:
        staff.goto(ev["url"] + "#verdict")
        staff.locator('input[name="verdict-verdict"][value="met"]').check()
        staff.locator('textarea[name="verdict-comment"]').fill("工作目标全部实现或过半")
        staff.locator('button[data-action="verdict"]').click()
        expect(staff.locator("#verdict [data-verdict]")).to_have_attribute("data-verdict", "met")
        expect(staff.locator("[data-stage-status]").first).to_have_attribute(
            "data-stage-status", "done"
        )
        screenshot(staff, "evaluation-staff-verdict")
        staff.locator('button[data-action="close"]').click()
        expect(staff.locator("[data-closed]").first).to_be_visible()
        expect(
            staff.locator('button[data-action="check"], button[data-action="verdict"]')
        ).to_have_count(0)
        expect(staff.locator('button[data-action="reopen"]')).to_be_visible()
        staff.goto(f"/cases/{ev['case']}")
        card = staff.locator("#evaluation")
        expect(card.locator("[data-closed]")).to_be_visible()
        expect(card.locator('[data-verdict="met"]')).to_be_visible()
        screenshot(staff, "evaluation-case-closed")
        # The operations log reads as sentences, with nothing internal in it.
        log = staff.locator("table.audit").inner_text()
        for internal in ("null", "_id", "basically_met", "unfinished_items", "+00:00"):
            assert internal not in log, internal
        staff.locator("table.audit").screenshot(path=str(SCREENSHOTS / "case-log.png"))

        staff.goto(f"/batches/{ev['batch']}/results")
        expect(
            staff.locator(f'#per-case tr[data-case="{ev["case"]}"] .pill[data-verdict="met"]')
        ).to_be_visible()
        expect(staff.locator(f'#open-cases tr[data-case="{ev["case"]}"]')).to_have_count(0)
        expect(staff.locator("section.ev-framework figure svg")).to_have_count(2)
        expect(
            staff.locator("section.ev-framework figure svg text").filter(has_text="顾客与市场")
        ).to_have_count(1)
        assert staff.evaluate("document.fonts.check('16px \"Pilot Sans SC\"', '顾客与市场')")
        screenshot(staff, "evaluation-batch-results")

    with signed_in(
        browser, live_server, "staff1", viewport=PHONE, is_mobile=True, has_touch=True
    ) as phone:
        phone.goto(f"/batches/{ev['batch']}/results")
        expect(phone.locator("section.ev-framework figure svg")).to_have_count(2)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        # The tables fit too: nothing scrolls sideways inside them.
        for table in ("#per-case", "table.ev-change", "#per-expert", "#open-cases"):
            assert fits(phone, table), table
        screenshot(phone, "evaluation-batch-results-phone")
        # The final round and the operations log read on a phone too.
        phone.goto(ev["final"])
        expect(phone.locator("table.dg-scores [data-baseline]").first).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(phone, "final-round-phone")
        phone.goto(f"/cases/{ev['case']}")
        expect(phone.locator("table.audit")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.locator("table.audit").screenshot(path=str(SCREENSHOTS / "case-log-phone.png"))
