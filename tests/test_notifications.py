"""In-app notifications: each event, whatever door it comes through, tells the people concerned
(never the one who acted); each user sees, follows and marks read only their own; the bell on
every page counts the unread ones."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from pilot.accounts.models import User
from pilot.cases.services import assign_experts, close_case
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round
from pilot.evaluation import services as evaluation
from pilot.evaluation.models import Verdict
from pilot.extensions import db
from pilot.notifications.models import Kind, Notification
from pilot.notifications.services import notify, unread_count
from pilot.plan import services as plan
from pilot.rectification import services as rectification
from pilot.rectification.models import RectificationItem
from pilot.training.services import save_session
from pilot.visits.services import log_visit
from tests import factories
from tests.conftest import login
from tests.test_evaluation import DAY, _scores, complete_but_verdict, to_stage6


def told(session, kind: Kind) -> set[str]:
    """Who got a notification of this kind, by username."""
    return set(
        session.exec(
            select(User.username)
            .join(Notification, Notification.recipient_id == User.id)
            .where(Notification.kind == kind)
        ).all()
    )


@pytest.fixture
def people(session, world, frameworks):
    """case_a with two experts (expert_a leads, expert_b assists) and two users at firm A."""
    factories.make_user(session, "firm", "firm_a2", firm_id=world.firm_a.id)
    gone = factories.make_user(session, "firm", "firm_a_gone", firm_id=world.firm_a.id)
    gone.active = False
    session.refresh(world.case_a, ["assignments"])
    assign_experts(
        session,
        world.staff,
        world.case_a,
        [world.expert_a.id, world.expert_b.id],
        world.expert_a.id,
    )
    session.commit()
    return world


FIRM_A = {"firm_a", "firm_a2"}
EXPERTS = {"expert_a", "expert_b"}


def test_the_way_to_stage_6_tells_firm_and_experts(session, people):
    world = people
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    # expert_a logged the visit: the firm confirms it; expert_a is not told what they did.
    assert told(session, Kind.VISIT_LOGGED) == FIRM_A
    # Staff accepted the baseline: its experts and the firm (not the inactive user, not firm B).
    assert told(session, Kind.DIAGNOSIS_ACCEPTED) == EXPERTS | FIRM_A
    assert told(session, Kind.PLAN_APPROVED) == EXPERTS | FIRM_A
    notice = session.exec(
        select(Notification).where(Notification.kind == Kind.DIAGNOSIS_ACCEPTED)
    ).first()
    assert notice.case_id == world.case_a.id and notice.actor_id == world.staff.id
    assert notice.params == {"round": Round.BASELINE} and notice.read_at is None


def test_a_visit_tells_the_experts_named_on_it(session, people):
    world = people
    log_visit(
        session,
        world.expert_b,
        world.case_a,
        visit_date=DAY,
        hours=Decimal(3),
        expert_ids=[world.expert_a.id],
        activities="现场诊断",
        today=DAY,
    )
    assert told(session, Kind.VISIT_LOGGED) == FIRM_A | {"expert_a"}


def test_returns_tell_only_who_must_rework(session, people):
    world = people
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    final = diagnosis.start(session, world.expert_a, world.case_a, Round.FINAL)
    frameworks = diagnosis.frameworks_of(session, final)
    diagnosis.save_scores(
        session,
        world.expert_a,
        final,
        _scores(frameworks, 60, 4),
    )
    diagnosis.submit(session, world.expert_a, final)
    diagnosis.return_diagnosis(session, world.staff, final, "请复核")
    # A returned diagnosis is a draft: its experts are told, never the firm.
    assert told(session, Kind.DIAGNOSIS_RETURNED) == EXPERTS

    version = plan.start_new_version(session, world.expert_a, world.case_a)
    plan.submit(session, world.expert_a, version)
    plan.return_plan(session, world.staff, version, "请补充")
    # Only the lead drafts the plan.
    assert told(session, Kind.PLAN_RETURNED) == {"expert_a"}
    assert session.exec(
        select(Notification.params).where(Notification.kind == Kind.PLAN_RETURNED)
    ).one() == {"version": 2}


def test_an_item_returned_then_verified_tells_the_firm(session, people):
    world = people
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    world.batch.evidence_required = False
    item = session.exec(
        select(RectificationItem).where(RectificationItem.case_id == world.case_a.id)
    ).one()
    rectification.work(session, world.firm_user_a, item, version=None, measure="分解质量目标")
    rectification.submit(session, world.firm_user_a, item)
    rectification.return_item(session, world.expert_b, item, "证据不足")
    assert told(session, Kind.ITEM_RETURNED) == FIRM_A
    rectification.submit(session, world.firm_user_a, item)
    rectification.verify(session, world.expert_a, item)
    assert told(session, Kind.ITEM_VERIFIED) == FIRM_A
    verified = session.exec(
        select(Notification).where(Notification.kind == Kind.ITEM_VERIFIED)
    ).first()
    assert verified.record_id == item.id and verified.params["what"] == item.description


def test_an_invitation_tells_each_invited_firm_once(session, people):
    world = people
    fields = dict(
        topic="卓越绩效导入",
        starts_at=datetime(2026, 6, 20, 1, 30, tzinfo=UTC),
        hours=Decimal(3),
        place="市局",
        trainer="张教授",
        areas=[],
    )
    training = save_session(
        session,
        world.staff,
        world.batch,
        None,
        case_ids=[world.case_a.id],
        finding_ids=[],
        **fields,
    )
    assert told(session, Kind.TRAINING_INVITED) == FIRM_A
    # Saving it again with firm B added tells firm B only; nobody is told twice.
    save_session(
        session,
        world.staff,
        world.batch,
        training,
        case_ids=[world.case_a.id, world.case_b.id],
        finding_ids=[],
        **fields,
    )
    rows = session.exec(
        select(User.username, Notification.case_id)
        .join(Notification, Notification.recipient_id == User.id)
        .where(Notification.kind == Kind.TRAINING_INVITED)
        .order_by(User.username)
    ).all()
    assert rows == [
        ("firm_a", world.case_a.id),
        ("firm_a2", world.case_a.id),
        ("firm_b", world.case_b.id),
    ]


def test_closing_tells_firm_and_experts(session, people):
    world = people
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    complete_but_verdict(session, world, world.case_a, world.firm_user_a, world.expert_a)
    evaluation.give_verdict(session, world.staff, world.case_a, Verdict.MET, "")
    close_case(session, world.staff, world.case_a, DAY)
    assert told(session, Kind.CASE_CLOSED) == EXPERTS | FIRM_A
    session.rollback()  # no final report rendered: tests/test_evaluation.py covers it


def test_an_expert_taken_off_a_case_keeps_nothing_of_it(session, people):
    world = people
    notify(session, [world.expert_b.id, world.expert_a.id], Kind.CASE_CLOSED, world.case_a)
    assign_experts(session, world.staff, world.case_a, [world.expert_a.id], world.expert_a.id)
    session.commit()
    assert told(session, Kind.CASE_CLOSED) == {"expert_a"}


# The pages --------------------------------------------------------------------------------------


def _notices(session, world):
    """Two notifications for firm_a (one per case) and one for firm_b."""
    other = factories.make_case(session, factories.make_batch(session), world.firm_a)
    first = notify(
        session,
        [world.firm_user_a.id],
        Kind.ITEM_RETURNED,
        world.case_a,
        record_id=7,
        what="甲整改项",
    )[0]
    first.created_at = datetime(2026, 6, 1, tzinfo=UTC)
    second = notify(session, [world.firm_user_a.id], Kind.CASE_CLOSED, other)[0]
    theirs = notify(
        session,
        [world.firm_user_b.id],
        Kind.ITEM_VERIFIED,
        world.case_b,
        record_id=8,
        what="乙整改项",
    )[0]
    session.commit()
    return first, second, theirs


def bell(page: str) -> int:
    found = re.search(r'data-unread="(\d+)"', page)
    return int(found.group(1)) if found else 0


def test_the_list_shows_ones_own_newest_first_with_the_bell(client, session, world):
    first, second, theirs = _notices(session, world)
    login(client, "firm_a")
    page = client.get("/notifications/").get_data(as_text=True)
    assert "甲整改项" in page and "乙整改项" not in page
    ids = [int(i) for i in re.findall(r'data-notification="(\d+)"', page)]
    assert ids == [second.id, first.id]
    assert "Item returned, evidence to rework: 甲整改项" in page
    assert "The case was closed" in page and world.firm_a.name in page
    # The bell, on this page and on every other.
    assert bell(page) == 2
    assert bell(client.get("/").get_data(as_text=True)) == 2
    client.post("/logout")
    login(client, "firm_b")
    assert bell(client.get("/").get_data(as_text=True)) == 1


def test_the_message_follows_the_readers_language(client, session, world):
    _notices(session, world)
    login(client, "firm_a")
    client.forget_language()
    page = client.get("/notifications/").get_data(as_text=True)
    assert "整改项被退回" in page and "Item returned" not in page


def test_following_a_notification_marks_it_read_and_leads_to_it(client, session, world):
    first, second, _ = _notices(session, world)
    login(client, "firm_a")
    response = client.post(f"/notifications/{first.id}/read", data={"go": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/items/{first.record_id}"
    session.refresh(first)
    session.refresh(second)
    assert first.read_at is not None and second.read_at is None
    assert bell(client.get("/").get_data(as_text=True)) == 1
    # Marking read without following stays on the list.
    response = client.post(f"/notifications/{second.id}/read")
    assert response.headers["Location"].startswith("/notifications/")
    assert unread_count(session, world.firm_user_a.id) == 0
    assert bell(client.get("/").get_data(as_text=True)) == 0


def test_mark_all_read_touches_only_ones_own(client, session, world):
    first, second, theirs = _notices(session, world)
    login(client, "firm_a")
    assert client.post("/notifications/read-all").status_code == 302
    assert unread_count(session, world.firm_user_a.id) == 0
    assert unread_count(session, world.firm_user_b.id) == 1


@pytest.mark.parametrize("who", ["firm_a", "staff", "expert_a"])
def test_another_users_notification_answers_404(client, session, world, who):
    _, _, theirs = _notices(session, world)
    login(client, who)
    for data in ({}, {"go": "1"}):
        assert client.post(f"/notifications/{theirs.id}/read", data=data).status_code == 404
    session.refresh(theirs)
    assert theirs.read_at is None
    assert "乙整改项" not in client.get("/notifications/").get_data(as_text=True)


def test_the_bell_costs_one_query_and_none_signed_out(app, client, session, world):
    _notices(session, world)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        client.get("/login")
        assert not any("notification" in s for s in statements)
        login(client, "firm_a")
        statements.clear()
        client.get("/")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "notification" in s]) == 1


def test_the_list_is_paginated(client, session, world):
    for n in range(35):
        notify(session, [world.firm_user_a.id], Kind.VISIT_LOGGED, world.case_a, date=f"d{n}")
    session.commit()
    login(client, "firm_a")
    first = client.get("/notifications/").get_data(as_text=True)
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert first.count("data-notification=") == 30 and second.count("data-notification=") == 5
    assert "Page 2 of 2" in second and 'rel="prev"' in second
