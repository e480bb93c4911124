"""Staff's weekly review of a batch, on a fixed clock (the tests' today is Monday 2026-06-15):
what happened from Monday to Sunday in Beijing time lands in that week and not in the next,
read from the records' own timestamps."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from pilot.batches.weekly import Week, review_of
from pilot.cases.models import StageMark
from pilot.diagnosis.models import Diagnosis
from pilot.plan.models import FollowUpPlan
from pilot.rectification import services as rectification
from pilot.rectification.models import RectificationItem
from pilot.survey.models import NeedsSurvey
from pilot.visits.models import Visit
from pilot.visits.services import log_visit
from tests.conftest import login
from tests.test_evaluation import to_stage6

#: The week under review (Monday 8 to Sunday 14 June) and the next one, which holds today.
WEEK = Week(date(2026, 6, 8))
NEXT = Week(date(2026, 6, 15))


def beijing(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of June 2026 in Beijing time, as the UTC the records keep."""
    return datetime(2026, 6, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def week_of_events(session, world, frameworks):
    """case_a brought to stage 6 through the services, then dated:
    survey and first visit in May; in the week: the baseline accepted (Wed 10th), its item
    verified (Sun 14th 23:30), training marked (Thu 11th), plan approved (Fri 12th), a visit on
    Sunday 14th; in the next week: an item added at Mon 15th 00:05 and verified at 00:10 (still
    Sunday in UTC), a visit on Monday 15th. case_b: an item due Tue 9th (overdue from Wed 10th,
    in the week) and one due Sun 14th (overdue from Mon 15th, the next week)."""
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    world.batch.evidence_required = False
    case = world.case_a
    survey = session.exec(select(NeedsSurvey).where(NeedsSurvey.case_id == case.id)).one()
    survey.submitted_at = survey.analysis_at = beijing(1, 9)
    for visit in session.exec(select(Visit).where(Visit.case_id == case.id)).all():
        visit.answered_at = beijing(2, 9)
    baseline = session.exec(select(Diagnosis).where(Diagnosis.case_id == case.id)).one()
    baseline.accepted_at = beijing(10, 10)
    first = session.exec(
        select(RectificationItem).where(RectificationItem.case_id == case.id)
    ).one()
    first.created_at = beijing(10, 10)
    session.exec(select(StageMark).where(StageMark.case_id == case.id)).one().marked_at = beijing(
        11, 15
    )
    session.exec(
        select(FollowUpPlan).where(FollowUpPlan.case_id == case.id)
    ).one().approved_at = beijing(12, 16)
    for item in (first,):
        rectification.work(session, world.firm_user_a, item, version=None, measure="分解目标")
        rectification.submit(session, world.firm_user_a, item)
        rectification.verify(session, world.expert_a, item)
    first.verified_at = beijing(14, 23, 30)
    second = rectification.add_item(
        session,
        world.staff,
        case,
        description="计量器具未按期检定",
        severity="general",
        due_date=date(2026, 7, 31),
        today=date(2026, 6, 1),
    )
    second.created_at = beijing(15, 0, 5)
    rectification.work(session, world.firm_user_a, second, version=None, measure="送检")
    rectification.submit(session, world.firm_user_a, second)
    rectification.verify(session, world.expert_a, second)
    second.verified_at = beijing(15, 0, 10)
    for day, hours in ((14, "4"), (15, "2")):
        log_visit(
            session,
            world.expert_a,
            case,
            visit_date=date(2026, 6, day),
            hours=Decimal(hours),
            expert_ids=[],
            activities="跟踪辅导",
            today=date(2026, 6, 15),
        )
    for due, text in ((9, "首件检验记录缺失"), (14, "不合格品台账未更新")):
        rectification.add_item(
            session,
            world.staff,
            world.case_b,
            description=text,
            severity="severe",
            due_date=date(2026, 6, due),
            today=date(2026, 6, 1),
        )
    session.commit()
    return world


def _review(app, session, world, week):
    with app.test_request_context():
        return review_of(session, world.batch, week, date(2026, 6, 15))


def test_each_event_lands_in_its_week_and_not_the_next(app, session, week_of_events):
    world = week_of_events
    week = _review(app, session, world, WEEK)
    [stages] = week.stages
    assert (stages.firm, stages.case_id) == (world.firm_a.name, world.case_a.id)
    assert stages.stages == [
        "2. On-site quality diagnosis",
        "3. Rectification list",
        "4. Centralised training",
        "5. Follow-up service plan",
    ]
    assert week.stages_finished == 4
    assert [(line.what, line.on) for line in week.verified] == [
        ("质量目标未分解到车间，考核无依据", date(2026, 6, 14))
    ]
    assert [(line.what, line.on) for line in week.overdue] == [
        ("首件检验记录缺失", date(2026, 6, 9))
    ]
    assert [line.firm for line in week.overdue] == [world.firm_b.name]
    assert [(line.what, line.on) for line in week.diagnoses] == [
        ("Baseline diagnosis", date(2026, 6, 10))
    ]
    assert [(line.what, line.on) for line in week.plans] == [("1", date(2026, 6, 12))]
    assert [(v.on, v.hours) for v in week.visits] == [(date(2026, 6, 14), Decimal(4))]
    assert week.hours == Decimal(4) and week.confirmed_hours == Decimal(0)

    following = _review(app, session, world, NEXT)
    # The second item, added and verified in the first minutes of Monday in Beijing (still Sunday
    # in UTC), belongs to this week; the rectification list, done at the start, is not finished
    # again.
    assert following.stages == []
    assert [line.what for line in following.verified] == ["计量器具未按期检定"]
    assert [line.what for line in following.overdue] == ["不合格品台账未更新"]
    assert following.diagnoses == [] and following.plans == []
    assert [(v.on, v.hours) for v in following.visits] == [(date(2026, 6, 15), Decimal(2))]

    before = _review(app, session, world, WEEK.previous)
    assert before.verified == [] and before.diagnoses == [] and before.visits == []
    assert [line.stages for line in before.stages] == [["1. Needs survey and analysis"]]


def test_an_item_handed_in_before_its_due_date_is_not_overdue(app, session, week_of_events):
    world = week_of_events
    item = session.exec(
        select(RectificationItem).where(RectificationItem.description == "首件检验记录缺失")
    ).one()
    rectification.work(session, world.firm_user_b, item, version=None, measure="补记录")
    world.batch.evidence_required = False
    rectification.submit(session, world.firm_user_b, item)
    item.submitted_at = beijing(9, 18)
    session.commit()
    assert _review(app, session, world, WEEK).overdue == []


def totals(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-total="(\w+)"><b>([^<]+)</b>', page))


def test_the_page_shows_the_week_with_totals_links_and_print_styles(client, week_of_events):
    world = week_of_events
    login(client, "staff")
    page = client.get(f"/batches/{world.batch.id}/week?on=2026-06-11").get_data(as_text=True)
    assert "Week 24 of 2026" in page and "2026-06-08 to 2026-06-14" in page
    assert totals(page) == {
        "stages": "4",
        "verified": "1",
        "overdue": "1",
        "diagnoses": "1",
        "plans": "1",
        "visits": "1",
    }
    assert f'href="/cases/{world.case_a.id}/diagnosis/baseline"' in page
    assert f'href="/cases/{world.case_a.id}/plan/versions/1"' in page
    assert "?on=2026-06-01" in page and "?on=2026-06-15" in page  # previous and next week
    assert "data-print" in page
    # Without a day: the week holding today (Monday 15th), and the batch page links to it.
    today = client.get(f"/batches/{world.batch.id}/week").get_data(as_text=True)
    assert "2026-06-15 to 2026-06-21" in today and totals(today)["verified"] == "1"
    assert f"/batches/{world.batch.id}/week" in client.get(f"/batches/{world.batch.id}").get_data(
        as_text=True
    )
    # Nonsense for a day is no day: the current week.
    odd = client.get(f"/batches/{world.batch.id}/week?on=0001-01-01").get_data(as_text=True)
    assert "2026-06-15 to 2026-06-21" in odd


def test_the_print_stylesheet_leaves_the_navigation_out(app):
    css = (Path(app.static_folder) / "app.css").read_text(encoding="utf-8")
    rules = css.split("@media print", 1)[1]
    assert "size: A4" in rules and "header.top" in rules and ".no-print" in rules
