"""Who must act next (pilot.next_actions) on a fixed "today": the tasks of a case in every state
and whose turn each is, the tasks each role is given on the demo, the fixed number of queries,
and the home pages built on them (the board's "waiting on" column and quick filters, the
expert's tasks by firm, the firm's list of links)."""

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from pilot.accounts.models import User
from pilot.audit.models import AuditLog
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.cases.services import reopen_case
from pilot.database import today
from pilot.demo import DEMO_PASSWORD
from pilot.demo.data import FIRMS
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.next_actions import (
    CaseDetails,
    Kind,
    OpenItem,
    Party,
    PastSession,
    decide,
    open_tasks,
    tasks_for,
)
from pilot.permissions import case_query
from pilot.stages import CaseFacts, evaluate
from tests.conftest import login
from tests.test_stages import DUE, facts

DAY = DUE["diagnosis"] + timedelta(days=1)  # the survey and diagnosis stages are past due
F, L, E, S = Party.FIRM, Party.LEAD_EXPERT, Party.EXPERT, Party.STAFF


def after(*done: str, **changes) -> CaseFacts:
    """Facts with the named stages done (tests/test_stages.py), then the given changes."""
    f = facts(*done)
    f.open_items, f.sessions_required = 0, 0
    return replace(f, **changes)


def details(**changes) -> CaseDetails:
    return replace(CaseDetails("甲企业有限公司", has_lead=True, visit_logged=True), **changes)


ITEMS = [
    OpenItem(1, "质量目标未分解到班组", "open", date(2026, 4, 20)),
    OpenItem(2, "计量器具超期未检定", "in_progress", date(2026, 6, 20)),
    OpenItem(3, "投诉处理未形成闭环", "returned", date(2026, 5, 10)),
    OpenItem(4, "质量数据缺少统计分析", "submitted", date(2026, 5, 1)),
]
SESSIONS = [PastSession(7, "卓越绩效评价准则解读"), PastSession(8, "SPC与质量数据统计")]

#: name -> (stage facts, what else is on record, the tasks expected as (party, kind)).
STATES = {
    "new": (after(), details(visit_logged=False), [(F, Kind.FILL_SURVEY)]),
    "survey submitted": (
        after(survey_submitted=True),
        details(visit_logged=False),
        [(S, Kind.ANALYSE_SURVEY)],
    ),
    "survey done, no lead, no visit": (
        after("survey"),
        details(has_lead=False, visit_logged=False),
        [(S, Kind.ASSIGN_LEAD), (E, Kind.LOG_VISIT), (L, Kind.FILE_DIAGNOSIS)],
    ),
    "visit logged, diagnosis drafted": (
        after("survey"),
        details(unanswered_visits=[(11, date(2026, 3, 20))], diagnoses={"baseline": "draft"}),
        [(F, Kind.CONFIRM_VISIT), (L, Kind.FILE_DIAGNOSIS)],
    ),
    "diagnosis submitted": (
        after("survey", confirmed_visits=1),
        details(diagnoses={"baseline": "submitted"}),
        [(S, Kind.ACCEPT_DIAGNOSIS)],
    ),
    "diagnosis returned": (
        after("survey", confirmed_visits=1),
        details(diagnoses={"baseline": "returned"}),
        [(L, Kind.FIX_DIAGNOSIS)],
    ),
    "items, training and plan under way": (
        after("survey", "diagnosis", open_items=4, sessions_required=2),
        details(diagnoses={"baseline": "accepted"}, items=ITEMS, unrecorded_sessions=SESSIONS),
        [
            (F, Kind.WORK_ITEMS),
            (F, Kind.RESUBMIT_ITEM),
            (E, Kind.VERIFY_ITEM),
            (S, Kind.RECORD_ATTENDANCE),
            (L, Kind.DRAFT_PLAN),
        ],
    ),
    "plan submitted": (
        after("survey", "diagnosis", "rectification", "training"),
        details(diagnoses={"baseline": "accepted"}, plan_status="submitted"),
        [(S, Kind.APPROVE_PLAN)],
    ),
    "plan returned": (
        after("survey", "diagnosis", "rectification", "training"),
        details(diagnoses={"baseline": "accepted"}, plan_status="returned"),
        [(L, Kind.FIX_PLAN)],
    ),
    "evaluation opened": (
        after("survey", "diagnosis", "rectification", "training", "plan", targets=2),
        details(diagnoses={"baseline": "accepted"}, plan_status="approved", actuals_missing=2),
        [
            (E, Kind.ENTER_ACTUALS),
            (L, Kind.FILE_RESCORE),
            (F, Kind.RATE_SERVICE),
            (L, Kind.WRITE_ASSESSMENT),
        ],
    ),
    "actuals entered, re-scoring submitted, rated, assessed": (
        after(
            *("survey", "diagnosis", "rectification", "training", "plan"),
            targets=2,
            service_rated=True,
            assessment_written=True,
        ),
        details(diagnoses={"baseline": "accepted", "final": "submitted"}, actuals_unchecked=2),
        [(S, Kind.CHECK_ACTUALS), (S, Kind.ACCEPT_RESCORE)],
    ),
    "re-scoring returned": (
        after(*("survey", "diagnosis", "rectification", "training", "plan"), targets=1),
        details(diagnoses={"baseline": "accepted", "final": "returned"}),
        [(L, Kind.FIX_RESCORE), (F, Kind.RATE_SERVICE), (L, Kind.WRITE_ASSESSMENT)],
    ),
    "ready for the verdict": (
        after(
            *("survey", "diagnosis", "rectification", "training", "plan"),
            targets=1,
            checked_actuals=1,
            final_accepted=True,
            service_rated=True,
            assessment_written=True,
        ),
        details(diagnoses={"baseline": "accepted", "final": "accepted"}),
        [(S, Kind.GIVE_VERDICT)],
    ),
    "evaluation done": (facts(*DUE), details(), [(S, Kind.CLOSE_CASE)]),
    "closed": (replace(facts(*DUE), closed=True), details(), []),
    "withdrawn": (
        after("survey", withdrawn=True),
        details(unanswered_visits=[(11, date(2026, 3, 20))], diagnoses={"baseline": "submitted"}),
        [],
    ),
}


def test_each_state_of_a_case_gives_its_tasks_to_whose_turn_it_is(app):
    with app.test_request_context():
        for name, (case_facts, on_record, expected) in STATES.items():
            tasks = decide(case_facts, evaluate(case_facts, DAY), on_record, DAY)
            assert [(t.party, t.kind) for t in tasks] == expected, name
            for task in tasks:
                assert task.label and task.url.startswith("/"), name
                assert task.overdue == (task.due is not None and task.due < DAY), name

        # Due dates come from the stage (or the item) the task belongs to.
        case_facts, on_record, _ = STATES["items, training and plan under way"]
        tasks = {t.kind: t for t in decide(case_facts, evaluate(case_facts, DAY), on_record, DAY)}
        work = tasks[Kind.WORK_ITEMS]
        assert (work.count, work.due, work.overdue) == (2, date(2026, 4, 20), True)
        assert work.url.endswith("/items")
        resubmit = tasks[Kind.RESUBMIT_ITEM]
        assert (resubmit.due, resubmit.url) == (date(2026, 5, 10), "/items/3#returned")
        assert "投诉处理未形成闭环" in resubmit.label
        assert tasks[Kind.VERIFY_ITEM].due == DUE["rectification"]
        assert not tasks[Kind.VERIFY_ITEM].overdue
        attendance = tasks[Kind.RECORD_ATTENDANCE]
        assert (attendance.count, attendance.url) == (2, "/training/7#attendance")
        assert tasks[Kind.DRAFT_PLAN].due == DUE["plan"]

        case_facts, on_record, _ = STATES["new"]
        (survey,) = decide(case_facts, evaluate(case_facts, DAY), on_record, DAY)
        assert (survey.due, survey.overdue) == (DUE["survey"], True)
        early = DUE["survey"] - timedelta(days=1)
        (survey,) = decide(case_facts, evaluate(case_facts, early), on_record, early)
        assert not survey.overdue


def demo_user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def demo_cases(session) -> dict[str, Case]:
    """The demo's cases by firm name, with their firms and experts loaded."""
    return {c.firm.name: c for c in session.exec(case_query()).all()}


def test_each_role_is_given_what_waits_on_it_in_the_demo(session, demo_data):
    cases = demo_cases(session)
    on = today()
    by_case = open_tasks(session, cases.values(), on)
    # Closed (the first three) and withdrawn (the eighteenth) cases: nothing waits on anyone.
    for index in (0, 1, 2, 17):
        assert by_case[cases[FIRMS[index][0]].id] == []

    # The firm with items spread over the statuses: its own tasks, most overdue first.
    rectifying = cases[FIRMS[11][0]]
    firm_user = session.exec(select(User).where(User.firm_id == rectifying.firm_id)).first()
    mine = tasks_for(session, firm_user, on)
    assert [t.kind for t in mine] == [Kind.WORK_ITEMS, Kind.RESUBMIT_ITEM]
    assert all(t.party == Party.FIRM and t.overdue for t in mine)
    assert mine[0].due <= mine[1].due
    # A withdrawn firm has nothing to do.
    withdrawn = cases[FIRMS[17][0]]
    gone = session.exec(select(User).where(User.firm_id == withdrawn.firm_id)).first()
    assert tasks_for(session, gone, on) == []

    # Experts: the lead expert's tasks only where they lead, any assigned expert's everywhere.
    lead = rectifying.lead_expert
    second = next(a.expert for a in rectifying.assignments if not a.is_lead)
    for expert in (lead, second):
        tasks = tasks_for(session, expert, on)
        assigned = {a.case_id for a in expert_assignments(session, expert)}
        leading = {a.case_id for a in expert_assignments(session, expert) if a.is_lead}
        assert tasks and {t.case_id for t in tasks} <= assigned
        assert all(t.party == Party.EXPERT or t.case_id in leading for t in tasks)
        assert all(t.party in (Party.EXPERT, Party.LEAD_EXPERT) for t in tasks)
        assert [t.overdue for t in tasks] == sorted((t.overdue for t in tasks), reverse=True)
    assert any(t.kind == Kind.VERIFY_ITEM for t in tasks_for(session, second, on))

    # Staff: every running case's staff tasks (the submitted diagnosis, overdue, comes first).
    staff = tasks_for(session, demo_user(session, "staff1"), on)
    assert {t.party for t in staff} == {Party.STAFF}
    assert staff[0].kind == Kind.ACCEPT_DIAGNOSIS and staff[0].overdue
    assert {t.kind for t in staff} >= {Kind.APPROVE_PLAN, Kind.RECORD_ATTENDANCE}
    expected = [
        t for tasks in by_case.values() for t in tasks if t.party == Party.STAFF
    ]  # every staff task of the batch, none left out
    assert sorted(map(id_of, staff)) == sorted(map(id_of, expected))


def expert_assignments(session, expert):
    from pilot.cases.models import ExpertAssignment

    return session.exec(select(ExpertAssignment).where(ExpertAssignment.expert_id == expert.id))


def id_of(task) -> tuple:
    return (task.case_id, task.kind, tuple(task.values.items()))


def statements(session, run) -> int:
    count = [0]

    def counter(*args):
        count[0] += 1

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    return count[0]


def test_the_tasks_of_any_number_of_cases_take_a_fixed_number_of_queries(session, demo_data):
    cases = list(demo_cases(session).values())
    running = [c for c in cases if not c.is_read_only]
    one = statements(session, lambda: open_tasks(session, running[:1], today()))
    every = statements(session, lambda: open_tasks(session, cases, today()))
    assert one == every


def board_cases(client, query: str) -> set[int]:
    page = client.get(f"/?{query}").get_data(as_text=True)
    return {int(n) for n in re.findall(r'<tr data-case="(\d+)"', page)}


def test_the_boards_quick_filters_and_waiting_on_column(app, client, session, demo_data):
    cases = demo_cases(session)
    ids = {i: cases[row[0]].id for i, row in enumerate(FIRMS)}
    batch = session.exec(select(Batch)).one()
    login(client, "staff1", DEMO_PASSWORD)

    assert len(board_cases(client, f"batch={batch.id}")) == 20
    # Awaiting staff review: the submitted diagnosis and the submitted plan.
    assert board_cases(client, f"batch={batch.id}&show=review") == {ids[15], ids[5]}
    # Overdue: a stage past due (survey, diagnosis) or a task (items of the rectifying firms).
    overdue = {ids[i] for i in (11, 12, 13, 14, 15, 16, 18, 19)}
    assert board_cases(client, f"batch={batch.id}&show=overdue") == overdue
    # Filters combine: overdue cases whose current stage is the diagnosis.
    assert board_cases(client, f"batch={batch.id}&show=overdue&stage=diagnosis") == {
        ids[15],
        ids[16],
    }
    assert board_cases(client, f"batch={batch.id}&show=close") == set()

    page = client.get(f"/?batch={batch.id}").get_data(as_text=True)
    cell = re.search(rf'data-waiting="{ids[15]}">(.*?)</td>', page, re.S).group(1)
    assert 'data-party="staff"' in cell and 'data-party="firm"' in cell
    assert f'href="/cases/{ids[15]}/diagnosis/baseline#review"' in cell
    assert re.search(rf'data-waiting="{ids[0]}">\s*—', page)  # closed: nothing waits
    assert re.search(r'data-quick="review"[^>]*>[^<]*<b>2</b>', page)

    # A case reopened after its evaluation is ready to close again.
    reopen_case(session, demo_user(session, "staff1"), cases[FIRMS[0][0]], "补充归档材料")
    session.commit()
    assert board_cases(client, f"batch={batch.id}&show=close") == {ids[0]}

    # No activity: nothing logged on a running case for 14 days, measured by its audit log.
    later = date.today() + timedelta(days=30)
    app.config["TODAY"] = later.isoformat()
    running = {cid for cid in ids.values()} - {ids[i] for i in (1, 2, 17)}
    assert board_cases(client, f"batch={batch.id}&show=idle") == running
    recent = datetime.combine(later - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    session.add(AuditLog(case_id=ids[4], record_type="case", action="note", at=recent))
    session.commit()
    assert board_cases(client, f"batch={batch.id}&show=idle") == running - {ids[4]}


def test_the_expert_and_the_firm_see_their_tasks_as_links(client, session, demo_data):
    cases = demo_cases(session)
    rectifying = cases[FIRMS[11][0]]
    firm_user = session.exec(select(User).where(User.firm_id == rectifying.firm_id)).first()
    returned = next(t for t in tasks_for(session, firm_user, today()) if t.kind == "resubmit_item")
    login(client, firm_user.username, DEMO_PASSWORD)
    page = client.get("/").get_data(as_text=True)
    tasks = re.findall(r'<li class="task-(\w+)( late)?"', page)
    assert tasks == [("work_items", " late"), ("resubmit_item", " late")]
    assert f'href="/items/{returned.values["item_id"]}#returned"' in page
    client.post("/logout")

    lead = rectifying.lead_expert
    login(client, lead.username, DEMO_PASSWORD)
    page = client.get("/").get_data(as_text=True)
    groups = re.findall(r'<section class="task-group card" data-case="(\d+)">', page)
    mine = tasks_for(session, lead, today())
    # One group per firm, in the order of its most pressing task, overdue first.
    assert [int(g) for g in groups] == list(dict.fromkeys(t.case_id for t in mine))
    verify = sum(t.count for t in mine if t.kind == Kind.VERIFY_ITEM)
    assert f'data-total="verify">{verify}<' in page
    assert verify > 0
    assert firm_name_of(session, rectifying) in page
    client.post("/logout")

    # An expert of the withdrawn case: it stays in their firms, with nothing to do.
    withdrawn = cases[FIRMS[17][0]]
    login(client, withdrawn.lead_expert.username, DEMO_PASSWORD)
    page = client.get("/").get_data(as_text=True)
    row = re.search(rf'<tr data-case="{withdrawn.id}">(.*?)</tr>', page, re.S).group(1)
    assert 'data-open-tasks="0"' in row
    assert f'<section class="task-group card" data-case="{withdrawn.id}"' not in page


def firm_name_of(session, case) -> str:
    return session.get(Firm, case.firm_id).name


def test_every_task_in_the_demo_links_to_a_page_its_user_may_open(app, client, session, demo_data):
    with app.test_request_context():
        plan = {
            (user.username, task.kind): task.url
            for user in session.exec(select(User)).all()
            for task in tasks_for(session, user, today())
        }
    assert {kind for _, kind in plan} >= {
        Kind.FILL_SURVEY, Kind.CONFIRM_VISIT, Kind.ACCEPT_DIAGNOSIS, Kind.FIX_DIAGNOSIS,
        Kind.WORK_ITEMS, Kind.RESUBMIT_ITEM, Kind.VERIFY_ITEM, Kind.RECORD_ATTENDANCE,
        Kind.DRAFT_PLAN, Kind.FIX_PLAN, Kind.APPROVE_PLAN, Kind.ENTER_ACTUALS,
        Kind.FILE_RESCORE, Kind.RATE_SERVICE, Kind.WRITE_ASSESSMENT,
    }  # fmt: skip
    for username in sorted({username for username, _ in plan}):
        login(client, username, DEMO_PASSWORD)
        for (who, kind), url in plan.items():
            if who == username:
                path, _, anchor = url.partition("#")
                response = client.get(path)
                assert response.status_code == 200, (username, kind, url)
                if anchor:  # the part of the page where it is done
                    assert f'id="{anchor}"' in response.get_data(as_text=True), (username, url)
        client.post("/logout")
