"""Stage 1: the needs survey the firm (or staff for it) fills, and staff's needs analysis."""

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from pilot.audit.models import AuditLog
from pilot.cases.services import withdraw_case
from pilot.database import today
from pilot.extensions import db
from pilot.frameworks.services import load_kpi_catalogue
from pilot.kpis.models import Kpi
from pilot.permissions import can_edit_survey, can_see_survey_answers
from pilot.stages import Status, progress_of
from pilot.survey.models import NeedsSurvey, SurveyBaseline
from pilot.survey.services import SurveyError, save_survey, survey_of, write_analysis
from tests.conftest import login
from tests.editing import send


@pytest.fixture
def kpis(session, world):
    load_kpi_catalogue(session)
    session.commit()
    return {k.code: k for k in session.exec(select(Kpi).order_by(Kpi.position)).all()}


def survey_url(case) -> str:
    return f"/cases/{case.id}/survey"


def analysis_url(case) -> str:
    return f"/cases/{case.id}/analysis"


def answers(kpis, values=None, *, submit=False, **fields) -> dict:
    """A post of the survey page: every catalogue row, the given values filled in."""
    values = values or {}
    data = {
        "systems": ["ISO9001", "ISO14001"],
        "other_systems": "卓越绩效模式（自评）",
        "weak_areas": ["process", "brand"],
        "pain_points": "一次交检合格率波动大",
        "wanted_help": "建立质量成本核算",
    }
    for i, kpi in enumerate(kpis.values()):
        data[f"baselines-{i}-kpi_id"] = str(kpi.id)
        data[f"baselines-{i}-value"] = values.get(kpi.code, "")
        data[f"baselines-{i}-period"] = "2025年"
    data["submit_survey" if submit else "save_draft"] = "y"
    data.update(fields)
    return data


def fresh_survey(session, case) -> NeedsSurvey | None:
    session.expire_all()
    return survey_of(session, case)


def baselines_of(session, survey) -> dict[str, tuple[Decimal, str]]:
    rows = session.exec(
        select(Kpi.code, SurveyBaseline.value, SurveyBaseline.period)
        .join(Kpi, SurveyBaseline.kpi_id == Kpi.id)
        .where(SurveyBaseline.survey_id == survey.id)
    ).all()
    return {code: (value, period) for code, value, period in rows}


def test_firm_user_saves_a_draft_and_sees_it_when_back(client, world, session, kpis):
    login(client, "firm_a")
    page = client.get(survey_url(world.case_a)).get_data(as_text=True)
    assert "First-pass yield" in page and "ISO 9001" in page
    response = send(client, survey_url(world.case_a), answers(kpis, {"first_pass_yield": "96.5"}))
    assert response.status_code == 302
    assert response.headers["Location"] == survey_url(world.case_a)

    survey = fresh_survey(session, world.case_a)
    assert not survey.is_submitted
    assert survey.systems == ["ISO9001", "ISO14001"]
    assert survey.weak_areas == ["process", "brand"]
    assert baselines_of(session, survey) == {"first_pass_yield": (Decimal("96.5"), "2025年")}

    page = client.get(survey_url(world.case_a)).get_data(as_text=True)
    assert 'value="96.5"' in page
    assert "一次交检合格率波动大" in page
    assert 'name="submit_survey"' in page  # still a draft: it can be submitted


def test_firm_user_submits_and_then_cannot_change_it(client, world, session, kpis):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis, {"complaints": "12"}))
    response = send(
        client, survey_url(world.case_a), answers(kpis, {"complaints": "12"}, submit=True)
    )
    assert response.status_code == 302
    survey = fresh_survey(session, world.case_a)
    assert survey.is_submitted and survey.submitted_by_id == world.firm_user_a.id

    page = client.get(survey_url(world.case_a)).get_data(as_text=True)
    assert "<textarea" not in page and 'name="save_draft"' not in page  # read-only
    assert "建立质量成本核算" in page
    assert world.firm_user_a.display_name in page  # who submitted

    response = send(
        client,
        survey_url(world.case_a),
        answers(kpis, {"complaints": "3"}, wanted_help="改了"),
        follow_redirects=True,
    )
    assert "can no longer be changed" in response.get_data(as_text=True)
    survey = fresh_survey(session, world.case_a)
    assert survey.wanted_help == "建立质量成本核算"
    assert baselines_of(session, survey) == {"complaints": (Decimal("12"), "2025年")}


def test_staff_fills_and_submits_the_survey_for_the_firm(client, world, session, kpis):
    login(client, "staff")
    response = send(
        client, survey_url(world.case_a), answers(kpis, {"market_share": "8.25"}, submit=True)
    )
    assert response.status_code == 302
    survey = fresh_survey(session, world.case_a)
    assert survey.is_submitted and survey.submitted_by_id == world.staff.id
    [entry] = session.exec(
        select(AuditLog).where(AuditLog.case_id == world.case_a.id, AuditLog.action == "submit")
    ).all()
    assert entry.public and entry.actor_id == world.staff.id


def test_staff_may_correct_a_submitted_survey(client, world, session, kpis):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis, submit=True))
    client.post("/logout")
    login(client, "staff")
    page = client.get(survey_url(world.case_a)).get_data(as_text=True)
    assert "Correct the answers" in page
    send(
        client,
        survey_url(world.case_a),
        answers(kpis, {"rework_rate": "1.2"}, pain_points="返工多"),
    )
    survey = fresh_survey(session, world.case_a)
    assert survey.pain_points == "返工多"
    assert survey.submitted_by_id == world.firm_user_a.id  # still the firm's submission
    assert baselines_of(session, survey) == {"rework_rate": (Decimal("1.2"), "2025年")}


def test_submitting_without_the_help_wanted_is_refused(client, world, session, kpis):
    login(client, "firm_a")
    response = send(
        client,
        survey_url(world.case_a),
        answers(kpis, {"first_pass_yield": "90"}, submit=True, wanted_help="  "),
    )
    assert response.status_code == 200
    assert "Say what help the firm wants before submitting." in response.get_data(as_text=True)
    assert fresh_survey(session, world.case_a) is None  # not even a draft was left behind


@pytest.mark.parametrize("bad", ["九十", "96,5", "1e3", "NaN", "98.5%", "-3", "1.23456"])
def test_a_non_numeric_baseline_is_refused_with_nothing_saved(client, world, session, kpis, bad):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis, {"complaints": "4"}))
    response = send(
        client,
        survey_url(world.case_a),
        answers(kpis, {"complaints": "5", "first_pass_yield": bad}, pain_points="新的"),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert 'class="error"' in page
    assert f'value="{bad}"' in page  # the typed value is kept for correction
    survey = fresh_survey(session, world.case_a)
    assert survey.pain_points == "一次交检合格率波动大"
    assert baselines_of(session, survey) == {"complaints": (Decimal("4"), "2025年")}


def test_a_percentage_over_100_is_refused(client, world, session, kpis):
    login(client, "firm_a")
    response = send(client, survey_url(world.case_a), answers(kpis, {"first_pass_yield": "101"}))
    assert "A percentage cannot be more than 100." in response.get_data(as_text=True)
    assert fresh_survey(session, world.case_a) is None


def test_a_value_needs_its_period(client, world, session, kpis):
    login(client, "firm_a")
    data = answers(kpis, {"complaints": "4"})
    data.update({key: "" for key in data if key.endswith("-period")})
    response = send(client, survey_url(world.case_a), data)
    assert "Say which period the value is for" in response.get_data(as_text=True)
    assert fresh_survey(session, world.case_a) is None


def test_empty_values_are_not_given_and_full_width_digits_are_read(client, world, session, kpis):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis, {"customer_satisfaction": " ９２．５ "}))
    survey = fresh_survey(session, world.case_a)
    assert baselines_of(session, survey) == {"customer_satisfaction": (Decimal("92.5"), "2025年")}


def test_a_tampered_kpi_row_is_refused(client, world, session, kpis):
    login(client, "firm_a")
    data = answers(kpis, {"complaints": "4"})
    data["baselines-0-kpi_id"] = "99999"
    data["baselines-0-value"] = "1"
    response = send(client, survey_url(world.case_a), data)
    assert response.status_code == 200
    assert fresh_survey(session, world.case_a) is None


def test_analysis_before_submission_is_refused(client, world, session, kpis):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis))
    client.post("/logout")
    login(client, "staff")
    response = send(
        client,
        analysis_url(world.case_a),
        page=survey_url(world.case_a),
        data={"analysis": "过早"},
        follow_redirects=True,
    )
    assert "The needs analysis follows a submitted survey." in response.get_data(as_text=True)
    assert fresh_survey(session, world.case_a).analysis == ""


def test_an_empty_analysis_is_refused(client, world, session, kpis):
    save_survey(
        session, world.firm_user_a, world.case_a, baselines=[], submit=True, wanted_help="培训"
    )
    session.commit()
    login(client, "staff")
    response = send(
        client, analysis_url(world.case_a), page=survey_url(world.case_a), data={"analysis": "   "}
    )
    assert response.status_code == 200
    assert "Write the analysis." in response.get_data(as_text=True)
    assert fresh_survey(session, world.case_a).analysis == ""


def test_written_analysis_completes_stage_one(client, world, session, kpis):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis, submit=True))
    assert progress_of(session, world.case_a, today())["survey"].status != Status.DONE
    client.post("/logout")
    login(client, "staff")
    page = client.get(survey_url(world.case_a)).get_data(as_text=True)
    assert f'action="/cases/{world.case_a.id}/analysis#needs-analysis"' in page
    response = send(
        client,
        analysis_url(world.case_a),
        page=survey_url(world.case_a),
        data={"analysis": "过程管理薄弱，先抓质量成本"},
    )
    assert response.status_code == 302
    survey = fresh_survey(session, world.case_a)
    assert survey.analysis_by_id == world.staff.id
    state = progress_of(session, world.case_a, today())
    assert state["survey"].status == Status.DONE
    assert state.current == "diagnosis"


def test_the_firm_and_the_expert_read_the_analysis(client, world, session, kpis):
    save_survey(
        session, world.firm_user_a, world.case_a, baselines=[], submit=True, wanted_help="培训"
    )
    write_analysis(session, world.staff, world.case_a, "先抓质量成本")
    session.commit()
    for username in ("firm_a", "expert_a"):
        login(client, username)
        page = client.get(survey_url(world.case_a)).get_data(as_text=True)
        assert "先抓质量成本" in page and world.staff.display_name in page
        assert "培训" in page  # the submitted answers
        assert "<textarea" not in page
        client.post("/logout")


def test_the_other_firms_user_gets_404(client, world, session, kpis):
    login(client, "firm_b")
    assert client.get(survey_url(world.case_a)).status_code == 404
    assert send(client, survey_url(world.case_a), answers(kpis)).status_code == 404
    assert (
        send(
            client,
            analysis_url(world.case_a),
            page=survey_url(world.case_a),
            data={"analysis": "x"},
        ).status_code
        == 404
    )
    assert fresh_survey(session, world.case_a) is None


def test_an_expert_can_view_but_not_post(client, world, session, kpis):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis, pain_points="草稿里的痛点"))
    client.post("/logout")
    login(client, "expert_a")
    response = client.get(survey_url(world.case_a))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "草稿里的痛点" not in page  # an expert sees the answers once submitted
    assert "The firm has not submitted the survey yet." in page
    assert send(client, survey_url(world.case_a), answers(kpis)).status_code == 403
    assert (
        send(
            client,
            analysis_url(world.case_a),
            page=survey_url(world.case_a),
            data={"analysis": "x"},
        ).status_code
        == 403
    )
    assert fresh_survey(session, world.case_a).pain_points == "草稿里的痛点"


def test_the_unassigned_expert_gets_404(client, world, kpis):
    login(client, "expert_b")
    assert client.get(survey_url(world.case_a)).status_code == 404


def test_a_withdrawn_case_refuses_edits(client, world, session, kpis):
    save_survey(session, world.firm_user_a, world.case_a, baselines=[], wanted_help="培训")
    withdraw_case(session, world.staff, world.case_a, "迁出本市")
    session.commit()
    for username in ("firm_a", "staff"):
        login(client, username)
        page = client.get(survey_url(world.case_a)).get_data(as_text=True)
        assert "<textarea" not in page  # read-only for everyone
        data = answers(kpis, submit=True)
        assert send(client, survey_url(world.case_a), data).status_code == 403
        client.post("/logout")
    login(client, "staff")
    assert (
        send(
            client,
            analysis_url(world.case_a),
            page=survey_url(world.case_a),
            data={"analysis": "x"},
        ).status_code
        == 403
    )
    survey = fresh_survey(session, world.case_a)
    assert not survey.is_submitted and survey.analysis == ""


def test_case_page_summarises_stage_one(client, world, session, kpis):
    login(client, "firm_a")
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert "Not started" in page and "Fill in the survey" in page
    send(
        client,
        survey_url(world.case_a),
        answers(kpis, {"first_pass_yield": "96.5", "complaints": "12"}, submit=True),
    )
    client.post("/logout")
    login(client, "staff")
    send(
        client,
        analysis_url(world.case_a),
        page=survey_url(world.case_a),
        data={"analysis": "过程管理薄弱"},
    )
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert "Submitted" in page and world.firm_user_a.display_name in page
    assert "Process management" in page and "Brand" in page
    assert "96.5" in page and "12" in page
    assert "过程管理薄弱" in page


def test_expert_sees_only_the_status_of_a_draft_on_the_case_page(client, world, session, kpis):
    login(client, "firm_a")
    send(client, survey_url(world.case_a), answers(kpis, {"first_pass_yield": "96.5"}))
    client.post("/logout")
    login(client, "expert_a")
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert "Draft" in page and "96.5" not in page and "Process management" not in page


def count_queries(app, run) -> int:
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return len(statements)


def test_query_count_does_not_grow_with_baselines(app, client, world, session, kpis):
    login(client, "staff")
    send(client, survey_url(world.case_a), answers(kpis, {"complaints": "1"}, submit=True))
    few = {
        path: count_queries(app, lambda p=path: client.get(p))
        for path in (survey_url(world.case_a), f"/cases/{world.case_a.id}")
    }
    every = {k.code: "1" for k in kpis.values()}
    send(client, survey_url(world.case_a), answers(kpis, every))
    assert len(baselines_of(session, fresh_survey(session, world.case_a))) == len(kpis)
    many = {
        path: count_queries(app, lambda p=path: client.get(p))
        for path in (survey_url(world.case_a), f"/cases/{world.case_a.id}")
    }
    assert many == few


# The rules themselves, without a page -----------------------------------------------------------


def test_service_keeps_a_submitted_survey_for_staff_only(session, world):
    save_survey(session, world.firm_user_a, world.case_a, baselines=[], wanted_help="培训")
    save_survey(
        session, world.firm_user_a, world.case_a, baselines=[], submit=True, wanted_help="培训"
    )
    session.commit()
    with pytest.raises(SurveyError, match="has been submitted and can no longer be changed"):
        save_survey(session, world.firm_user_a, world.case_a, baselines=[], wanted_help="改")
    session.rollback()
    assert survey_of(session, world.case_a).wanted_help == "培训"
    save_survey(session, world.staff, world.case_a, baselines=[], wanted_help="更正")
    session.commit()
    assert survey_of(session, world.case_a).wanted_help == "更正"


@pytest.mark.parametrize("who", ["expert_a", "firm_user_b"])
def test_service_refuses_whoever_may_not_fill_the_survey(session, world, who):
    """An expert never fills the survey, nor a user of another firm: refused in the service."""
    with pytest.raises(SurveyError, match="You may not fill in this case's survey."):
        save_survey(session, getattr(world, who), world.case_a, baselines=[], wanted_help="x")
    session.rollback()
    assert survey_of(session, world.case_a) is None


def test_who_may_edit_and_see_the_survey(session, world):
    case = world.case_a
    assert can_edit_survey(world.firm_user_a, case, None)
    assert not can_edit_survey(world.expert_a, case, None)
    draft = save_survey(session, world.firm_user_a, case, baselines=[], wanted_help="培训")
    # A draft: the firm and staff see the answers, the assigned expert only once submitted.
    assert can_see_survey_answers(world.firm_user_a, draft)
    assert can_see_survey_answers(world.staff, draft)
    assert not can_see_survey_answers(world.expert_a, draft)
    submitted = save_survey(
        session, world.firm_user_a, case, baselines=[], submit=True, wanted_help="培训"
    )
    assert can_see_survey_answers(world.expert_a, submitted)
    assert not can_edit_survey(world.firm_user_a, case, submitted)
    assert can_edit_survey(world.staff, case, submitted)
    assert not can_see_survey_answers(world.staff, None)


def test_wtforms_own_messages_speak_the_interface_language(client, world, session, kpis):
    login(client, "firm_a")
    data = answers(kpis, {"complaints": "4"})
    data["baselines-0-period"] = "2025年第一季度至第四季度" * 4  # 48 characters
    client.forget_language()
    page = send(client, survey_url(world.case_a), data).get_data(as_text=True)
    assert "字段长度不能超过 40 个字符。" in page
    assert "Field cannot be longer" not in page
    client.post("/language", data={"lang": "en"})
    page = send(client, survey_url(world.case_a), data).get_data(as_text=True)
    assert "Field cannot be longer than 40 characters." in page
    assert fresh_survey(session, world.case_a) is None
