"""Stage 6 and closing through their pages: actuals entered by the expert and checked by staff,
the before/after comparison, the service rating, the closing assessment, the verdict, closing
with unfinished items, the read-only closed case, reopening; who sees which ratings; the batch
results."""

import hashlib
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa
from sqlmodel import select

from pilot.audit.models import AuditLog
from pilot.cases.services import (
    CaseError,
    assign_experts,
    close_case,
    mark_stage,
    unmark_stage,
    withdraw_case,
)
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round, WorkTarget
from pilot.evaluation import services as evaluation
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating, Verdict
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.frameworks.models import Scale
from pilot.kpis.models import Kpi
from pilot.plan import services as plan
from pilot.rectification import services as rectification
from pilot.rectification.models import RectificationItem
from pilot.reports import archive
from pilot.reports.models import ReportArchive
from pilot.stages import Status, progress_of
from pilot.survey.services import save_survey, write_analysis
from pilot.visits.services import confirm_visit, log_visit
from tests import factories
from tests.conftest import TODAY, login, wait_for

DAY = date.fromisoformat(TODAY)
OPEN_ITEM = "质量目标未分解到车间，考核无依据"
ASSESSMENT = "企业按期完成主要整改，质量数据分析能力明显提升，建议持续推进卓越绩效模式。"
#: (KPI code, baseline, target): higher-is-better first pass yield, lower-is-better loss rate.
TARGETS = (("first_pass_yield", "95.2", "97.5"), ("quality_loss_rate", "2.80", "2.00"))


# Bringing a case to stage 6 through the services ------------------------------------------------


def _scores(frameworks, percent: int, level: int) -> list[diagnosis.ScoreInput]:
    return [
        diagnosis.ScoreInput(
            item.id,
            percent=percent if f.scale == Scale.BAND else None,
            level=level if f.scale != Scale.BAND else None,
        )
        for f in frameworks
        for item in f.items
    ]


def to_stage6(session, world, case, firm_user, lead, targets=TARGETS) -> None:
    """Survey, a confirmed visit, an accepted baseline (all band items 50 %, brand level 3, one
    severe finding left open as an item), training marked done, the plan approved."""
    kpis = {k.code: k for k in session.exec(select(Kpi)).all()}
    save_survey(
        session,
        firm_user,
        case,
        baselines=[],
        submit=True,
        pain_points="合格率波动",
        wanted_help="卓越绩效导入",
    )
    write_analysis(session, world.staff, case, "主要短板在过程数据分析")
    visit = log_visit(
        session,
        lead,
        case,
        visit_date=DAY - timedelta(days=60),
        hours=Decimal(6),
        expert_ids=[],
        activities="现场诊断",
        today=DAY,
    )
    confirm_visit(session, firm_user, visit)
    baseline = diagnosis.start(session, lead, case, Round.BASELINE)
    frameworks = diagnosis.frameworks_of(session, baseline)
    diagnosis.save_scores(session, lead, baseline, _scores(frameworks, 50, 3))
    quality = next(f for f in frameworks if f.scale == Scale.BAND)
    diagnosis.add_finding(
        session,
        lead,
        baseline,
        item_id=quality.items[0].id,
        description=OPEN_ITEM,
        severity="severe",
    )
    for code, before, target in targets:
        diagnosis.add_target(
            session,
            lead,
            baseline,
            diagnosis.TargetInput(
                kpi_id=kpis[code].id,
                baseline=Decimal(before),
                target=Decimal(target),
                target_date=case.evaluation_due,
            ),
        )
    diagnosis.submit(session, lead, baseline)
    diagnosis.accept(session, world.staff, baseline, {}, DAY - timedelta(days=50))
    mark_stage(session, world.staff, case, "training", "参加了全部集中培训（纸质签到）")
    draft = plan.draft(session, lead, case)
    plan.add_action(
        session,
        lead,
        draft,
        plan.ActionInput(
            what="开展年度自评", owner="质量部", start_date=DAY, due_date=DAY + timedelta(days=90)
        ),
    )
    plan.submit(session, lead, draft)
    plan.approve(session, world.staff, draft)
    session.commit()


def rescore(session, world, case, lead, percent: int = 60, level: int = 4) -> None:
    """The final round: every band item at `percent`, every brand item at `level`, accepted."""
    final = diagnosis.start(session, lead, case, Round.FINAL)
    frameworks = diagnosis.frameworks_of(session, final)
    diagnosis.save_scores(session, lead, final, _scores(frameworks, percent, level))
    diagnosis.submit(session, lead, final)
    diagnosis.accept(session, world.staff, final, {}, DAY)
    session.commit()


def complete_but_verdict(session, world, case, firm_user, lead, actuals=("97.8", "2.40")):
    """Actuals entered and checked, the final round accepted, the service rated, the
    assessment written: everything of stage 6 but the verdict."""
    for target, value in zip(diagnosis.targets_of(session, case), actuals, strict=True):
        row = evaluation.enter_actual(
            session, lead, target, actual=Decimal(value), period="2026年1-6月"
        )
        evaluation.check_actual(session, world.staff, row)
    rescore(session, world, case, lead)
    evaluation.rate(
        session,
        firm_user,
        case,
        expert_id=None,
        scores={"professionalism": 5, "timeliness": 4, "usefulness": 5},
        comment="很有帮助",
    )
    evaluation.write_assessment(session, lead, case, ASSESSMENT)
    session.commit()


@pytest.fixture
def stage6(session, world, frameworks):
    """case_a with stage 6 open and nothing of it done; its targets and open item."""
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    targets = diagnosis.targets_of(session, world.case_a)
    item = session.exec(
        select(RectificationItem).where(RectificationItem.case_id == world.case_a.id)
    ).one()
    return {"targets": targets, "item": item}


# Helpers ----------------------------------------------------------------------------------------


@pytest.fixture
def as_user(app):
    """A fresh client signed in as the user, reading English (the msgids)."""

    def make(username: str):
        client = app.test_client()
        client.post("/language", data={"lang": "en"})
        login(client, username)
        return client

    return make


def url(case, tail: str = "") -> str:
    return f"/cases/{case.id}/evaluation{tail}"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def actual_data(target, value: str, **extra) -> dict:
    data = {f"t{target.id}-actual": value, f"t{target.id}-period": "2026年1-6月"}
    data.update({f"t{target.id}-{k}": v for k, v in extra.items()})
    return data


def rating_data(who: str, p="5", t="4", u="5", **extra) -> dict:
    data = {
        f"rate{who}-professionalism": p,
        f"rate{who}-timeliness": t,
        f"rate{who}-usefulness": u,
        f"rate{who}-comment": "诊断准确",
    }
    data.update({f"rate{who}-{k}": v for k, v in extra.items()})
    return data


def actuals(session) -> list[KpiActual]:
    session.expire_all()
    return session.exec(select(KpiActual).order_by(KpiActual.id)).all()


def ratings(session) -> list[ServiceRating]:
    session.expire_all()
    return session.exec(select(ServiceRating).order_by(ServiceRating.id)).all()


def evaluation_row(session, case) -> Evaluation | None:
    session.expire_all()
    return session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()


def seen(row: KpiActual) -> str:
    return f"{row.actual}@{row.entered_at.isoformat()}"


def posted_fields(page: str, action: str) -> list[tuple[str, str]]:
    """The (name, value) pairs the page's form with this action sends (its inputs, in order)."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    fields = []
    for tag in re.findall(r"<input[^>]*>", form):
        value = re.search(r'value="([^"]*)"', tag)
        fields.append((re.search(r'name="([^"]*)"', tag).group(1), value[1] if value else ""))
    return fields


# Actuals ----------------------------------------------------------------------------------------


def test_expert_enters_actuals_and_staff_checks_them(session, world, stage6, as_user):
    yield_target, loss_target = stage6["targets"]
    expert = as_user("expert_a")
    page = text(expert.get(url(world.case_a)))
    assert "Enter the actual" in page and "产品一次交检合格率" in page

    evidence = (io.BytesIO(factories.pdf_bytes()), "统计报表.pdf")
    response = expert.post(
        url(world.case_a, f"/targets/{yield_target.id}/actual"),
        data=actual_data(yield_target, "97.8", note="质量部月报", evidence=evidence),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#target-{yield_target.id}")
    response = expert.post(
        url(world.case_a, f"/targets/{loss_target.id}/actual"),
        data=actual_data(loss_target, "２．４"),  # full-width digits, as a phone may type them
    )
    assert response.status_code == 302
    first, second = actuals(session)
    assert (first.actual, first.period) == (Decimal("97.8"), "2026年1-6月")
    assert first.note == "质量部月报"
    assert second.actual == Decimal("2.4")
    assert first.checked_at is None and first.entered_by_id == world.expert_a.id
    [stored] = session.exec(select(StoredFile).where(StoredFile.owner_type == "actual")).all()
    assert (stored.owner_id, stored.case_id) == (first.id, world.case_a.id)

    # Achievement is computed: 97.8 passes 97.5; 2.4 is half way from 2.80 to 2.00.
    page = text(expert.get(url(world.case_a)))
    assert 'data-achievement="100.0"' in page and 'data-achievement="50.0"' in page
    assert 'data-met="yes"' in page and 'data-met="no"' in page

    # The firm sees neither value before the bureau checked it.
    firm = as_user("firm_a")
    page = text(firm.get(url(world.case_a)))
    assert "being checked" in page and 'data-actual="97.8"' not in page

    staff = as_user("staff")
    page = text(staff.get(url(world.case_a)))
    assert page.count('data-action="check"') == 2
    # The check button's form sends what the page shows: one "seen", the value as entered.
    check_url = url(world.case_a, f"/actuals/{first.id}/check")
    fields = dict(posted_fields(page, check_url))
    assert [n for n, _v in posted_fields(page, check_url)].count("seen") == 1
    assert fields["seen"] == seen(first)
    response = staff.post(check_url, data={"seen": fields["seen"]})
    assert response.status_code == 302
    checked, unchecked = actuals(session)
    assert checked.checked_by_id == world.staff.id and checked.checked_at is not None
    assert unchecked.checked_at is None
    page = text(firm.get(url(world.case_a)))
    assert 'data-actual="97.8"' in page and 'data-actual="2.4"' not in page
    entry = session.exec(
        select(AuditLog).where(AuditLog.record_type == "kpi_actual", AuditLog.action == "check")
    ).one()
    assert entry.actor_id == world.staff.id and entry.public


def test_a_corrected_actual_is_checked_again(session, world, stage6, as_user):
    target = stage6["targets"][0]
    row = evaluation.enter_actual(session, world.expert_a, target, actual=Decimal(97), period="")
    evaluation.check_actual(session, world.staff, row)
    session.commit()
    expert = as_user("expert_a")
    expert.post(url(world.case_a, f"/targets/{target.id}/actual"), data=actual_data(target, "98"))
    [row] = actuals(session)
    assert row.actual == Decimal(98) and row.checked_at is None


def test_staff_cannot_check_a_value_changed_since_the_page_was_opened(
    session, world, stage6, as_user
):
    target = stage6["targets"][0]
    row = evaluation.enter_actual(session, world.expert_a, target, actual=Decimal(97), period="")
    session.commit()
    old = seen(row)
    evaluation.enter_actual(session, world.expert_a, target, actual=Decimal(90), period="")
    session.commit()
    staff = as_user("staff")
    response = staff.post(
        url(world.case_a, f"/actuals/{row.id}/check"), data={"seen": old}, follow_redirects=True
    )
    assert "changed after you opened the page" in text(response)
    assert actuals(session)[0].checked_at is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Enter a number, such as 98.5."),
        ("NaN", "Enter a number, such as 98.5."),
        ("Infinity", "Enter a number, such as 98.5."),
        ("-inf", "Enter a number, such as 98.5."),
        ("1e3", "Enter a number, such as 98.5."),
        ("1,000", "Enter a number, such as 98.5."),
        ("", "Enter the actual value."),
        ("97.123456", "Use at most 4 decimal places."),
        ("99999999999999", "This number is too large."),
    ],
)
def test_an_actual_that_is_not_a_finite_number_is_refused(
    session, world, stage6, as_user, value, message
):
    target = stage6["targets"][0]
    expert = as_user("expert_a")
    evidence = (io.BytesIO(factories.pdf_bytes()), "报表.pdf")
    response = expert.post(
        url(world.case_a, f"/targets/{target.id}/actual"),
        data=actual_data(target, value, evidence=evidence),
    )
    assert response.status_code == 400
    assert message in text(response)
    assert actuals(session) == []
    assert session.exec(select(StoredFile).where(StoredFile.owner_type == "actual")).all() == []


def test_a_rejected_evidence_file_saves_nothing(session, world, stage6, as_user):
    target = stage6["targets"][0]
    expert = as_user("expert_a")
    response = expert.post(
        url(world.case_a, f"/targets/{target.id}/actual"),
        data=actual_data(target, "97.8", evidence=(io.BytesIO(b"MZ\x90\x00binary"), "a.exe")),
    )
    assert response.status_code == 400
    assert "Nothing was saved" in text(response)
    assert actuals(session) == []


def test_stage6_input_waits_for_the_plan_and_the_training(session, world, stage6, as_user):
    unmark_stage(session, world.staff, world.case_a, "training", "签到表缺失")
    session.commit()
    target = stage6["targets"][0]
    expert = as_user("expert_a")
    response = expert.post(
        url(world.case_a, f"/targets/{target.id}/actual"),
        data=actual_data(target, "97.8"),
        follow_redirects=True,
    )
    assert "Stage 6 opens once" in text(response)
    assert actuals(session) == []
    firm = as_user("firm_a")
    firm.post(url(world.case_a, "/ratings/overall"), data=rating_data("overall"))
    assert ratings(session) == []


def test_only_assigned_experts_enter_and_only_staff_check(session, world, stage6, as_user):
    target = stage6["targets"][0]
    for who in ("firm_a", "staff"):
        response = as_user(who).post(
            url(world.case_a, f"/targets/{target.id}/actual"), data=actual_data(target, "97")
        )
        assert response.status_code == 403
    response = as_user("expert_b").post(
        url(world.case_a, f"/targets/{target.id}/actual"), data=actual_data(target, "97")
    )
    assert response.status_code == 404
    row = evaluation.enter_actual(session, world.expert_a, target, actual=Decimal(97), period="")
    session.commit()
    for who in ("expert_a", "firm_a"):
        response = as_user(who).post(
            url(world.case_a, f"/actuals/{row.id}/check"), data={"seen": seen(row)}
        )
        assert response.status_code == 403
    assert actuals(session)[0].checked_at is None


# The before/after comparison --------------------------------------------------------------------


def test_the_final_rescoring_is_compared_with_the_baseline(session, world, stage6, as_user):
    staff = as_user("staff")
    page = text(staff.get(url(world.case_a)))
    assert f"/cases/{world.case_a.id}/diagnosis/final" in page
    assert "The comparison appears once" in page
    expert = as_user("expert_a")
    assert 'data-action="rescore"' in text(expert.get(url(world.case_a)))
    # Submitted, the final round waits for staff: the experts only open it.
    final = diagnosis.start(session, world.expert_a, world.case_a, Round.FINAL)
    frameworks = diagnosis.frameworks_of(session, final)
    diagnosis.save_scores(session, world.expert_a, final, _scores(frameworks, 60, 4))
    diagnosis.submit(session, world.expert_a, final)
    session.commit()
    page = text(expert.get(url(world.case_a)))
    assert 'data-action="rescore"' not in page and "Open the final re-scoring" in page

    diagnosis.accept(session, world.staff, final, {}, DAY)
    session.commit()
    page = text(as_user("firm_a").get(url(world.case_a)))
    # GB/T 19580: every item 50 % → 60 %, so 500 → 600 of 1000; the brand 3/5 → 4/5 of 100.
    assert "500.0 → <b data-final-total>600.0</b> / 1000" in page
    assert "60.0 → <b data-final-total>80.0</b> / 100" in page
    assert "+100.0" in page and "+20.0" in page
    # 4.1 领导 (110 points): 55.0 → 66.0.
    assert '<td data-label="Baseline" class="num" data-before>55.0</td>' in page
    assert '<td data-label="Final" class="num" data-after>66.0</td>' in page
    # The charts bring no script: the page's only one is the site's static file.
    assert page.count("<svg") >= 2 and page.count("<script") == 1
    assert '<script src="/static/app.js" defer></script>' in page
    assert "/diagnosis/final" not in page  # the firm gets no link to the experts' working page


def test_the_final_round_speaks_of_itself_and_shows_the_baseline_scores(
    app, session, world, stage6
):
    """The final round's page: its own words (not the baseline's targets, submit button or
    rectification items), and each item's baseline score beside the new one."""
    final_url = f"/cases/{world.case_a.id}/diagnosis/final"
    final = diagnosis.start(session, world.expert_a, world.case_a, Round.FINAL)
    frameworks = diagnosis.frameworks_of(session, final)
    diagnosis.save_scores(session, world.expert_a, final, _scores(frameworks, 60, 4))
    session.commit()
    expert = app.test_client()
    login(expert, "expert_a")
    expert.forget_language()
    page = text(expert.get(final_url))
    assert "提交终期复评" in page and "终期复评不设定工作目标" in page
    assert "终期复评的诊断问题记录试点结束时仍存在的问题" in page
    for baseline_words in ("至少设定一项工作目标", "提交质量诊断", "默认转为整改项"):
        assert baseline_words not in page
    items = sum(len(f.items) for f in frameworks)
    assert page.count("data-baseline>") == items
    # GB/T 19580 at 50 % in the baseline, the brand framework at level 3.
    assert re.search(r"data-baseline>基线诊断：50%（\d+\.\d分）<", page)
    assert re.search(r"data-baseline>基线诊断：3级（\d+\.\d分）<", page)

    diagnosis.submit(session, world.expert_a, final)
    session.commit()
    staff = app.test_client()
    login(staff, "staff")
    staff.forget_language()
    page = text(staff.get(final_url))
    assert "审核通过终期复评" in page and "退回终期复评" in page
    assert "生成整改项0项" not in page and "disposition_" not in page
    # Read while scored: the baseline beside each new score.
    assert page.count("data-baseline>") == items
    response = staff.post(f"{final_url}/accept", data={})
    assert response.headers["Location"].endswith(f"/cases/{world.case_a.id}/evaluation#comparison")
    page = text(staff.get(response.headers["Location"]))
    assert "终期复评已审核通过" in page and "生成整改项" not in page


# The service rating -----------------------------------------------------------------------------


def test_the_firm_rates_the_service_and_each_expert(session, world, stage6, as_user):
    firm = as_user("firm_a")
    page = text(firm.get(url(world.case_a)))
    assert 'data-ratee="overall"' in page and f'data-ratee="{world.expert_a.id}"' in page
    assert "on_behalf_reason" not in page  # the firm rates for itself
    response = firm.post(url(world.case_a, "/ratings/overall"), data=rating_data("overall"))
    assert response.status_code == 302
    response = firm.post(
        url(world.case_a, f"/ratings/{world.expert_a.id}"),
        data=rating_data(str(world.expert_a.id), "4", "3", "4"),
    )
    assert response.status_code == 302
    overall, expert = ratings(session)
    assert (overall.expert_id, overall.professionalism, overall.timeliness) == (None, 5, 4)
    assert (expert.expert_id, expert.usefulness, expert.rated_by_id) == (
        world.expert_a.id,
        4,
        world.firm_user_a.id,
    )
    assert overall.on_behalf_reason == ""
    # Rating again changes the rating, it does not add one.
    firm.post(url(world.case_a, "/ratings/overall"), data=rating_data("overall", "3", "3", "3"))
    assert [r.average for r in ratings(session)][0] == 3
    assert len(ratings(session)) == 2


def test_staff_rate_for_the_firm_only_with_a_reason(session, world, stage6, as_user):
    staff = as_user("staff")
    page = text(staff.get(url(world.case_a)))
    assert 'name="rateoverall-on_behalf_reason"' in page
    assert "Rate for the firm only when it cannot do so itself" in page
    response = staff.post(url(world.case_a, "/ratings/overall"), data=rating_data("overall"))
    assert response.status_code == 400
    assert "Give a reason for rating on the firm's behalf." in text(response)
    assert ratings(session) == []
    response = staff.post(
        url(world.case_a, "/ratings/overall"),
        data=rating_data("overall", on_behalf_reason="企业联系人出差，电话确认评价"),
    )
    assert response.status_code == 302
    [rating] = ratings(session)
    assert rating.on_behalf_reason == "企业联系人出差，电话确认评价"
    assert rating.rated_by_id == world.staff.id
    entry = session.exec(select(AuditLog).where(AuditLog.action == "rate")).one()
    assert entry.reason == "企业联系人出差，电话确认评价"
    assert "for the firm: 企业联系人出差" in text(staff.get(url(world.case_a)))


@pytest.mark.parametrize("bad", ["0", "6", "-1", "4.5", "x", ""])
def test_a_rating_outside_1_to_5_is_refused(session, world, stage6, as_user, bad):
    firm = as_user("firm_a")
    response = firm.post(
        url(world.case_a, "/ratings/overall"), data=rating_data("overall", "5", bad, "5")
    )
    assert response.status_code == 400
    assert "Give a rating from 1 to 5." in text(response)
    assert ratings(session) == []


def test_only_the_case_experts_can_be_rated(session, world, stage6, as_user):
    firm = as_user("firm_a")
    response = firm.post(
        url(world.case_a, f"/ratings/{world.expert_b.id}"),
        data=rating_data(str(world.expert_b.id)),
        follow_redirects=True,
    )
    assert "Rate one of the experts who served the firm." in text(response)
    assert firm.post(url(world.case_a, "/ratings/everyone"), data={}).status_code == 404
    assert ratings(session) == []


# Who sees which ratings -------------------------------------------------------------------------


def _rate_case_a(session, world):
    evaluation.rate(
        session,
        world.firm_user_a,
        world.case_a,
        expert_id=None,
        scores={"professionalism": 5, "timeliness": 5, "usefulness": 5},
        comment="整体满意",
    )
    evaluation.rate(
        session,
        world.firm_user_a,
        world.case_a,
        expert_id=world.expert_a.id,
        scores={"professionalism": 2, "timeliness": 3, "usefulness": 2},
        comment="专家甲来得太少",
    )
    session.commit()


def test_per_expert_ratings_are_for_staff_and_the_rating_firm_only(session, world, stage6, as_user):
    _rate_case_a(session, world)
    staff = text(as_user("staff").get(url(world.case_a)))
    assert f'data-rating="{world.expert_a.id}"' in staff and "专家甲来得太少" in staff
    firm = text(as_user("firm_a").get(url(world.case_a)))
    assert f'data-rating="{world.expert_a.id}"' in firm and "专家甲来得太少" in firm

    expert_client = as_user("expert_a")
    for page in (url(world.case_a), f"/cases/{world.case_a.id}"):
        expert = text(expert_client.get(page))
        assert "data-rating=" not in expert
        assert "专家甲来得太少" not in expert and "整体满意" not in expert
    expert = text(expert_client.get(url(world.case_a)))
    assert 'data-service-rated="yes"' in expert
    # One firm's rating is not shown to the expert, even as an "average".
    assert 'data-own-aggregate="none"' in expert

    # Another firm sees nothing of the case, its ratings nor the batch's results.
    other = as_user("firm_b")
    assert other.get(url(world.case_a)).status_code == 404
    assert other.get(f"/batches/{world.batch.id}/results").status_code == 404
    assert expert_client.get(f"/batches/{world.batch.id}/results").status_code == 404


def test_an_expert_sees_only_their_own_aggregate_over_the_cases_served(
    session, world, stage6, as_user
):
    _rate_case_a(session, world)
    session.refresh(world.case_b, ["assignments"])
    assign_experts(session, world.staff, world.case_b, [world.expert_a.id], world.expert_a.id)
    to_stage6(session, world, world.case_b, world.firm_user_b, world.expert_a)
    evaluation.rate(
        session,
        world.firm_user_b,
        world.case_b,
        expert_id=world.expert_a.id,
        scores={"professionalism": 4, "timeliness": 5, "usefulness": 3},
        comment="乙企业的意见",
    )
    session.commit()
    page = text(as_user("expert_a").get(url(world.case_a)))
    # (2 + 4) / 2, (3 + 5) / 2, (2 + 3) / 2 over two cases.
    assert "Your average over 2 cases you served (2 ratings)." in page
    own = page.split("data-own-aggregate>")[1].split("</tr>")[0]
    assert 'data-aspect="professionalism">3.0</td>' in own
    assert 'data-aspect="timeliness">4.0</td>' in own
    assert 'data-aspect="usefulness">2.5</td>' in own
    assert "乙企业的意见" not in page and "专家甲来得太少" not in page
    # Firm B sees its own rating of the expert on its own case, never firm A's.
    firm_b = text(as_user("firm_b").get(url(world.case_b)))
    assert "专家甲来得太少" not in firm_b


# The closing assessment and the verdict ---------------------------------------------------------


def test_the_lead_expert_writes_the_closing_assessment(session, world, stage6, as_user):
    expert = as_user("expert_a")
    response = expert.post(url(world.case_a, "/assessment"), data={"assessment-assessment": "  "})
    assert response.status_code == 400
    assert "Write the closing assessment." in text(response)
    assert evaluation_row(session, world.case_a) is None
    response = expert.post(
        url(world.case_a, "/assessment"), data={"assessment-assessment": ASSESSMENT}
    )
    assert response.status_code == 302
    row = evaluation_row(session, world.case_a)
    assert row.assessment == ASSESSMENT and row.assessed_by_id == world.expert_a.id
    assert ASSESSMENT in text(as_user("firm_a").get(url(world.case_a)))
    for who in ("staff", "firm_a"):
        response = as_user(who).post(
            url(world.case_a, "/assessment"), data={"assessment-assessment": "x"}
        )
        assert response.status_code == 403


def test_the_verdict_is_refused_before_the_rest_and_given_after(session, world, stage6, as_user):
    staff = as_user("staff")
    page = text(staff.get(url(world.case_a)))
    assert "The verdict is given once the rest of stage 6 is done." in page
    assert "0 of 2 actuals checked" in page
    data = {"verdict-verdict": Verdict.MET, "verdict-comment": "目标基本实现"}
    response = staff.post(url(world.case_a, "/verdict"), data=dict(data))
    assert response.status_code == 400
    assert "The verdict comes after actuals are checked" in text(response)
    assert evaluation_row(session, world.case_a) is None

    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    response = staff.post(url(world.case_a, "/verdict"), data={"verdict-verdict": "excellent"})
    assert response.status_code == 400
    assert evaluation_row(session, world.case_a).verdict is None
    response = staff.post(url(world.case_a, "/verdict"), data=dict(data))
    assert response.status_code == 302
    row = evaluation_row(session, world.case_a)
    assert (row.verdict, row.verdict_comment, row.verdict_by_id) == (
        Verdict.MET,
        "目标基本实现",
        world.staff.id,
    )
    assert progress_of(session, world.case_a, DAY)["evaluation"].status == Status.DONE
    page = text(as_user("firm_a").get(url(world.case_a)))
    assert 'data-verdict="met"' in page and "目标基本实现" in page
    assert as_user("expert_a").post(url(world.case_a, "/verdict"), data=data).status_code == 403


# Closing ----------------------------------------------------------------------------------------


def test_closing_is_refused_before_stage6_is_done(session, world, stage6, as_user):
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    staff = as_user("staff")
    page = text(staff.get(url(world.case_a)))
    assert 'data-action="close"' not in page and "No verdict yet" in page
    response = staff.post(url(world.case_a, "/close"), follow_redirects=True)
    assert "A case is closed once its evaluation is done." in text(response)
    session.expire_all()
    assert not world.case_a.is_closed


def _close_with_open_item(session, world, as_user):
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.BASICALLY_MET, "一项未完")
    session.commit()
    return as_user("staff").post(url(world.case_a, "/close"), follow_redirects=True)


def test_closing_records_items_still_open_as_unfinished(session, world, stage6, as_user):
    staff = as_user("staff")
    page = text(staff.get(url(world.case_a)))
    assert 'data-action="close"' not in page
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.BASICALLY_MET, "一项未完")
    session.commit()
    page = text(staff.get(url(world.case_a)))
    assert "1 rectification item is still open: it will be recorded as unfinished" in page

    response = staff.post(url(world.case_a, "/close"), follow_redirects=True)
    page = text(response)
    assert "1 item still open was recorded as unfinished" in page
    session.expire_all()
    assert world.case_a.is_closed
    item = session.get(RectificationItem, stage6["item"].id)
    assert item.unfinished_at_closing
    # Listed with the verdict, on the evaluation page and the case page, for every reader.
    for who in ("staff", "expert_a", "firm_a"):
        for page_url in (url(world.case_a), f"/cases/{world.case_a.id}"):
            page = text(as_user(who).get(page_url))
            assert f'data-unfinished-item="{item.id}"' in page, (who, page_url)
            assert OPEN_ITEM in page
            assert "data-closed" in page
    entry = session.exec(select(AuditLog).where(AuditLog.action == "close")).one()
    assert entry.after == {"unfinished_items": [item.id]} and entry.public
    # The final report is generated and archived on closing.
    [archive] = session.exec(
        select(ReportArchive).where(ReportArchive.case_id == world.case_a.id)
    ).all()
    assert archive.version == 1 and archive.generated_by_id == world.staff.id


def test_a_waived_item_is_not_unfinished(session, world, stage6, as_user):
    rectification.waive(session, world.staff, stage6["item"], "随技改一并解决")
    session.commit()
    response = _close_with_open_item(session, world, as_user)
    assert "The case is closed." in text(response)
    session.expire_all()
    assert not session.get(RectificationItem, stage6["item"].id).unfinished_at_closing


def test_a_closed_case_refuses_every_edit(session, world, stage6, as_user):
    _close_with_open_item(session, world, as_user)
    target = stage6["targets"][0]
    row = actuals(session)[0]
    before = session.exec(sa.select(sa.func.count()).select_from(AuditLog)).one()
    attempts = {
        "expert_a": [
            (url(world.case_a, f"/targets/{target.id}/actual"), actual_data(target, "1")),
            (url(world.case_a, "/assessment"), {"assessment-assessment": "改写"}),
            (
                f"/cases/{world.case_a.id}/visits/new",
                {"visit_date": "2026-06-10", "hours": "2", "activities": "a"},
            ),
            (f"/cases/{world.case_a.id}/diagnosis/final/scores", {}),
        ],
        "firm_a": [
            (url(world.case_a, "/ratings/overall"), rating_data("overall", "1", "1", "1")),
            (f"/cases/{world.case_a.id}/survey", {"save_draft": "y"}),
        ],
        "staff": [
            (url(world.case_a, f"/actuals/{row.id}/check"), {"seen": seen(row)}),
            (
                url(world.case_a, "/ratings/overall"),
                rating_data("overall", "1", "1", "1", on_behalf_reason="r"),
            ),
            (url(world.case_a, "/verdict"), {"verdict-verdict": Verdict.NOT_MET}),
            (url(world.case_a, "/close"), {}),
            (f"/cases/{world.case_a.id}/withdraw", {"reason": "搬迁"}),
            (f"/cases/{world.case_a.id}/analysis", {"analysis": "改写"}),
            (f"/cases/{world.case_a.id}/stages/training/unmark", {"reason": "r"}),
        ],
    }
    for who, posts in attempts.items():
        client = as_user(who)
        for path, data in posts:
            assert client.post(path, data=data).status_code == 403, (who, path)
        page = text(client.get(url(world.case_a)))
        # No form of stage 6 is offered (staff still get the reopen form, under "Closing").
        shown = page if who != "staff" else page.split('id="closing"')[0]
        assert f'<form method="post" action="/cases/{world.case_a.id}/evaluation/' not in shown
    session.expire_all()
    after = session.exec(sa.select(sa.func.count()).select_from(AuditLog)).one()
    assert after == before
    assert evaluation_row(session, world.case_a).verdict == Verdict.BASICALLY_MET
    assert not world.case_a.is_withdrawn


def test_reopening_needs_a_reason_and_is_logged(session, world, stage6, as_user):
    _close_with_open_item(session, world, as_user)
    staff = as_user("staff")
    response = staff.post(url(world.case_a, "/reopen"), data={"reopen-reason": ""})
    assert response.status_code == 400
    assert "Give a reason for reopening the case." in text(response)
    session.expire_all()
    assert world.case_a.is_closed
    for who in ("expert_a", "firm_a"):
        response = as_user(who).post(url(world.case_a, "/reopen"), data={"reopen-reason": "r"})
        assert response.status_code == 403

    response = staff.post(url(world.case_a, "/reopen"), data={"reopen-reason": "企业补交佐证材料"})
    assert response.status_code == 302
    session.expire_all()
    assert not world.case_a.is_closed
    assert not session.get(RectificationItem, stage6["item"].id).unfinished_at_closing
    entry = session.exec(select(AuditLog).where(AuditLog.action == "reopen")).one()
    assert entry.reason == "企业补交佐证材料" and entry.actor_id == world.staff.id
    # Open again: staff may act; reopening an open case is refused.
    assert staff.post(url(world.case_a, "/reopen"), data={"reopen-reason": "x"}).status_code == 403
    assert 'data-action="close"' in text(staff.get(url(world.case_a)))


# The case page ----------------------------------------------------------------------------------


def test_the_case_page_summarises_stage6(session, world, stage6, as_user):
    assert 'id="evaluation"' not in text(as_user("staff").get(f"/cases/{world.case_b.id}"))
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.MET, "")
    session.commit()
    staff = text(as_user("staff").get(f"/cases/{world.case_a.id}"))
    card = staff.split('id="evaluation"')[1]
    assert 'data-achievement="100.0"' in card and 'data-achievement="50.0"' in card
    assert "500.0 → <b>600.0</b> / 1000" in card
    assert "4.7 / 5" in card  # (5 + 4 + 5) / 3
    assert 'data-verdict="met"' in card
    assert f"/cases/{world.case_a.id}/evaluation/close" in card
    expert = text(as_user("expert_a").get(f"/cases/{world.case_a.id}")).split('id="evaluation"')[1]
    assert "4.7 / 5" not in expert and "Rated" in expert
    assert "/evaluation/close" not in expert


# The batch's results ----------------------------------------------------------------------------


def test_batch_results_for_a_small_batch(session, world, frameworks, as_user):
    # Case A: both targets checked (100 % and 50 %), re-scored 50 → 60 %, rated, verdict met,
    # closed. Case B: one of two targets checked (0 %), no re-scoring yet: still open.
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.rate(
        session,
        world.firm_user_a,
        world.case_a,
        expert_id=world.expert_a.id,
        scores={"professionalism": 4, "timeliness": 3, "usefulness": 5},
        comment="",
    )
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.MET, "")
    session.commit()
    as_user("staff").post(url(world.case_a, "/close"))
    session.refresh(world.case_b, ["assignments"])
    assign_experts(session, world.staff, world.case_b, [world.expert_b.id], world.expert_b.id)
    to_stage6(session, world, world.case_b, world.firm_user_b, world.expert_b)
    target = diagnosis.targets_of(session, world.case_b)[0]
    row = evaluation.enter_actual(session, world.expert_b, target, actual=Decimal(95), period="")
    evaluation.check_actual(session, world.staff, row)
    evaluation.rate(
        session,
        world.firm_user_b,
        world.case_b,
        expert_id=world.expert_b.id,
        scores={"professionalism": 2, "timeliness": 2, "usefulness": 2},
        comment="",
    )
    session.commit()

    page = text(as_user("staff").get(f"/batches/{world.batch.id}/results"))
    a, b = world.case_a.id, world.case_b.id
    assert '<div class="count" data-total="cases"><b>2</b>' in page
    assert '<div class="count" data-total="closed"><b>1</b>' in page
    assert '<div class="count" data-total="met"><b>1 / 4</b>' in page
    assert '<div class="count" data-total="achievement"><b>50.0%</b>' in page  # (100+50+0)/3
    assert '<div class="count" data-verdict-count="met"><b>1</b>' in page
    assert '<div class="count" data-verdict-count="none"><b>1</b>' in page
    per_case = page.split('id="per-case"')[1].split("</table>")[0]
    assert f'<tr data-case="{a}">' in per_case and 'data-met="1/2"' in per_case
    assert 'data-achievement="75.0"' in per_case and 'data-achievement="0.0"' in per_case
    # Averages count case A only (case B has no accepted final round).
    assert "average of 1 case" in page
    assert "500.0 → <b data-final-total>600.0</b> / 1000" in page
    assert page.count("<svg") == 2
    experts = page.split('id="per-expert"')[1].split("</table>")[0]
    assert f'<tr data-expert="{world.expert_a.id}">' in experts
    assert f'<tr data-expert="{world.expert_b.id}">' in experts
    assert "data-average>4.0</td>" in experts and "data-average>2.0</td>" in experts
    open_cases = page.split('id="open-cases"')[1].split("</table>")[0]
    assert f'data-case="{b}"' in open_cases and f'data-case="{a}"' not in open_cases
    # Its current stage is the rectification (an item is open); stage 6 runs beside it.
    assert 'data-stage="rectification"' in open_cases
    assert "Rectification list · In progress" in open_cases
    assert "Evaluation of targets and service · In progress" in open_cases
    assert "1 of 2 actuals checked" in open_cases
    assert "The final re-scoring is not accepted" in open_cases
    assert "The service is not rated" in open_cases  # only per-expert, no overall rating
    assert "The closing assessment is not written" in open_cases


def _count_queries(app, client, path: str) -> int:
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return len(statements)


def test_the_evaluation_page_queries_do_not_grow_with_targets(app, session, world, stage6, as_user):
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    staff = as_user("staff")
    few = _count_queries(app, staff, url(world.case_a))
    baseline = diagnosis.diagnosis_of(session, world.case_a, Round.BASELINE)
    for n in range(3):
        target = WorkTarget(
            case_id=world.case_a.id,
            diagnosis_id=baseline.id,
            name=f"自定义目标{n}",
            unit="项",
            direction="higher",
            baseline=Decimal(1),
            target=Decimal(3),
            target_date=DAY,
        )
        session.add(target)
        session.flush()
        evaluation.enter_actual(session, world.expert_a, target, actual=Decimal(2), period="")
    session.commit()
    assert _count_queries(app, staff, url(world.case_a)) == few


# The charts -------------------------------------------------------------------------------------


def test_the_charts_are_self_contained_svg_with_chinese_labels(app):
    from pilot.diagnosis.scoring import FrameworkResult, Part
    from pilot.evaluation.charts import TargetBars, before_after_svg, target_svg

    def result(scores):
        parts = [Part(code, name, Decimal(s), Decimal(m)) for code, name, s, m in scores]
        total = sum((p.score for p in parts), Decimal(0))
        return FrameworkResult(1, "卓越绩效评价准则", "quality", total, Decimal(200), True, parts)

    before = result([("4.1", "领导", 55, 110), ("4.6", "测量、分析与改进", 20, 90)])
    after = result([("4.1", "领导", 66, 110), ("4.6", "测量、分析与改进", 45, 90)])
    with app.test_request_context():
        charts = [
            before_after_svg(before, after, ("基线", "终期")),
            target_svg(
                TargetBars("质量损失率", "%", Decimal("2.0"), Decimal("2.4"), Decimal("2.8")),
                ("基线", "目标", "实际"),
            ),
        ]
    for svg in charts:
        assert svg.startswith("<svg") and 'role="img"' in svg
        assert "<script" not in svg and "<!--" not in svg
        assert "http://" not in svg.replace("http://www.w3.org/", "")
        assert "https://" not in svg
        assert "Pilot Sans SC" in svg
    # Each category as a share of its points: 55/110 = 50 %, 66/110 = 60 %; 20/90 → 22.2 %.
    assert "领导" in charts[0] and "终期" in charts[0]
    assert ">50%<" in charts[0] and ">60%<" in charts[0] and ">22.2%<" in charts[0]
    assert ">2.4%<" in charts[1] and ">2.8%<" in charts[1] and "实际" in charts[1]


# The rules live in the services: called directly, they refuse on their own -------------------


def test_every_stage6_command_refuses_until_the_plan_and_the_training_are_done(
    session, world, stage6
):
    target = stage6["targets"][0]
    row = evaluation.enter_actual(session, world.expert_a, target, actual=Decimal(97), period="")
    session.commit()
    unmark_stage(session, world.staff, world.case_a, "training", "签到表缺失")
    session.commit()
    case = world.case_a
    scores = {"professionalism": 5, "timeliness": 5, "usefulness": 5}
    commands = {
        "enter_actual": lambda: evaluation.enter_actual(
            session, world.expert_a, target, actual=Decimal(98), period=""
        ),
        "check_actual": lambda: evaluation.check_actual(session, world.staff, row),
        "rate": lambda: evaluation.rate(
            session, world.firm_user_a, case, expert_id=None, scores=scores, comment=""
        ),
        "write_assessment": lambda: evaluation.write_assessment(
            session, world.expert_a, case, ASSESSMENT
        ),
        "give_verdict": lambda: evaluation.give_verdict(
            session, world.staff, case, Verdict.MET, ""
        ),
    }
    for name, command in commands.items():
        with pytest.raises(evaluation.StageNotOpen, match="Stage 6 opens once") as refused:
            command()
        assert refused.value.field is None, name
        session.rollback()
    [kept] = actuals(session)
    assert kept.actual == Decimal(97) and kept.checked_at is None
    assert ratings(session) == [] and evaluation_row(session, case) is None


def test_the_evaluation_page_sends_the_services_refusal_back(session, world, stage6, as_user):
    unmark_stage(session, world.staff, world.case_a, "training", "签到表缺失")
    session.commit()
    staff = as_user("staff")
    response = staff.post(
        url(world.case_a, "/verdict"),
        data={"verdict-verdict": Verdict.MET},
        follow_redirects=True,
    )
    assert "Stage 6 opens once the follow-up plan is approved" in text(response)
    assert evaluation_row(session, world.case_a) is None


# Ready to close: one definition for the pages, closing and the batch's results ----------------


def test_a_case_with_an_item_still_open_is_ready_to_close_everywhere(
    session, world, stage6, as_user
):
    """Stage 6 done while a rectification item is still open: closing allowed it and the
    results said "Ready to close", but the case page and the firm's home (all six stages done)
    did not. Now every place asks `Progress.ready_to_close`."""
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.BASICALLY_MET, "一项未完")
    session.commit()
    progress = progress_of(session, world.case_a, DAY)
    assert progress["rectification"].status != Status.DONE and not progress.all_done
    assert progress.ready_to_close

    staff = as_user("staff")
    case_page = text(staff.get(f"/cases/{world.case_a.id}"))
    assert "The evaluation is done: the case is ready to close." in case_page
    assert f"/cases/{world.case_a.id}/evaluation/close" in case_page.split('id="evaluation"')[1]
    assert 'data-action="close"' in text(staff.get(url(world.case_a)))
    results = text(staff.get(f"/batches/{world.batch.id}/results"))
    row = results.split('id="open-cases"')[1].split(f'data-case="{world.case_a.id}"')[1]
    assert "Ready to close" in row.split("</tr>")[0]
    firm_home = text(as_user("firm_a").get("/"))
    assert "The evaluation is done; the bureau will close the case." in firm_home


def test_a_withdrawn_case_is_never_ready_to_close(session, world, stage6, as_user):
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.MET, "")
    withdraw_case(session, world.staff, world.case_a, "企业搬迁")
    session.commit()
    progress = progress_of(session, world.case_a, DAY)
    assert progress["evaluation"].status == Status.DONE and not progress.ready_to_close
    with pytest.raises(CaseError, match="already closed or withdrawn"):
        close_case(session, world.staff, world.case_a, DAY)
    session.rollback()
    staff = as_user("staff")
    case_page = text(staff.get(f"/cases/{world.case_a.id}"))
    assert "ready to close" not in case_page and "/evaluation/close" not in case_page
    assert 'data-action="close"' not in text(staff.get(url(world.case_a)))
    assert "Ready to close" not in text(staff.get(f"/batches/{world.batch.id}/results"))


# Closing leaves an archived final report, whoever closes ----------------------------------------


def _ready_to_close(session, world):
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.MET, "")
    session.commit()


def _archives(session, case) -> list[ReportArchive]:
    return session.exec(select(ReportArchive).where(ReportArchive.case_id == case.id)).all()


def test_closing_through_the_service_archives_the_final_report_on_commit(session, world, stage6):
    _ready_to_close(session, world)
    close_case(session, world.staff, world.case_a, DAY)
    assert _archives(session, world.case_a) == []  # rendered once the closing is committed
    session.commit()
    [kept] = _archives(session, world.case_a)
    data = archive.archive_path(kept).read_bytes()
    assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == kept.sha256
    assert kept.version == 1 and kept.size == len(data)
    assert kept.generated_by_id == world.staff.id
    entry = session.exec(select(AuditLog).where(AuditLog.action == "archive")).one()
    assert entry.after == {"version": 1, "sha256": kept.sha256}


def test_a_closing_rolled_back_leaves_no_report(session, world, stage6):
    _ready_to_close(session, world)
    close_case(session, world.staff, world.case_a, DAY)
    session.rollback()
    session.commit()  # a later commit of the same session archives nothing
    assert _archives(session, world.case_a) == []
    root = archive.reports_root()
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*"))
    assert not session.get(type(world.case_a), world.case_a.id).is_closed


def test_a_report_that_fails_to_render_does_not_undo_the_closing(
    app, session, world, stage6, as_user, tmp_path, caplog
):
    _ready_to_close(session, world)
    reports_path = app.config["REPORTS_PATH"]
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    app.config["REPORTS_PATH"] = str(blocked)
    close_case(session, world.staff, world.case_a, DAY)
    session.commit()
    assert f"The final report of case {world.case_a.id} was not archived" in caplog.text
    session.expire_all()
    assert world.case_a.is_closed and _archives(session, world.case_a) == []
    # The report's download makes the missing report.
    app.config["REPORTS_PATH"] = reports_path
    response = as_user("staff").get(f"/cases/{world.case_a.id}/report")
    assert response.status_code == 302 and response.location.endswith("/reports/1")
    assert len(_archives(session, world.case_a)) == 1


def test_closing_queues_its_report_and_a_worker_archives_it(app, session, world, stage6):
    """On the real queue (SQLite in the instance folder), the closing commits at once and a
    worker archives the report afterwards."""
    from pilot import background

    app.config["QUEUE_IMMEDIATE"] = False
    _ready_to_close(session, world)
    close_case(session, world.staff, world.case_a, DAY)
    session.commit()
    huey = background.queue_of(app).huey
    assert huey.pending_count() == 1 and _archives(session, world.case_a) == []
    consumer = background.start_beside_server(app)
    try:
        [kept] = wait_for(lambda: session.expire_all() or _archives(session, world.case_a))
    finally:
        consumer.stop(graceful=True)
    assert kept.version == 1 and kept.generated_by_id == world.staff.id
    assert archive.archive_path(kept).read_bytes().startswith(b"%PDF")


def test_a_report_missing_after_closing_is_archived_within_the_hour(
    app, session, world, stage6, tmp_path
):
    """The hourly task queues the report of each case closed a while ago without one since its
    closing (here the rendering failed), once."""
    _ready_to_close(session, world)
    reports_path = app.config["REPORTS_PATH"]
    app.config["REPORTS_PATH"] = str(tmp_path / "not-a-folder")
    (tmp_path / "not-a-folder").write_text("")
    close_case(session, world.staff, world.case_a, DAY)
    session.commit()
    app.config["REPORTS_PATH"] = reports_path
    archive.archive_missing()
    assert _archives(session, world.case_a) == []  # closed just now: its own task may be late
    world.case_a.closed_at -= archive.ARCHIVE_GRACE + timedelta(minutes=1)
    session.commit()
    archive.archive_missing()
    archive.archive_missing()
    session.expire_all()
    [kept] = _archives(session, world.case_a)
    assert kept.generated_by_id is None and kept.generated_at >= world.case_a.closed_at


def test_the_final_rescoring_waits_for_stage_6(session, world, frameworks):
    """The final round re-scores an accepted baseline, and only once stage 6 is open."""
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    unmark_stage(session, world.staff, world.case_a, "training", "签到表缺失")
    session.commit()
    with pytest.raises(diagnosis.DiagnosisError, match="Stage 6 opens once"):
        diagnosis.start(session, world.expert_a, world.case_a, Round.FINAL)
    mark_stage(session, world.staff, world.case_a, "training", "补交签到表")
    assert diagnosis.start(session, world.expert_a, world.case_a, Round.FINAL).round == Round.FINAL
