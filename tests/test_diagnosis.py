"""The baseline diagnosis through its pages: scoring, findings, work targets, submitting,
returning and accepting; what the firm may (not) see; the radar charts."""

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa
from sqlmodel import select

from pilot.cases.services import assign_experts, withdraw_case
from pilot.diagnosis import services
from pilot.diagnosis.charts import radar_svg
from pilot.diagnosis.models import (
    Diagnosis,
    DiagnosisStatus,
    Disposition,
    Finding,
    ItemScore,
    Round,
    WorkTarget,
)
from pilot.diagnosis.scoring import FrameworkResult, Part
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.frameworks.models import Scale
from pilot.frameworks.services import load_shipped, set_batch_frameworks
from pilot.kpis.models import Kpi
from pilot.permissions import can_read_diagnosis
from pilot.rectification.models import RectificationItem
from pilot.stages import Status, progress_of
from pilot.survey.services import save_survey, write_analysis
from pilot.visits.services import confirm_visit, log_visit
from tests.conftest import TODAY, login

ACCEPT_DAY = date.fromisoformat(TODAY)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
SEVERE_TEXT = "质量目标未分解到车间，考核无依据"
GENERAL_TEXT = "顾客投诉处理记录不完整"
OBSERVATION_TEXT = "品牌故事尚未形成统一表述"


@pytest.fixture(autouse=True)
def english(client):
    """Messages are checked in English (the msgids); the default language is Chinese."""
    client.post("/language", data={"lang": "en"})


def text(response) -> str:
    """The page with entities resolved (Jinja writes ' as &#39;)."""
    return unescape(response.get_data(as_text=True))


def url(case, tail: str = "") -> str:
    return f"/cases/{case.id}/diagnosis/baseline{tail}"


def score_data(frameworks, percent: int = 50, level: int = 3, **overrides) -> dict:
    """The scoring form's POST data, every item of every framework scored."""
    data = {}
    for framework in frameworks:
        value = percent if framework.scale == Scale.BAND else level
        for item in framework.items:
            data[f"score_{item.id}"] = str(value)
            data[f"strengths_{item.id}"] = ""
            data[f"opportunities_{item.id}"] = ""
    data.update(overrides)
    return data


def item(frameworks, code: str, domain: str = "quality"):
    framework = next(f for f in frameworks if f.domain == domain)
    return next(i for i in framework.items if i.code == code)


def diagnosis_of(session, case) -> Diagnosis | None:
    session.expire_all()
    return services.diagnosis_of(session, case, Round.BASELINE)


def kpi(session, code: str) -> Kpi:
    return session.exec(select(Kpi).where(Kpi.code == code)).one()


def add_findings(client, world, frameworks) -> None:
    for code, severity, text in (
        ("4.1.2", "severe", SEVERE_TEXT),
        ("4.3.3", "general", GENERAL_TEXT),
    ):
        response = client.post(
            url(world.case_a, "/findings"),
            data={
                "finding-item_id": str(item(frameworks, code).id),
                "finding-severity": severity,
                "finding-description": text,
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    response = client.post(
        url(world.case_a, "/findings"),
        data={
            "finding-item_id": str(item(frameworks, "5.1", "brand").id),
            "finding-severity": "observation",
            "finding-description": OBSERVATION_TEXT,
        },
    )
    assert response.status_code == 302


def add_targets(client, world, session) -> None:
    response = client.post(
        url(world.case_a, "/targets"),
        data={
            "target-kpi_id": str(kpi(session, "first_pass_yield").id),
            "target-baseline": "96.5",
            "target-target": "98.5",
            "target-target_date": "2026-12-31",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    response = client.post(
        url(world.case_a, "/targets"),
        data={
            "target-kpi_id": "0",
            "target-name": "新产品开发周期",
            "target-unit": "天",
            "target-direction": "lower",
            "target-baseline": "120",
            "target-target": "90",
            "target-target_date": "2026-12-31",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def file_and_submit(client, world, frameworks, session) -> None:
    """The lead expert scores every item, adds three findings and two targets, and submits."""
    login(client, "expert_a")
    assert client.post(url(world.case_a, "/scores"), data=score_data(frameworks)).status_code == 302
    add_findings(client, world, frameworks)
    add_targets(client, world, session)
    response = client.post(url(world.case_a, "/submit"))
    assert response.status_code == 302
    assert diagnosis_of(session, world.case_a).status == DiagnosisStatus.SUBMITTED
    client.post("/logout")


# The whole flow ---------------------------------------------------------------------------------


def test_baseline_diagnosis_from_scoring_to_acceptance(client, world, frameworks, session):
    case = world.case_a
    login(client, "expert_a")
    page = client.get(url(case))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "卓越绩效评价准则" in html and "高层领导的作用" in html and "品牌战略制定" in html
    # The options read the band's descriptor for the item's kind, or the maturity level's.
    assert "35% — 有应对基本要求的有效、系统的方法" in html
    assert "35% — 多数重要方面有改进或良好水平" in html  # a result item (4.7)
    assert "3 规范 — 品牌管理体系建立并运行" in html
    assert diagnosis_of(session, case) is None  # looking starts nothing

    data = score_data(frameworks, percent=50, level=3)
    data[f"score_{item(frameworks, '4.1.2').id}"] = "35"
    data[f"strengths_{item(frameworks, '4.1.2').id}"] = "高层重视质量"
    assert client.post(url(case, "/scores"), data=data).status_code == 302
    diagnosis = diagnosis_of(session, case)
    assert diagnosis.status == DiagnosisStatus.DRAFT
    assert len(diagnosis.scores) == sum(len(f.items) for f in frameworks) == 23 + 17
    html = client.get(url(case)).get_data(as_text=True)
    # 4.1.2: 50 points × 35 % = 17.5; the quality total: 500 − 50 × 15 % = 492.5 of 1000.
    assert "17.5" in html and "492.5" in html and "高层重视质量" in html

    add_findings(client, world, frameworks)
    add_targets(client, world, session)
    targets = session.exec(select(WorkTarget).order_by(WorkTarget.id)).all()
    assert [(t.name, t.baseline, t.target, t.direction) for t in targets] == [
        ("产品一次交检合格率", Decimal("96.5"), Decimal("98.5"), "higher"),
        ("新产品开发周期", Decimal("120"), Decimal("90"), "lower"),
    ]
    assert client.post(url(case, "/submit")).status_code == 302
    assert diagnosis_of(session, case).status == DiagnosisStatus.SUBMITTED
    # Submitted: the expert can no longer change it.
    response = client.post(url(case, "/scores"), data=score_data(frameworks, percent=90))
    assert response.status_code == 302
    assert {s.percent for s in diagnosis_of(session, case).scores} == {35, 50, None}
    client.post("/logout")

    # The firm sees no draft: no page, and nothing of it on the case page.
    login(client, "firm_a")
    assert client.get(url(case)).status_code == 404
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for snippet in (SEVERE_TEXT, GENERAL_TEXT, OBSERVATION_TEXT, "新产品开发周期", "492.5"):
        assert snippet not in case_page
    client.post("/logout")

    # Staff return it; a return needs a comment.
    login(client, "staff")
    review = client.get(url(case)).get_data(as_text=True)
    assert 'name="accept-disposition_' in review and 'name="return-comment"' in review
    response = client.post(url(case, "/return"), data={"return-comment": "  "})
    assert response.status_code == 200
    assert "Say what needs to change." in response.get_data(as_text=True)
    assert diagnosis_of(session, case).status == DiagnosisStatus.SUBMITTED
    response = client.post(url(case, "/return"), data={"return-comment": "4.1.2 的评分依据不足"})
    assert response.status_code == 302
    assert diagnosis_of(session, case).status == DiagnosisStatus.RETURNED
    client.post("/logout")

    # The firm's timeline does not carry the comment on a draft.
    login(client, "firm_a")
    assert "评分依据不足" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    client.post("/logout")

    # The experts see the comment, fix the score and submit again.
    login(client, "expert_a")
    html = client.get(url(case)).get_data(as_text=True)
    assert "4.1.2 的评分依据不足" in html
    assert "4.1.2 的评分依据不足" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    data[f"score_{item(frameworks, '4.1.2').id}"] = "40"
    assert client.post(url(case, "/scores"), data=data).status_code == 302
    assert client.post(url(case, "/submit")).status_code == 302
    assert diagnosis_of(session, case).status == DiagnosisStatus.SUBMITTED
    client.post("/logout")

    # Staff accept: the severe finding rectified, the general one carried, the observation left
    # at its default (carry).
    findings = {f.severity: f for f in diagnosis_of(session, case).findings}
    login(client, "staff")
    response = client.post(
        url(case, "/accept"),
        data={
            f"accept-disposition_{findings['severe'].id}": "rectify",
            f"accept-disposition_{findings['general'].id}": "carry",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.id}#diagnosis")
    diagnosis = diagnosis_of(session, case)
    assert diagnosis.status == DiagnosisStatus.ACCEPTED
    assert {f.severity: f.disposition for f in diagnosis.findings} == {
        "severe": Disposition.RECTIFY,
        "general": Disposition.CARRY,
        "observation": Disposition.CARRY,
    }
    items = session.exec(select(RectificationItem)).all()
    assert [(i.description, i.severity, i.due_date) for i in items] == [
        (SEVERE_TEXT, "severe", min(ACCEPT_DAY + timedelta(days=30), case.rectification_due))
    ]
    client.post("/logout")

    # Now the firm sees the diagnosis: totals, chart, findings, targets, items with due dates.
    login(client, "firm_a")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for snippet in (
        SEVERE_TEXT,
        GENERAL_TEXT,
        OBSERVATION_TEXT,
        "新产品开发周期",
        "产品一次交检合格率",
    ):
        assert snippet in page
    assert "495.0</b> / 1000" in page  # 500 − 50 × 10 %
    assert "60.0</b> / 100" in page  # every brand item at level 3
    assert page.count('class="pygal-chart radar"') == 2
    assert items[0].due_date.isoformat() in page
    assert client.get(url(case)).status_code == 200
    client.post("/logout")


def test_dispositions_default_to_carry_for_observations_only(client, world, frameworks, session):
    file_and_submit(client, world, frameworks, session)
    login(client, "staff")
    review = client.get(url(world.case_a)).get_data(as_text=True)
    for finding in diagnosis_of(session, world.case_a).findings:
        select_html = re.search(
            rf'<select[^>]*name="accept-disposition_{finding.id}".*?</select>', review, re.S
        ).group(0)
        expected = "carry" if finding.severity == "observation" else "rectify"
        assert f'selected value="{expected}"' in select_html or (
            f'value="{expected}" selected' in select_html
        )
    assert client.post(url(world.case_a, "/accept")).status_code == 302
    items = session.exec(select(RectificationItem).order_by(RectificationItem.id)).all()
    case = world.case_a
    # Severe: 30 days after acceptance; general: 60 days, but never after the stage's due date.
    assert [(i.severity, i.due_date) for i in items] == [
        ("severe", min(ACCEPT_DAY + timedelta(days=30), case.rectification_due)),
        ("general", min(ACCEPT_DAY + timedelta(days=60), case.rectification_due)),
    ]
    assert items[1].due_date == case.rectification_due  # 2026-08-14 is past 2026-07-20
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for i in items:
        assert f'data-due="{i.due_date.isoformat()}"' in page


def test_stage_two_is_done_with_a_confirmed_visit_and_the_accepted_baseline(
    client, world, frameworks, session
):
    case = world.case_a
    save_survey(
        session, world.firm_user_a, case, baselines=[], submit=True, wanted_help="导入卓越绩效模式"
    )
    write_analysis(session, world.staff, case, "需求集中在过程管理")
    visit = log_visit(
        session,
        world.expert_a,
        case,
        visit_date=ACCEPT_DAY,
        hours=Decimal(6),
        expert_ids=[],
        activities="现场诊断",
        today=ACCEPT_DAY,
    )
    session.commit()
    file_and_submit(client, world, frameworks, session)
    login(client, "staff")
    client.post(url(case, "/accept"))
    session.expire_all()
    assert progress_of(session, case, ACCEPT_DAY)["diagnosis"].status != Status.DONE
    confirm_visit(session, world.firm_user_a, visit)
    session.commit()
    assert progress_of(session, case, ACCEPT_DAY)["diagnosis"].status == Status.DONE


# Who may do what --------------------------------------------------------------------------------


def test_unassigned_expert_gets_404_everywhere(client, world, frameworks, session):
    login(client, "expert_b")
    assert client.get(url(world.case_a)).status_code == 404
    for tail, data in (("/scores", score_data(frameworks)), ("/submit", {}), ("/findings", {})):
        assert client.post(url(world.case_a, tail), data=data).status_code == 404
    assert diagnosis_of(session, world.case_a) is None


def test_non_lead_expert_can_score_but_not_submit(client, world, frameworks, session):
    session.refresh(world.case_a, ["assignments"])
    assign_experts(
        session, None, world.case_a, [world.expert_a.id, world.expert_b.id], world.expert_a.id
    )
    session.commit()
    login(client, "expert_b")
    assert client.post(url(world.case_a, "/scores"), data=score_data(frameworks)).status_code == 302
    assert len(diagnosis_of(session, world.case_a).scores) == 40
    add_targets(client, world, session)
    html = client.get(url(world.case_a)).get_data(as_text=True)
    assert "/submit" not in html
    assert client.post(url(world.case_a, "/submit")).status_code == 403
    assert diagnosis_of(session, world.case_a).status == DiagnosisStatus.DRAFT


def test_staff_read_drafts_but_do_not_file_them(client, world, frameworks, session):
    login(client, "expert_a")
    client.post(url(world.case_a, "/scores"), data=score_data(frameworks))
    client.post("/logout")
    login(client, "staff")
    html = client.get(url(world.case_a)).get_data(as_text=True)
    assert 'name="score_' not in html and 'name="finding-' not in html  # read-only
    assert client.post(url(world.case_a, "/scores"), data=score_data(frameworks)).status_code == 403
    # Nothing submitted yet: nothing to accept.
    assert client.post(url(world.case_a, "/accept")).status_code == 302
    assert diagnosis_of(session, world.case_a).status == DiagnosisStatus.DRAFT


def test_firm_user_cannot_file_or_review(client, world, frameworks, session):
    file_and_submit(client, world, frameworks, session)
    login(client, "firm_a")
    assert client.post(url(world.case_a, "/scores"), data=score_data(frameworks)).status_code == 403
    assert client.post(url(world.case_a, "/accept")).status_code == 403
    login(client, "firm_b")
    assert client.get(url(world.case_a)).status_code == 404


def test_withdrawn_case_is_read_only(client, world, frameworks, session):
    withdraw_case(session, world.staff, world.case_a, "企业退出")
    session.commit()
    login(client, "expert_a")
    assert client.get(url(world.case_a)).status_code == 200
    assert client.post(url(world.case_a, "/scores"), data=score_data(frameworks)).status_code == 403


def test_unknown_round_is_404(client, world, frameworks):
    login(client, "expert_a")
    assert client.get(f"/cases/{world.case_a.id}/diagnosis/interim").status_code == 404


# Bad input: a clear message, nothing saved ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "domain", "value", "message"),
    [
        ("4.1.2", "quality", "33", "A percentage must be between 0 and 100 in steps of 5."),
        ("4.1.2", "quality", "105", "A percentage must be between 0 and 100 in steps of 5."),
        ("4.1.2", "quality", "abc", "A percentage must be between 0 and 100 in steps of 5."),
        ("5.1", "brand", "0", "A maturity level must be between 1 and 5."),
        ("5.1", "brand", "6", "A maturity level must be between 1 and 5."),
    ],
)
def test_score_off_the_scale_is_refused(
    client, world, frameworks, session, code, domain, value, message
):
    login(client, "expert_a")
    data = score_data(frameworks, **{f"score_{item(frameworks, code, domain).id}": value})
    response = client.post(url(world.case_a, "/scores"), data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert diagnosis_of(session, world.case_a) is None
    assert session.exec(select(ItemScore)).all() == []


def test_item_of_another_framework_is_refused(client, world, frameworks, session):
    quality = next(f for f in frameworks if f.domain == "quality")
    brand = next(f for f in frameworks if f.domain == "brand")
    set_batch_frameworks(session, world.batch.id, [quality.id])
    session.commit()
    login(client, "expert_a")
    data = score_data([quality], **{f"score_{brand.items[0].id}": "3"})
    response = client.post(url(world.case_a, "/scores"), data=data)
    assert response.status_code == 200
    assert "The item is not part of this diagnosis's frameworks." in text(response)
    assert session.exec(select(ItemScore)).all() == []
    assert diagnosis_of(session, world.case_a) is None


def test_tampered_score_of_a_started_diagnosis_keeps_what_was_saved(
    client, world, frameworks, session
):
    login(client, "expert_a")
    client.post(url(world.case_a, "/scores"), data=score_data(frameworks, percent=50))
    first = item(frameworks, "4.1.2").id
    data = score_data(frameworks, percent=70, **{f"score_{item(frameworks, '4.7.2').id}": "72"})
    response = client.post(url(world.case_a, "/scores"), data=data)
    assert response.status_code == 200
    assert {s.percent for s in diagnosis_of(session, world.case_a).scores} == {50, None}
    assert next(s for s in diagnosis_of(session, world.case_a).scores if s.item_id == first)


def test_a_score_can_be_cleared_and_its_notes_kept(client, world, frameworks, session):
    login(client, "expert_a")
    client.post(url(world.case_a, "/scores"), data=score_data(frameworks))
    target = item(frameworks, "4.2.2").id
    data = score_data(frameworks, **{f"score_{target}": "", f"strengths_{target}": "战略清晰"})
    assert client.post(url(world.case_a, "/scores"), data=data).status_code == 302
    score = next(s for s in diagnosis_of(session, world.case_a).scores if s.item_id == target)
    assert (score.percent, score.strengths) == (None, "战略清晰")
    assert "not scored" in client.get(url(world.case_a)).get_data(as_text=True)


def test_submit_needs_every_item_scored_and_a_target(client, world, frameworks, session):
    login(client, "expert_a")
    data = score_data(frameworks)
    data[f"score_{item(frameworks, '4.6.3').id}"] = ""
    client.post(url(world.case_a, "/scores"), data=data)
    response = client.post(url(world.case_a, "/submit"), follow_redirects=True)
    assert "Score every item before submitting: 卓越绩效评价准则." in response.get_data(
        as_text=True
    )
    client.post(url(world.case_a, "/scores"), data=score_data(frameworks))
    response = client.post(url(world.case_a, "/submit"), follow_redirects=True)
    assert "Set at least one work target before submitting." in response.get_data(as_text=True)
    assert diagnosis_of(session, world.case_a).status == DiagnosisStatus.DRAFT


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"target-target": "九十"}, "target-target", "Not a valid decimal value."),
        ({"target-target": "NaN"}, "target-target", "Enter a number."),
        ({"target-target": ""}, "target-target", "Give the target value."),
        ({"target-baseline": "abc"}, "target-baseline", "Not a valid decimal value."),
        ({"target-target_date": "31/12/2026"}, "target-target_date", "Not a valid date value."),
        ({"target-kpi_id": "0"}, "target-name", "Name the target or choose a KPI."),
        (
            {"target-kpi_id": "0", "target-name": "交付周期"},
            "target-direction",
            "Say whether higher or lower is better.",
        ),
    ],
)
def test_bad_work_target_gets_a_field_message(
    client, world, frameworks, session, fields, field, message
):
    login(client, "expert_a")
    data = {
        "target-kpi_id": str(kpi(session, "complaints").id),
        "target-target": "3",
        "target-target_date": "2026-12-31",
    } | fields
    response = client.post(url(world.case_a, "/targets"), data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    block = re.search(
        rf'<div class="field[^"]*has-error">(?:(?!</div>).)*id="{field}"'
        r"(?:(?!</div>).)*</div>",
        html,
        re.S,
    )
    assert block and message in block.group(0), html[html.find("Add a work target") :][:3000]
    assert session.exec(select(WorkTarget)).all() == []


def test_catalogue_target_takes_the_survey_baseline(client, world, frameworks, session):
    yield_kpi = kpi(session, "first_pass_yield")
    save_survey(
        session,
        world.firm_user_a,
        world.case_a,
        baselines=[(yield_kpi.id, Decimal("95.2"), "2025")],
    )
    session.commit()
    login(client, "expert_a")
    html = client.get(url(world.case_a)).get_data(as_text=True)
    assert "survey baseline 95.2" in html
    response = client.post(
        url(world.case_a, "/targets"),
        data={
            "target-kpi_id": str(yield_kpi.id),
            "target-target": "98",
            "target-target_date": "2026-12-31",
        },
    )
    assert response.status_code == 302
    target = session.exec(select(WorkTarget)).one()
    assert (target.baseline, target.unit, target.direction) == (Decimal("95.2"), "%", "higher")


def test_service_takes_the_survey_baseline_unless_one_is_given(world, frameworks, session):
    """The service itself fills a catalogue target's baseline from the survey; a given one wins,
    and the wrong-side check runs against the baseline taken."""
    yield_kpi = kpi(session, "first_pass_yield")
    save_survey(
        session,
        world.firm_user_a,
        world.case_a,
        baselines=[(yield_kpi.id, Decimal("95.2"), "2025")],
    )
    draft = services.start(session, world.expert_a, world.case_a)

    def target(**given) -> services.TargetInput:
        return services.TargetInput(
            kpi_id=yield_kpi.id, target=Decimal("98"), target_date=date(2026, 12, 31), **given
        )

    taken = services.add_target(session, world.expert_a, draft, target())
    given = services.add_target(session, world.expert_a, draft, target(baseline=Decimal("90")))
    assert (taken.baseline, given.baseline) == (Decimal("95.2"), Decimal("90"))
    below = services.TargetInput(
        kpi_id=yield_kpi.id, target=Decimal("94"), target_date=date(2026, 12, 31)
    )
    with pytest.raises(services.DiagnosisError) as refused:
        services.add_target(session, world.expert_a, draft, below)
    assert refused.value.field == "confirm_wrong_side"


def test_findings_and_targets_can_be_removed_while_editable(client, world, frameworks, session):
    login(client, "expert_a")
    add_findings(client, world, frameworks)
    add_targets(client, world, session)
    finding_id = diagnosis_of(session, world.case_a).findings[0].id
    target_id = session.exec(select(WorkTarget)).first().id
    assert client.post(url(world.case_a, f"/findings/{finding_id}/remove")).status_code == 302
    assert client.post(url(world.case_a, f"/targets/{target_id}/remove")).status_code == 302
    assert len(diagnosis_of(session, world.case_a).findings) == 2
    assert len(session.exec(select(WorkTarget)).all()) == 1
    # Gone already, or of another case: a message, nothing removed.
    response = client.post(
        url(world.case_a, f"/findings/{finding_id}/remove"), follow_redirects=True
    )
    assert "There is no such finding in this diagnosis." in response.get_data(as_text=True)


def test_finding_needs_an_item_of_the_diagnosis_and_a_description(
    client, world, frameworks, session
):
    login(client, "expert_a")
    response = client.post(
        url(world.case_a, "/findings"),
        data={
            "finding-item_id": "0",
            "finding-severity": "severe",
            "finding-description": "缺少质量目标",
        },
    )
    assert response.status_code == 200
    assert "Choose an item of this diagnosis" in response.get_data(as_text=True)
    response = client.post(
        url(world.case_a, "/findings"),
        data={
            "finding-item_id": str(item(frameworks, "4.1.2").id),
            "finding-severity": "severe",
            "finding-description": "   ",
        },
    )
    assert "Describe the finding." in response.get_data(as_text=True)
    response = client.post(
        url(world.case_a, "/findings"),
        data={
            "finding-item_id": "999999",
            "finding-severity": "severe",
            "finding-description": "x",
        },
    )
    assert response.status_code == 200
    assert session.exec(select(Finding)).all() == []


def test_finding_with_evidence_file(client, world, frameworks, session):
    login(client, "expert_a")
    base = {
        "finding-item_id": str(item(frameworks, "4.5.3").id),
        "finding-severity": "general",
        "finding-description": "过程检验记录缺失",
    }
    response = client.post(
        url(world.case_a, "/findings"),
        data=base | {"finding-evidence": (io.BytesIO(b"just text"), "记录.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "can be uploaded" in response.get_data(as_text=True)
    assert session.exec(select(Finding)).all() == []
    response = client.post(
        url(world.case_a, "/findings"),
        data=base | {"finding-evidence": (io.BytesIO(PNG), "现场照片.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    finding = session.exec(select(Finding)).one()
    stored = session.exec(select(StoredFile).where(StoredFile.owner_type == "finding")).one()
    assert (stored.owner_id, stored.case_id, stored.name) == (
        finding.id,
        world.case_a.id,
        "现场照片.png",
    )
    assert f"/files/{stored.id}" in client.get(url(world.case_a)).get_data(as_text=True)


def test_the_edit_page_queries_do_not_grow_with_findings(client, world, frameworks, session):
    login(client, "expert_a")
    client.post(url(world.case_a, "/scores"), data=score_data(frameworks))
    add_targets(client, world, session)

    def count_queries() -> int:
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        with client.application.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            assert client.get(url(world.case_a)).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)
        return len(statements)

    add_findings(client, world, frameworks)
    few = count_queries()
    add_findings(client, world, frameworks)
    add_findings(client, world, frameworks)
    assert count_queries() == few


# The radar chart --------------------------------------------------------------------------------


def _result(names: list[str]) -> FrameworkResult:
    parts = [Part(str(n), name, Decimal(10 * n), Decimal(100)) for n, name in enumerate(names, 1)]
    return FrameworkResult(1, "卓越绩效评价准则", "quality", Decimal(0), Decimal(1000), True, parts)


def test_radar_chart_is_self_contained_svg_with_chinese_labels():
    svg = str(
        radar_svg(
            _result(["领导", "战略", "顾客与市场", "资源", "过程管理", "测量、分析与改进", "结果"])
        )
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for name in ("领导", "顾客与市场", "测量、分析与改进", "结果"):
        assert name in svg
    assert "30.0%" in svg  # the third category's share, under its name
    assert "Pilot Sans SC" in svg
    lowered = svg.lower()
    assert "<script" not in lowered and "<!--" not in svg
    assert " on" not in re.sub(r"\s+", " ", lowered).replace(' on"', "")  # no event handlers
    # The only URLs are the XML namespaces: nothing is fetched.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", svg)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert "href" not in lowered and "url(" not in lowered
    assert 'viewBox="0 0 ' in svg and "width=" not in svg.split(">", 1)[0]


def test_radar_chart_escapes_its_labels():
    svg = str(radar_svg(_result(["<script>alert(1)</script>", "A&B", "资源"])))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg and "A&amp;B" in svg


def test_a_target_on_the_wrong_side_of_its_baseline_needs_confirmation(session, world):
    """Higher is better but the target is below the baseline: refused until confirmed."""
    set_batch_frameworks(session, world.batch.id, [f.id for f in load_shipped(session)])
    draft = services.start(session, world.expert_a, world.case_a)
    data = services.TargetInput(
        name="顾客满意度",
        unit="分",
        direction="higher",
        baseline=Decimal("90"),
        target=Decimal("85"),
        target_date=date(2026, 12, 1),
    )
    with pytest.raises(services.DiagnosisError) as refused:
        services.add_target(session, world.expert_a, draft, data)
    assert refused.value.field == "confirm_wrong_side"
    assert session.exec(select(WorkTarget)).all() == []
    data.confirmed_wrong_side = True
    services.add_target(session, world.expert_a, draft, data)
    assert len(session.exec(select(WorkTarget)).all()) == 1


def test_service_removes_only_a_target_of_the_diagnosis_given(world, frameworks, session):
    ours = services.start(session, world.expert_a, world.case_a)
    theirs = services.start(session, world.staff, world.case_b)
    target = services.add_target(
        session,
        world.staff,
        theirs,
        services.TargetInput(
            name="顾客满意度",
            unit="分",
            direction="higher",
            baseline=Decimal("80"),
            target=Decimal("85"),
            target_date=date(2026, 12, 1),
        ),
    )
    with pytest.raises(services.DiagnosisError, match="no such work target"):
        services.remove_target(session, world.expert_a, target, ours)
    assert session.get(WorkTarget, target.id) is not None


def test_who_reads_a_diagnosis(world, frameworks, session):
    """Staff and the assigned experts read drafts; the firm only an accepted diagnosis of its own
    case (the status is set by hand: this is the rule alone, not the workflow)."""
    draft = services.start(session, world.expert_a, world.case_a)
    readers = ("staff", "expert_a", "expert_b", "firm_user_a", "firm_user_b")

    def who_reads(diagnosis) -> set[str]:
        return {
            who
            for who in readers
            if can_read_diagnosis(getattr(world, who), world.case_a, diagnosis)
        }

    assert who_reads(None) == {"staff", "expert_a"}
    assert who_reads(draft) == {"staff", "expert_a"}
    draft.status = DiagnosisStatus.ACCEPTED
    assert who_reads(draft) == {"staff", "expert_a", "firm_user_a"}
