"""Stage 5 through its pages: the lead expert drafts the follow-up service plan, staff return or
approve (认定) it; approved and submitted versions are frozen; a new version needs approval again
while the approved one stays in force; the firm never sees an unapproved version."""

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from pilot.cases.services import assign_experts, withdraw_case
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round, Severity
from pilot.extensions import db
from pilot.frameworks.models import Scale
from pilot.frameworks.services import load_kpi_catalogue, load_shipped, set_batch_frameworks
from pilot.kpis.models import Kpi
from pilot.permissions import can_read_plan_version
from pilot.plan import services as plan_services
from pilot.plan.models import FollowUpPlan, PlanAction, PlanStatus, TargetRevision
from pilot.plan.views import seen_token
from pilot.stages import Status, progress_of
from pilot.survey.services import save_survey, write_analysis
from pilot.visits.services import confirm_visit, log_visit
from tests.conftest import TODAY
from tests.conftest import login as sign_in
from tests.editing import send

DAY = date.fromisoformat(TODAY)
SEVERE = "关键工序参数记录不完整"
OBSERVATION_1 = "品牌故事尚未形成统一表述"
OBSERVATION_2 = "未开展品牌知名度测量"
ACTION = "制定品牌故事手册并在官网、展会统一使用"
RETURN_COMMENT = "请补充品牌知名度测量的具体安排"


# Arranging a case with an accepted baseline -----------------------------------------------------


def accepted_baseline(session, case, lead, staff, firm_user) -> dict:
    """Bring `case` through stages 1–2 through the services, as the demo does: the survey and
    its analysis, a confirmed visit, a baseline diagnosis with one severe finding (rectified) and
    two observations (carried into the plan) and one work target, accepted by staff.

    Returns the ids of the carried findings and of the work target.
    """
    frameworks = load_shipped(session)
    load_kpi_catalogue(session)
    set_batch_frameworks(session, case.batch_id, [f.id for f in frameworks])
    save_survey(
        session,
        firm_user,
        case,
        submit=True,
        baselines=[],
        pain_points="质量数据分析薄弱",
        wanted_help="品牌培育辅导",
    )
    write_analysis(session, staff, case, "以卓越绩效自评为主线开展诊断。")
    visit = log_visit(
        session,
        lead,
        case,
        visit_date=date(2026, 5, 12),
        hours=Decimal(6),
        expert_ids=[],
        activities="现场诊断",
        today=DAY,
    )
    confirm_visit(session, firm_user, visit)
    d = diagnosis.start(session, lead, case, Round.BASELINE)
    for framework in diagnosis.frameworks_of(session, d):
        entries = [
            diagnosis.ScoreInput(item.id, percent=50)
            if framework.scale == Scale.BAND
            else diagnosis.ScoreInput(item.id, level=3)
            for item in framework.items
        ]
        diagnosis.save_scores(session, lead, d, entries)
    items = [item for f in diagnosis.frameworks_of(session, d) for item in f.items]
    for n, (severity, text) in enumerate(
        (
            (Severity.SEVERE, SEVERE),
            (Severity.OBSERVATION, OBSERVATION_1),
            (Severity.OBSERVATION, OBSERVATION_2),
        )
    ):
        diagnosis.add_finding(
            session, lead, d, item_id=items[n].id, description=text, severity=severity
        )
    kpi = session.exec(select(Kpi).where(Kpi.code == "first_pass_yield")).one()
    target = diagnosis.add_target(
        session,
        lead,
        d,
        diagnosis.TargetInput(
            kpi_id=kpi.id,
            baseline=Decimal("95.2"),
            target=Decimal("97.5"),
            target_date=date(2026, 12, 31),
        ),
    )
    diagnosis.submit(session, lead, d)
    diagnosis.accept(session, staff, d, {}, DAY)
    session.commit()
    carried = plan_services.carried_findings(session, case)
    return {"findings": [f.id for f in carried], "target": target.id}


@pytest.fixture(autouse=True)
def english(client):
    """Messages are checked in English (the msgids); the default language is Chinese."""
    client.post("/language", data={"lang": "en"})


@pytest.fixture
def ready(session, world) -> dict:
    return accepted_baseline(session, world.case_a, world.expert_a, world.staff, world.firm_user_a)


def login(client, username: str) -> None:
    """Sign out whoever is signed in, then sign in as `username` (the language stays)."""
    client.post("/logout")
    sign_in(client, username)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def plan_card(page: str) -> str:
    """The case page's plan card, up to the next card."""
    start = page.index('id="follow-up-plan"')
    ends = [page.find(mark, start) for mark in ('<div class="card', '<div class="grid-2"')]
    return page[start : min(e for e in ends if e != -1)]


def url(case, tail: str = "") -> str:
    return f"/cases/{case.id}/plan{tail}"


def versions(session, case) -> list[FollowUpPlan]:
    session.expire_all()
    return plan_services.versions_of(session, case)


def count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def action_data(finding_id: int | None = None, **overrides) -> dict:
    data = {
        "action-what": ACTION,
        "action-owner": "品牌部",
        "action-start_date": "2026-07-01",
        "action-due_date": "2026-09-30",
        "action-finding_id": str(finding_id or 0),
    }
    data.update(overrides)
    return data


def revision_data(target_id: int, **overrides) -> dict:
    data = {
        "revision-target_id": str(target_id),
        "revision-new_target": "98",
        "revision-new_date": "2027-03-31",
        "revision-reason": "新产线投产后检验能力提升",
    }
    data.update(overrides)
    return data


def draft_answering_all(client, world, ready) -> None:
    """As the lead: the text, one action per carried finding, one of its own."""
    login(client, "expert_a")
    response = send(
        client,
        url(world.case_a, "/save"),
        page=url(world.case_a),
        name="edit_version",
        data={"summary": "巩固整改成果，推进品牌培育", "further_service": "每季度回访一次"},
    )
    assert response.status_code == 302, text(response)[:2000]
    for finding_id in ready["findings"]:
        response = client.post(url(world.case_a, "/actions"), data=action_data(finding_id))
        assert response.status_code == 302, text(response)[:2000]
    assert client.post(url(world.case_a, "/actions"), data=action_data()).status_code == 302


def review(client, session, case, endpoint: str, **data):
    """Staff's decision on the submitted version, with the token of what they looked at."""
    latest = versions(session, case)[0]
    prefix = "review" if endpoint == "approve" else "return"
    data = {f"{prefix}-seen": seen_token(latest)} | {f"{prefix}-{k}": v for k, v in data.items()}
    return client.post(url(case, f"/{endpoint}"), data=data)


def snapshot(session, case) -> list[tuple]:
    """Everything of every version, to check a refused request changed nothing."""
    return [
        (
            v.version,
            v.status,
            v.summary,
            v.further_service,
            tuple((a.what, a.owner, a.start_date, a.due_date, a.finding_id) for a in v.actions),
            tuple((r.target_id, r.new_target, r.new_date, r.reason) for r in v.revisions),
        )
        for v in versions(session, case)
    ]


def approved_v1(client, session, world, ready) -> None:
    draft_answering_all(client, world, ready)
    assert client.post(url(world.case_a, "/submit")).status_code == 302
    login(client, "staff")
    assert review(client, session, world.case_a, "approve").status_code == 302
    assert versions(session, world.case_a)[0].status == PlanStatus.APPROVED


# Before a diagnosis is accepted -----------------------------------------------------------------


def test_drafting_needs_an_accepted_diagnosis(client, world, session):
    login(client, "expert_a")
    page = client.get(url(world.case_a))
    assert page.status_code == 200
    assert "The follow-up plan is drafted once the diagnosis is accepted." in text(page)
    assert f'action="/cases/{world.case_a.id}/plan/actions"' not in text(page)
    response = client.post(url(world.case_a, "/actions"), data=action_data(), follow_redirects=True)
    assert "The follow-up plan is drafted once the diagnosis is accepted." in text(response)
    # No form is shown: a hand-made post, refused by the service.
    response = client.post(url(world.case_a, "/save"), data={"summary": "x", "edit_version": "0"})
    assert response.status_code == 302
    assert count(session, FollowUpPlan) == 0
    assert count(session, PlanAction) == 0


def test_opening_the_page_creates_no_version(client, world, session, ready):
    login(client, "expert_a")
    page = client.get(url(world.case_a))
    assert page.status_code == 200
    assert f'action="/cases/{world.case_a.id}/plan/actions"' in text(page)
    assert OBSERVATION_1 in text(page)
    assert count(session, FollowUpPlan) == 0


# Drafting ---------------------------------------------------------------------------------------


def test_lead_expert_drafts_the_plan(client, world, session, ready):
    draft_answering_all(client, world, ready)
    (plan,) = versions(session, world.case_a)
    assert (plan.version, plan.status) == (1, PlanStatus.DRAFT)
    assert plan.summary == "巩固整改成果，推进品牌培育"
    assert plan.further_service == "每季度回访一次"
    assert [a.finding_id for a in plan.actions] == [*ready["findings"], None]
    assert plan.actions[0].owner == "品牌部"
    assert plan.actions[0].due_date == date(2026, 9, 30)
    page = text(client.get(url(world.case_a)))
    assert page.count('data-answered="yes"') == 2
    assert 'data-answered="no"' not in page


def test_carried_findings_are_marked_answered_or_not(client, world, session, ready):
    login(client, "expert_a")
    client.post(url(world.case_a, "/actions"), data=action_data(ready["findings"][0]))
    page = text(client.get(url(world.case_a)))
    assert f'data-finding="{ready["findings"][0]}" data-answered="yes"' in page
    assert f'data-finding="{ready["findings"][1]}" data-answered="no"' in page
    assert "1 carried finding has no action answering it yet." in page


def test_non_lead_assigned_expert_reads_but_cannot_draft(client, world, session, ready):
    session.refresh(world.case_a, ["assignments"])
    assign_experts(
        session, None, world.case_a, [world.expert_a.id, world.expert_b.id], world.expert_a.id
    )
    session.commit()
    draft_answering_all(client, world, ready)
    login(client, "expert_b")
    page = client.get(url(world.case_a))
    assert page.status_code == 200
    assert ACTION in text(page)
    assert f'action="/cases/{world.case_a.id}/plan/actions"' not in text(page)
    before = snapshot(session, world.case_a)
    action_id = versions(session, world.case_a)[0].actions[0].id
    for tail, data in (
        ("/save", {"summary": "别人的"}),
        ("/actions", action_data()),
        (f"/actions/{action_id}/remove", {}),
        ("/revisions", revision_data(ready["target"])),
        ("/submit", {}),
        ("/new-version", {}),
    ):
        assert client.post(url(world.case_a, tail), data=data).status_code == 403, tail
    assert snapshot(session, world.case_a) == before


def test_staff_read_the_draft_but_do_not_write_it(client, world, session, ready):
    draft_answering_all(client, world, ready)
    before = snapshot(session, world.case_a)
    login(client, "staff")
    page = client.get(url(world.case_a))
    assert page.status_code == 200 and ACTION in text(page)
    assert (
        send(
            client,
            url(world.case_a, "/save"),
            page=url(world.case_a),
            name="edit_version",
            data={"summary": "改"},
        ).status_code
        == 403
    )
    assert client.post(url(world.case_a, "/actions"), data=action_data()).status_code == 403
    assert snapshot(session, world.case_a) == before


def test_firm_cannot_see_a_draft(client, world, session, ready):
    draft_answering_all(client, world, ready)
    login(client, "firm_a")
    assert client.get(url(world.case_a)).status_code == 404
    assert client.get(url(world.case_a, "/versions/1")).status_code == 404
    case_page = text(client.get(f"/cases/{world.case_a.id}"))
    assert 'id="follow-up-plan"' not in case_page
    assert ACTION not in case_page
    assert client.post(url(world.case_a, "/actions"), data=action_data()).status_code == 403
    login(client, "firm_b")
    assert client.get(url(world.case_a)).status_code == 404
    login(client, "expert_b")
    assert client.get(url(world.case_a)).status_code == 404


# Bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"action-due_date": "2026-06-30"}, "action-due_date", "cannot end before it starts"),
        ({"action-owner": "   "}, "action-owner", "Name who at the firm owns the action."),
        ({"action-what": ""}, "action-what", "Say what will be done."),
        ({"action-start_date": "2026-02-30"}, "action-start_date", "Not a valid date value"),
        ({"action-owner": "人" * 101}, "action-owner", "100 characters"),
        ({"action-finding_id": "abc"}, "action-finding_id", ""),
        ({"action-finding_id": "999999"}, "action-finding_id", "Not a valid choice"),
    ],
)
def test_bad_action_gets_a_field_message_and_saves_nothing(
    client, world, session, ready, overrides, field, message
):
    login(client, "expert_a")
    response = client.post(url(world.case_a, "/actions"), data=action_data(**overrides))
    assert response.status_code == 400
    page = text(response)
    assert re.search(rf'class="field has-error">\s*<label for="{field}"', page), page[:3000]
    assert message in page
    # Not even the version the first write would have opened.
    assert count(session, FollowUpPlan) == 0
    assert count(session, PlanAction) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"revision-new_target": "九十八"}, "revision-new_target", "Not a valid decimal value"),
        ({"revision-new_target": "NaN"}, "revision-new_target", "Enter a number."),
        ({"revision-new_target": "1e13"}, "revision-new_target", "The number is too large."),
        ({"revision-new_target": "98.123456"}, "revision-new_target", "4 decimal places"),
        ({"revision-new_target": ""}, "revision-new_target", "Give the proposed target value."),
        ({"revision-reason": ""}, "revision-reason", "Say why the target should change."),
        ({"revision-target_id": "0"}, "revision-target_id", "Choose one of the case"),
        ({"revision-new_date": "tomorrow"}, "revision-new_date", "Not a valid date value"),
    ],
)
def test_bad_revision_gets_a_field_message_and_saves_nothing(
    client, world, session, ready, overrides, field, message
):
    draft_answering_all(client, world, ready)
    response = client.post(
        url(world.case_a, "/revisions"), data=revision_data(ready["target"], **overrides)
    )
    assert response.status_code == 400
    page = text(response)
    assert re.search(rf'class="field has-error">\s*<label for="{field}"', page), page[:3000]
    assert message in page
    assert count(session, TargetRevision) == 0


def test_target_of_another_case_is_refused(client, world, session, ready):
    session.refresh(world.case_b, ["assignments"])
    assign_experts(session, None, world.case_b, [world.expert_a.id], world.expert_a.id)
    other = accepted_baseline(session, world.case_b, world.expert_a, world.staff, world.firm_user_b)
    login(client, "expert_a")
    response = client.post(url(world.case_a, "/revisions"), data=revision_data(other["target"]))
    assert response.status_code == 400
    assert "Not a valid choice" in text(response)
    assert count(session, FollowUpPlan) == 0


def test_overlong_text_is_refused(client, world, session, ready):
    login(client, "expert_a")
    response = send(
        client,
        url(world.case_a, "/save"),
        page=url(world.case_a),
        name="edit_version",
        data={"summary": "长" * 5001},
    )
    assert response.status_code == 400
    assert count(session, FollowUpPlan) == 0


# Target revisions -------------------------------------------------------------------------------


def test_revision_is_shown_against_the_accepted_target(client, world, session, ready):
    login(client, "expert_a")
    response = client.post(url(world.case_a, "/revisions"), data=revision_data(ready["target"]))
    assert response.status_code == 302, text(response)[:2000]
    # Proposing again for the same target replaces the proposal.
    client.post(
        url(world.case_a, "/revisions"),
        data=revision_data(ready["target"], **{"revision-new_target": "98.5"}),
    )
    (plan,) = versions(session, world.case_a)
    (revision,) = plan.revisions
    assert revision.new_target == Decimal("98.5")
    page = text(client.get(url(world.case_a)))
    row = re.search(r'<tr data-revision="\d+".*?</tr>', page, re.S).group(0)
    assert "95.2" in row and "97.5" in row and "2026-12-31" in row  # accepted
    assert "98.5" in row and "2027-03-31" in row  # proposed
    assert "新产线投产后检验能力提升" in row


def test_actions_and_revisions_can_be_removed_while_drafting(client, world, session, ready):
    draft_answering_all(client, world, ready)
    client.post(url(world.case_a, "/revisions"), data=revision_data(ready["target"]))
    plan = versions(session, world.case_a)[0]
    action_id, revision_id = plan.actions[-1].id, plan.revisions[0].id
    assert client.post(url(world.case_a, f"/actions/{action_id}/remove")).status_code == 302
    response = client.post(url(world.case_a, f"/revisions/{revision_id}/remove"))
    assert response.status_code == 302
    plan = versions(session, world.case_a)[0]
    assert len(plan.actions) == 2 and plan.revisions == []
    # Already gone: a message, not an error page.
    response = client.post(url(world.case_a, f"/actions/{action_id}/remove"), follow_redirects=True)
    assert "There is no such action in the version being drafted." in text(response)


# Submitting, returning, approving ---------------------------------------------------------------


def test_submit_is_refused_while_a_carried_finding_is_unanswered(client, world, session, ready):
    login(client, "expert_a")
    client.post(url(world.case_a, "/actions"), data=action_data(ready["findings"][0]))
    response = client.post(url(world.case_a, "/submit"), follow_redirects=True)
    assert "Every carried finding needs an action" in text(response)
    assert OBSERVATION_2 in text(response)
    assert versions(session, world.case_a)[0].status == PlanStatus.DRAFT


def test_submit_without_any_version_is_refused(client, world, session, ready):
    login(client, "expert_a")
    response = client.post(url(world.case_a, "/submit"), follow_redirects=True)
    assert "Add at least one action before submitting." in text(response)
    assert count(session, FollowUpPlan) == 0


def test_returned_fixed_resubmitted_and_approved_completes_stage_5(client, world, session, ready):
    draft_answering_all(client, world, ready)
    assert progress_of(session, world.case_a, DAY)["plan"].status == Status.IN_PROGRESS
    assert client.post(url(world.case_a, "/submit")).status_code == 302
    assert versions(session, world.case_a)[0].status == PlanStatus.SUBMITTED

    login(client, "staff")
    page = text(client.get(url(world.case_a)))
    assert 'id="review"' in page
    card = text(client.get(f"/cases/{world.case_a.id}"))
    assert "Version 1 submitted, waiting for approval." in card
    # A return needs a comment.
    response = review(client, session, world.case_a, "return", comment="  ")
    assert response.status_code == 400
    assert "Say what needs to change." in text(response)
    assert versions(session, world.case_a)[0].status == PlanStatus.SUBMITTED
    assert (
        review(client, session, world.case_a, "return", comment=RETURN_COMMENT).status_code == 302
    )
    assert versions(session, world.case_a)[0].status == PlanStatus.RETURNED

    login(client, "expert_a")
    page = text(client.get(url(world.case_a)))
    assert RETURN_COMMENT in page
    assert f"Version 1 returned: {RETURN_COMMENT}" in text(client.get(f"/cases/{world.case_a.id}"))
    response = send(
        client,
        url(world.case_a, "/save"),
        page=url(world.case_a),
        name="edit_version",
        data={
            "summary": "巩固整改成果",
            "further_service": "每季度回访，并于第三季度开展品牌知名度测量",
        },
    )
    assert response.status_code == 302
    assert client.post(url(world.case_a, "/submit")).status_code == 302

    login(client, "staff")
    assert review(client, session, world.case_a, "approve").status_code == 302
    (plan,) = versions(session, world.case_a)
    assert plan.status == PlanStatus.APPROVED
    assert plan.approved_by_id == world.staff.id and plan.approved_at is not None
    assert plan.further_service.endswith("开展品牌知名度测量")
    assert progress_of(session, world.case_a, DAY)["plan"].status == Status.DONE

    # The firm now reads the approved plan: on the case page and at its version's address.
    login(client, "firm_a")
    card = plan_card(text(client.get(f"/cases/{world.case_a.id}")))
    assert ACTION in card and "品牌部" in card and "2026-09-30" in card
    assert RETURN_COMMENT not in card
    response = client.get(url(world.case_a))
    assert response.status_code == 302 and response.headers["Location"].endswith("/versions/1")
    page = text(client.get(url(world.case_a, "/versions/1")))
    assert "Approved by" in page and "staff" in page


def test_a_stale_decision_is_refused(client, world, session, ready):
    draft_answering_all(client, world, ready)
    client.post(url(world.case_a, "/submit"))
    login(client, "staff")
    stale = {"review-seen": "1@"}
    response = client.post(url(world.case_a, "/approve"), data=stale, follow_redirects=True)
    assert "The plan changed since you opened it" in text(response)
    assert versions(session, world.case_a)[0].status == PlanStatus.SUBMITTED


def test_only_a_submitted_plan_can_be_approved_or_returned(client, world, session, ready):
    draft_answering_all(client, world, ready)
    login(client, "staff")
    response = client.post(url(world.case_a, "/approve"), follow_redirects=True)
    assert "Only a submitted plan can be approved." in text(response)
    response = client.post(
        url(world.case_a, "/return"), data={"return-comment": "x"}, follow_redirects=True
    )
    assert "Only a submitted plan can be returned." in text(response)
    assert versions(session, world.case_a)[0].status == PlanStatus.DRAFT
    login(client, "expert_a")
    assert client.post(url(world.case_a, "/approve")).status_code == 403


# Frozen versions --------------------------------------------------------------------------------


def _writes(session, case, ready) -> list[tuple[str, dict]]:
    plan = versions(session, case)[0]
    return [
        ("/save", {"summary": "改过的", "further_service": "改过的"}),
        ("/actions", action_data(ready["findings"][0], **{"action-what": "偷偷加的"})),
        (f"/actions/{plan.actions[0].id}/remove", {}),
        ("/revisions", revision_data(ready["target"])),
        *((f"/revisions/{r.id}/remove", {}) for r in plan.revisions),
        ("/submit", {}),
    ]


@pytest.mark.parametrize("status", [PlanStatus.SUBMITTED, PlanStatus.APPROVED])
def test_a_frozen_version_cannot_be_changed_by_anyone(client, world, session, ready, status):
    draft_answering_all(client, world, ready)
    client.post(url(world.case_a, "/revisions"), data=revision_data(ready["target"]))
    client.post(url(world.case_a, "/submit"))
    if status == PlanStatus.APPROVED:
        login(client, "staff")
        review(client, session, world.case_a, "approve")
    assert versions(session, world.case_a)[0].status == status
    before = snapshot(session, world.case_a)
    writes = _writes(session, world.case_a, ready)

    login(client, "expert_a")
    page = text(client.get(url(world.case_a)))
    assert f'action="/cases/{world.case_a.id}/plan/actions"' not in page
    for tail, data in writes:
        response = client.post(url(world.case_a, tail), data=data, follow_redirects=True)
        assert response.status_code == 200, tail
        assert "cannot be changed" in text(response), tail
    for who in ("staff", "admin"):
        login(client, who)
        for tail, data in writes:
            assert client.post(url(world.case_a, tail), data=data).status_code == 403, tail
    assert snapshot(session, world.case_a) == before
    if status == PlanStatus.APPROVED:
        # Approving twice or returning an approved version does nothing either.
        login(client, "staff")
        client.post(
            url(world.case_a, "/approve"),
            data={"review-seen": seen_token(versions(session, world.case_a)[0])},
        )
        client.post(url(world.case_a, "/return"), data={"return-comment": "再改"})
        assert snapshot(session, world.case_a) == before


def test_new_version_needs_approval_while_the_approved_one_stays_in_force(
    client, world, session, ready
):
    approved_v1(client, session, world, ready)
    login(client, "expert_a")
    # No new version while one is open: only after an approval.
    response = client.post(url(world.case_a, "/new-version"), follow_redirects=True)
    assert "started as a copy of the approved plan" in text(response)
    response = client.post(url(world.case_a, "/new-version"), follow_redirects=True)
    assert "Version 2 is already open for drafting." in text(response)
    v2, v1 = versions(session, world.case_a)
    assert (v2.version, v2.status, v1.status) == (2, PlanStatus.DRAFT, PlanStatus.APPROVED)
    assert [a.what for a in v2.actions] == [a.what for a in v1.actions]
    assert {a.id for a in v2.actions}.isdisjoint({a.id for a in v1.actions})

    # The lead changes the copy; v1 is untouched and still in force.
    send(
        client,
        url(world.case_a, "/save"),
        page=url(world.case_a),
        name="edit_version",
        data={"summary": "第二版方案", "further_service": ""},
    )
    client.post(
        url(world.case_a, "/actions"), data=action_data(**{"action-what": "第二版新增措施"})
    )
    v2, v1 = versions(session, world.case_a)
    assert v1.summary == "巩固整改成果，推进品牌培育" and len(v1.actions) == 3
    assert v2.summary == "第二版方案" and len(v2.actions) == 4
    page = text(client.get(url(world.case_a)))
    assert "Version 1, approved on" in page and "stays in force" in page
    assert progress_of(session, world.case_a, DAY)["plan"].status == Status.DONE

    # The firm still reads version 1, and nothing of version 2.
    login(client, "firm_a")
    card = text(client.get(f"/cases/{world.case_a.id}"))
    assert "巩固整改成果，推进品牌培育" in card and "第二版新增措施" not in card
    assert client.get(url(world.case_a, "/versions/2")).status_code == 404
    assert client.get(url(world.case_a, "/versions/1")).status_code == 200
    assert client.get(url(world.case_a, "/versions/3")).status_code == 404

    # Version 2 needs approval again; then it is the plan in force, v1 stays readable.
    login(client, "expert_a")
    assert client.post(url(world.case_a, "/submit")).status_code == 302
    login(client, "staff")
    assert review(client, session, world.case_a, "approve").status_code == 302
    login(client, "firm_a")
    card = text(client.get(f"/cases/{world.case_a.id}"))
    assert "第二版新增措施" in card
    old = text(client.get(url(world.case_a, "/versions/1")))
    assert "Replaced by version 2." in old and "第二版新增措施" not in old
    assert client.get(url(world.case_a)).headers["Location"].endswith("/versions/2")


def test_withdrawn_case_refuses_everything(client, world, session, ready):
    draft_answering_all(client, world, ready)
    client.post(url(world.case_a, "/submit"))
    withdraw_case(session, world.staff, world.case_a, "企业退出试点")
    session.commit()
    before = snapshot(session, world.case_a)
    login(client, "expert_a")
    assert client.get(url(world.case_a)).status_code == 200
    assert client.get(url(world.case_a, "/versions/1")).status_code == 200
    for tail, data in [*_writes(session, world.case_a, ready), ("/new-version", {})]:
        assert client.post(url(world.case_a, tail), data=data).status_code == 403, tail
    login(client, "staff")
    page = text(client.get(url(world.case_a)))
    assert 'id="review"' not in page
    assert review(client, session, world.case_a, "approve").status_code == 403
    assert review(client, session, world.case_a, "return", comment="x").status_code == 403
    assert snapshot(session, world.case_a) == before


# The case page ----------------------------------------------------------------------------------


def test_case_card_tells_experts_and_staff_where_the_plan_stands(client, world, session, ready):
    login(client, "expert_a")
    card = text(client.get(f"/cases/{world.case_a.id}"))
    assert f'href="/cases/{world.case_a.id}/plan"' in card and "Draft the plan" in card
    draft_answering_all(client, world, ready)
    card = text(client.get(f"/cases/{world.case_a.id}"))
    assert "Draft, version 1." in card
    login(client, "staff")
    card = text(client.get(f"/cases/{world.case_a.id}"))
    assert "Draft, version 1." in card and "Draft the plan" not in card
    login(client, "firm_a")
    assert 'id="follow-up-plan"' not in text(client.get(f"/cases/{world.case_a.id}"))


def test_plan_pages_queries_do_not_grow_with_actions(client, world, session, ready):
    draft_answering_all(client, world, ready)
    client.post(url(world.case_a, "/revisions"), data=revision_data(ready["target"]))

    def queries(path: str) -> int:
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        with client.application.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            assert client.get(path).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)
        return len(statements)

    paths = [url(world.case_a), url(world.case_a, "/versions/1")]
    few = [queries(p) for p in paths]
    for _ in range(3):
        client.post(url(world.case_a, "/actions"), data=action_data())
    assert [queries(p) for p in paths] == few


def test_firm_never_reads_the_return_comment(client, world, session, ready):
    draft_answering_all(client, world, ready)
    client.post(url(world.case_a, "/submit"))
    login(client, "staff")
    review(client, session, world.case_a, "return", comment=RETURN_COMMENT)
    login(client, "firm_a")
    assert RETURN_COMMENT not in text(client.get(f"/cases/{world.case_a.id}"))


def test_two_first_writes_at_once_keep_one_version(client, world, session, ready, monkeypatch):
    login(client, "expert_a")
    send(
        client,
        url(world.case_a, "/save"),
        page=url(world.case_a),
        name="edit_version",
        data={"summary": "先到的"},
    )
    # The second write saw no version yet, as if both were sent at the same moment.
    monkeypatch.setattr(plan_services, "versions_of", lambda session, case: [])
    response = client.post(url(world.case_a, "/actions"), data=action_data())
    monkeypatch.undo()
    assert response.status_code == 302
    assert "changed at the same moment" in text(client.get(url(world.case_a)))
    (plan,) = versions(session, world.case_a)
    assert plan.summary == "先到的" and plan.actions == []


# The services refuse on their own (no page in between) ------------------------------------------


def _approved_through_services(session, world, ready) -> FollowUpPlan:
    """Version 1 drafted, answering every carried finding, submitted and approved."""
    lead = world.expert_a
    v1 = plan_services.draft(session, lead, world.case_a)
    for finding_id in ready["findings"]:
        plan_services.add_action(
            session,
            lead,
            v1,
            plan_services.ActionInput(
                what=ACTION,
                owner="品牌部",
                start_date=date(2026, 7, 1),
                due_date=date(2026, 9, 30),
                finding_id=finding_id,
            ),
        )
    plan_services.submit(session, lead, v1)
    plan_services.approve(session, world.staff, v1)
    session.commit()
    return v1


def _every_write(session, world, ready, plan: FollowUpPlan) -> list:
    """Each service write to a plan version, as a call to make."""
    lead = world.expert_a
    action = plan.actions[0]
    revision_input = {
        "target_id": ready["target"],
        "new_target": Decimal("98"),
        "new_date": date(2027, 3, 31),
        "reason": "新产线投产",
    }
    return [
        lambda: plan_services.save_text(session, lead, plan, summary="改", further_service=""),
        lambda: plan_services.add_action(
            session,
            lead,
            plan,
            plan_services.ActionInput(
                what="新增", owner="品牌部", start_date=DAY, due_date=date(2026, 9, 30)
            ),
        ),
        lambda: plan_services.remove_action(session, lead, plan, action),
        lambda: plan_services.revise_target(session, lead, plan, **revision_input),
        lambda: plan_services.submit(session, lead, plan),
    ]


def test_service_draft_never_reopens_an_approved_version(session, world, ready):
    v1 = _approved_through_services(session, world, ready)
    with pytest.raises(plan_services.PlanError, match="Version 1 is approved"):
        plan_services.draft(session, world.expert_a, world.case_a)
    with pytest.raises(plan_services.PlanError, match="Version 1 is approved"):
        plan_services.open_version(session, world.case_a)
    session.rollback()
    assert [(p.version, p.status) for p in versions(session, world.case_a)] == [
        (v1.version, PlanStatus.APPROVED)
    ]


def test_service_refuses_every_write_to_an_approved_version(session, world, ready):
    v1 = _approved_through_services(session, world, ready)
    before = snapshot(session, world.case_a)
    for write in _every_write(session, world, ready, v1):
        with pytest.raises(plan_services.PlanError, match="Version 1 is approved"):
            write()
        session.rollback()
    with pytest.raises(plan_services.PlanError, match="approved"):
        plan_services.remove_revision(
            session, world.expert_a, v1, TargetRevision(target_id=ready["target"])
        )
    session.rollback()
    assert snapshot(session, world.case_a) == before


def test_service_refuses_every_write_to_a_submitted_version(session, world, ready):
    v1 = plan_services.draft(session, world.expert_a, world.case_a)
    for finding_id in ready["findings"]:
        plan_services.add_action(
            session,
            world.expert_a,
            v1,
            plan_services.ActionInput(
                what=ACTION,
                owner="品牌部",
                start_date=DAY,
                due_date=date(2026, 9, 30),
                finding_id=finding_id,
            ),
        )
    plan_services.submit(session, world.expert_a, v1)
    session.commit()
    before = snapshot(session, world.case_a)
    for write in _every_write(session, world, ready, v1):
        with pytest.raises(plan_services.PlanError, match="waiting for approval"):
            write()
        session.rollback()
    with pytest.raises(plan_services.PlanError, match="waiting for approval"):
        plan_services.start_new_version(session, world.expert_a, world.case_a)
    session.rollback()
    assert snapshot(session, world.case_a) == before


def test_service_starts_a_new_version_only_on_an_approved_one(session, world, ready):
    v1 = _approved_through_services(session, world, ready)
    v2 = plan_services.start_new_version(session, world.expert_a, world.case_a)
    session.commit()
    assert (v2.version, v2.status) == (2, PlanStatus.DRAFT)
    assert [a.what for a in v2.actions] == [a.what for a in v1.actions]
    assert plan_services.draft(session, world.expert_a, world.case_a).id == v2.id
    with pytest.raises(plan_services.PlanError, match="Version 2 is already open for drafting."):
        plan_services.start_new_version(session, world.expert_a, world.case_a)
    session.rollback()
    assert [p.version for p in versions(session, world.case_a)] == [2, 1]


def test_service_start_new_version_opens_version_one_when_there_is_none(session, world, ready):
    v1 = plan_services.start_new_version(session, world.expert_a, world.case_a)
    assert (v1.version, v1.status, v1.actions) == (1, PlanStatus.DRAFT, [])


def test_service_removes_only_an_action_of_the_version_given(session, world, ready):
    v1 = _approved_through_services(session, world, ready)
    v2 = plan_services.start_new_version(session, world.expert_a, world.case_a)
    session.commit()
    with pytest.raises(plan_services.PlanError, match="no such action"):
        plan_services.remove_action(session, world.expert_a, v2, v1.actions[0])
    session.rollback()
    assert len(versions(session, world.case_a)[1].actions) == len(ready["findings"])


def test_who_reads_a_plan_version(world, session):
    """Staff and the assigned experts read every version; the firm approved ones only (the
    status is set by hand: this is the rule alone, not the workflow)."""
    readers = ("staff", "expert_a", "expert_b", "firm_user_a", "firm_user_b")
    seen = {}
    for status in (
        PlanStatus.DRAFT,
        PlanStatus.SUBMITTED,
        PlanStatus.RETURNED,
        PlanStatus.APPROVED,
    ):
        version = FollowUpPlan(
            case_id=world.case_a.id, status=status, created_by_id=world.expert_a.id
        )
        seen[status] = {
            who
            for who in readers
            if can_read_plan_version(getattr(world, who), world.case_a, version)
        }
    assert seen == {
        PlanStatus.DRAFT: {"staff", "expert_a"},
        PlanStatus.SUBMITTED: {"staff", "expert_a"},
        PlanStatus.RETURNED: {"staff", "expert_a"},
        PlanStatus.APPROVED: {"staff", "expert_a", "firm_user_a"},
    }
