"""Staff's actions on a case: marks, withdrawal, due dates, experts — and what the log keeps."""

from datetime import date

from sqlmodel import select

from pilot.audit.models import AuditLog
from pilot.database import today
from pilot.stages import Status, progress_of
from tests.conftest import login


def entries(session, case, action):
    return session.exec(
        select(AuditLog).where(AuditLog.case_id == case.id, AuditLog.action == action)
    ).all()


def test_marking_a_stage_done_is_logged_with_its_reason(client, world, session):
    login(client, "staff")
    client.post(f"/cases/{world.case_a.id}/stages/training/mark", data={"reason": "已参训两次"})
    state = progress_of(session, world.case_a, today())
    assert state["training"].why == "已参训两次"
    # Met on its own, but not done while the diagnosis it needs is not.
    assert state["training"].status != Status.DONE
    [entry] = entries(session, world.case_a, "mark_done")
    assert entry.reason == "已参训两次" and entry.actor_id == world.staff.id


def test_stages_with_records_cannot_be_marked_by_hand(client, world, session):
    login(client, "staff")
    client.post(f"/cases/{world.case_a.id}/stages/survey/mark", data={"reason": "x"})
    assert progress_of(session, world.case_a, today())["survey"].status != Status.DONE
    assert not entries(session, world.case_a, "mark_done")


def test_taking_a_mark_back_reopens_the_stage_and_says_why(client, world, session):
    login(client, "staff")
    client.post(f"/cases/{world.case_a.id}/stages/training/mark", data={"reason": "done"})
    client.post(f"/cases/{world.case_a.id}/stages/training/unmark", data={"reason": "方案缺页"})
    assert progress_of(session, world.case_a, today())["training"].why == ""
    [entry] = entries(session, world.case_a, "unmark")
    assert entry.reason == "方案缺页"


def test_a_mark_without_reason_is_refused(client, world, session):
    login(client, "staff")
    response = client.post(f"/cases/{world.case_a.id}/stages/training/mark", data={"reason": " "})
    assert response.status_code == 302
    assert progress_of(session, world.case_a, today())["training"].why == ""
    assert not entries(session, world.case_a, "mark_done")


def test_unknown_stage_is_404(client, world):
    login(client, "staff")
    assert (
        client.post(f"/cases/{world.case_a.id}/stages/nope/mark", data={"reason": "x"}).status_code
        == 404
    )


def test_withdrawn_case_is_read_only_and_off_the_overdue_list(client, world, session):
    login(client, "staff")
    client.post(f"/cases/{world.case_a.id}/withdraw", data={"reason": "企业搬迁"})
    session.refresh(world.case_a)
    assert world.case_a.is_withdrawn and world.case_a.withdrawn_reason == "企业搬迁"
    state = progress_of(session, world.case_a, date(2027, 1, 1))
    assert state.current == "withdrawn" and not state.is_overdue
    # A withdrawn case takes no marks.
    assert (
        client.post(
            f"/cases/{world.case_a.id}/stages/training/mark", data={"reason": "x"}
        ).status_code
        == 403
    )


def test_due_dates_can_be_overridden_per_case(client, world, session):
    login(client, "staff")
    dues = {
        f"{c}_due": f"2026-07-0{i}"
        for i, c in enumerate(
            ["survey", "diagnosis", "rectification", "training", "plan", "evaluation"], 1
        )
    }
    response = client.post(f"/cases/{world.case_a.id}/due-dates", data=dues)
    assert response.status_code == 302
    session.refresh(world.case_a)
    assert world.case_a.survey_due == date(2026, 7, 1)
    assert world.case_b.survey_due != date(2026, 7, 1)
    assert entries(session, world.case_a, "due_dates")


def test_bad_due_date_is_a_message_not_a_500(client, world):
    login(client, "staff")
    response = client.post(f"/cases/{world.case_a.id}/due-dates", data={"survey_due": "soon"})
    assert response.status_code == 200


def test_assigning_experts_needs_a_lead_among_them(client, world, session):
    login(client, "staff")
    url = f"/cases/{world.case_b.id}/experts"
    response = client.post(url, data={"experts": [world.expert_a.id], "lead": world.expert_b.id})
    assert response.status_code == 200
    session.refresh(world.case_b)
    assert world.case_b.assignments == []
    response = client.post(
        url, data={"experts": [world.expert_a.id, world.expert_b.id], "lead": world.expert_b.id}
    )
    assert response.status_code == 302
    session.refresh(world.case_b, ["assignments"])
    assert {(a.expert_id, a.is_lead) for a in world.case_b.assignments} == {
        (world.expert_a.id, False),
        (world.expert_b.id, True),
    }
    assert entries(session, world.case_b, "assign_experts")


def test_expert_sees_assigned_case_in_my_firms(client, world):
    login(client, "expert_a")
    page = client.get("/").get_data(as_text=True)
    assert world.firm_a.name in page and world.firm_b.name not in page


def test_firm_user_sees_only_their_firm_and_public_timeline(client, world):
    login(client, "firm_a")
    home = client.get("/").get_data(as_text=True)
    assert world.firm_a.name in home and world.firm_b.name not in home
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert 'class="grid audit"' not in page  # no before/after values of the audit log
    assert "Case opened" in page or "开启" in page or 'class="timeline"' in page


def test_board_filters_and_counts(client, world, session):
    login(client, "staff")
    client.post(f"/cases/{world.case_a.id}/withdraw", data={"reason": "ok"})
    page = client.get(f"/?batch={world.batch.id}&stage=withdrawn").get_data(as_text=True)
    assert world.firm_a.name in page and world.firm_b.name not in page
    page = client.get(f"/?batch={world.batch.id}&district=410102").get_data(as_text=True)
    assert world.firm_a.name not in page
    assert client.get("/?batch=99999").status_code == 404
