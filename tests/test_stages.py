"""The stage rules on a fixed "today": DESIGN.md's table, "needs first", overdue, withdrawn."""

from datetime import date, timedelta

import pytest

from pilot.stages import (
    CLOSED,
    MANUAL_STAGES,
    STAGE_CODES,
    WITHDRAWN,
    CaseFacts,
    Status,
    evaluate,
    progress_of,
)

START = date(2026, 3, 2)
WEEKS = {
    "survey": 3,
    "diagnosis": 8,
    "rectification": 20,
    "training": 20,
    "plan": 22,
    "evaluation": 26,
}
DUE = {code: START + timedelta(weeks=w) for code, w in WEEKS.items()}
EARLY = START + timedelta(days=1)  # before every due date


def facts(*done: str, **kw) -> CaseFacts:
    """Facts under which the named stages' own rules are met."""
    f = CaseFacts(
        case_id=1, due=dict(DUE), marks={c: "done" for c in done if c in MANUAL_STAGES}, **kw
    )
    if "survey" in done:
        f.survey_submitted = f.analysis_written = True
    if "diagnosis" in done:
        f.confirmed_visits, f.baseline_accepted = 1, True
    f.open_items = 0 if "rectification" in done else 1
    f.sessions_required = 2
    if "training" in done:
        f.sessions_attended = 2
    f.plan_approved = "plan" in done
    if "evaluation" in done:
        f.targets = f.checked_actuals = 2
        f.final_accepted = f.service_rated = f.assessment_written = f.verdict_given = True
    return f


def statuses(progress) -> dict[str, Status]:
    return {s.code: s.status for s in progress.stages}


def test_new_case_starts_with_survey_and_nothing_else():
    p = evaluate(facts(), EARLY)
    assert p.current == "survey"
    assert statuses(p) == {
        "survey": Status.IN_PROGRESS,
        "diagnosis": Status.NOT_STARTED,
        "rectification": Status.NOT_STARTED,
        "training": Status.NOT_STARTED,
        "plan": Status.NOT_STARTED,
        "evaluation": Status.NOT_STARTED,
    }


def test_survey_done_opens_diagnosis():
    p = evaluate(facts("survey"), EARLY)
    assert p.current == "diagnosis"
    assert p["survey"].status == Status.DONE
    assert p["diagnosis"].status == Status.IN_PROGRESS
    assert p["rectification"].status == Status.NOT_STARTED


def test_stages_three_to_five_run_side_by_side_once_diagnosis_is_done():
    p = evaluate(facts("survey", "diagnosis"), EARLY)
    assert p.current == "rectification"
    for code in ("rectification", "training", "plan"):
        assert p[code].status == Status.IN_PROGRESS
    assert p["evaluation"].status == Status.NOT_STARTED


def test_evaluation_needs_plan_and_training():
    p = evaluate(facts("survey", "diagnosis", "rectification", "plan"), EARLY)
    assert p["evaluation"].status == Status.NOT_STARTED
    assert p.current == "training"
    p = evaluate(facts("survey", "diagnosis", "rectification", "training", "plan"), EARLY)
    assert p["evaluation"].status == Status.IN_PROGRESS
    assert p.current == "evaluation"


def test_evaluation_does_not_need_rectification():
    p = evaluate(facts("survey", "diagnosis", "training", "plan"), EARLY)
    assert p["evaluation"].status == Status.IN_PROGRESS
    assert p.current == "rectification"


@pytest.mark.parametrize("stage", STAGE_CODES[1:])
def test_a_stage_is_not_done_while_what_it_needs_is_not(stage):
    """A stage met on its own records is still not done until the stages it needs are."""
    p = evaluate(facts(stage), EARLY)
    assert p[stage].status == Status.NOT_STARTED


def test_all_six_done_waits_in_evaluation_for_closing():
    p = evaluate(facts(*STAGE_CODES), EARLY)
    assert p.all_done
    assert p.current == "evaluation"


def test_a_stage_past_its_due_date_is_overdue_until_done():
    day_after_survey_due = DUE["survey"] + timedelta(days=1)
    assert evaluate(facts(), DUE["survey"])["survey"].status == Status.IN_PROGRESS
    p = evaluate(facts(), day_after_survey_due)
    assert p["survey"].status == Status.OVERDUE
    assert p.is_overdue
    assert evaluate(facts("survey"), day_after_survey_due)["survey"].status == Status.DONE


def test_a_stage_not_started_but_past_due_is_overdue():
    late = DUE["rectification"] + timedelta(days=1)
    p = evaluate(facts("survey"), late)
    assert p["rectification"].status == Status.OVERDUE
    assert p["diagnosis"].status == Status.OVERDUE


def test_withdrawn_case_is_never_overdue():
    late = DUE["evaluation"] + timedelta(days=30)
    p = evaluate(facts("survey", withdrawn=True), late)
    assert p.current == WITHDRAWN
    assert Status.OVERDUE not in statuses(p).values()
    assert p["survey"].status == Status.DONE


def test_closed_case_reports_closed():
    p = evaluate(facts(*STAGE_CODES, closed=True), DUE["evaluation"] + timedelta(days=5))
    assert p.current == CLOSED
    assert p.all_done


def test_the_stages_under_way_are_those_in_progress_or_overdue():
    late = DUE["diagnosis"] + timedelta(days=1)  # diagnosis overdue; 3-5 not started
    p = evaluate(facts("survey"), late)
    assert [s.code for s in p.active_stages] == ["diagnosis"]
    assert [s.is_active for s in p.stages] == [False, True, False, False, False, False]
    p = evaluate(facts("survey", "diagnosis"), EARLY)
    assert [s.code for s in p.active_stages] == ["rectification", "training", "plan"]


def test_a_withdrawn_or_closed_case_has_no_stage_under_way():
    p = evaluate(facts("survey", withdrawn=True), EARLY)
    assert p["diagnosis"].status == Status.IN_PROGRESS
    assert not p.is_running
    assert p.active_stages == ()
    assert evaluate(facts("survey", closed=True), EARLY).active_stages == ()


def test_survey_needs_submission_and_analysis():
    f = facts()
    f.survey_submitted = True
    assert evaluate(f, EARLY)["survey"].status == Status.IN_PROGRESS
    f.analysis_written = True
    assert evaluate(f, EARLY)["survey"].status == Status.DONE


def test_diagnosis_needs_a_confirmed_visit_and_an_accepted_baseline():
    f = facts("survey")
    f.baseline_accepted = True
    assert evaluate(f, EARLY)["diagnosis"].status == Status.IN_PROGRESS
    f.confirmed_visits = 2
    assert evaluate(f, EARLY)["diagnosis"].status == Status.DONE
    f.baseline_accepted = False
    assert evaluate(f, EARLY)["diagnosis"].status == Status.IN_PROGRESS


def test_diagnosis_is_not_done_before_the_survey():
    p = evaluate(facts("diagnosis"), EARLY)
    assert p["diagnosis"].status == Status.NOT_STARTED
    assert p.current == "survey"


def test_rectification_is_done_when_no_item_is_left_open():
    f = facts("survey", "diagnosis")
    f.open_items = 0  # no items at all: done with the diagnosis
    assert evaluate(f, EARLY)["rectification"].status == Status.DONE
    f.open_items = 1  # an item added by hand later reopens the stage
    assert evaluate(f, EARLY)["rectification"].status == Status.IN_PROGRESS


def test_training_by_attendance_or_by_staff_mark():
    f = facts("survey", "diagnosis")
    f.sessions_attended = 1
    assert evaluate(f, EARLY)["training"].status == Status.IN_PROGRESS
    f.sessions_attended = 2
    assert evaluate(f, EARLY)["training"].status == Status.DONE
    f.sessions_attended = 0
    f.marks["training"] = "企业因疫情线上参训，已核实"
    assert evaluate(f, EARLY)["training"].status == Status.DONE


def test_evaluation_needs_every_part_and_the_verdict():
    f = facts("survey", "diagnosis", "rectification", "training", "plan")
    f.targets, f.checked_actuals = 2, 1
    f.final_accepted = f.service_rated = f.assessment_written = True
    assert not f.ready_for_verdict
    f.checked_actuals = 2
    assert f.ready_for_verdict
    assert evaluate(f, EARLY)["evaluation"].status == Status.IN_PROGRESS
    f.verdict_given = True
    assert evaluate(f, EARLY)["evaluation"].status == Status.DONE


def test_due_dates_come_from_the_case(session, world):
    case = world.case_a
    case.survey_due = date(2026, 3, 10)
    session.commit()
    p = progress_of(session, case, date(2026, 3, 11))
    assert p["survey"].due == date(2026, 3, 10)
    assert p["survey"].status == Status.OVERDUE
