"""Each role's home at `/`: staff's cohort board, the expert's firms, the firm's own case."""

from datetime import date, timedelta

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlmodel import select

from pilot.accounts.models import Role, User
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment
from pilot.cases.queries import case_rows, case_rows_query, last_activity
from pilot.database import local_zone, today
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.kept import kept_page
from pilot.next_actions import (
    DIAGNOSES_TO_FILE,
    PARTY_LABELS,
    PLANS_TO_FILE,
    TO_VERIFY,
    Task,
    by_party,
    progress_and_tasks,
    waiting_on,
)
from pilot.permissions import home_of, visible_cases_query
from pilot.rectification.queries import batch_counts, counts_by_case
from pilot.reference import district_choices, industry_choices
from pilot.security import record_id
from pilot.stages import CLOSED, STAGE_CODES, WITHDRAWN, Progress

bp = Blueprint("board", __name__)

SORTS = ("firm", "district", "industry", "stage", "overdue")
#: A running case with nothing recorded on it for this many days shows under "no activity".
IDLE_DAYS = 14
#: The board's quick filters (`?show=`), in the order they are offered.
QUICK_FILTERS = ("review", "close", "overdue", "idle")


#: How many rendered home pages each worker keeps (a 200-firm board is about 270 KB; the expert's
#: and the firm's homes a few KB).
KEPT_HOMES = 64


@bp.get("/")
@login_required
@kept_page("home", KEPT_HOMES)
def home():
    pages = {"board": board, "expert": expert_home, "firm": firm_home}
    return pages[home_of(current_user)]()


def board():
    batches = db.session.exec(select(Batch).order_by(Batch.start_date.desc())).all()
    batch = _chosen_batch(batches)
    return render_template("board/board.html", **_board(batches, batch))


def _board(batches: list[Batch], batch: Batch | None) -> dict:
    """What the board's content shows."""
    args = request.args
    rows = []
    item_counts, batch_items = {}, None
    counts = {code: 0 for code in STAGE_CODES}
    overdue_cases = 0
    waiting: dict[int, dict] = {}
    quick_counts = dict.fromkeys(QUICK_FILTERS, 0)
    experts = db.session.exec(
        select(User.id, User.display_name)
        .where(User.role == Role.EXPERT)
        .order_by(User.display_name)
    ).all()
    if batch:
        query = case_rows_query(visible_cases_query(current_user).where(Case.batch_id == batch.id))
        if args.get("district"):
            query = query.where(Firm.district == args["district"])
        if args.get("industry"):
            query = query.where(Firm.industry_code == args["industry"])
        if args.get("expert", type=record_id):
            query = query.where(
                Case.id.in_(
                    select(ExpertAssignment.case_id).where(
                        ExpertAssignment.expert_id == args.get("expert", type=record_id)
                    )
                )
            )
        cases = case_rows(db.session, query)
        states, tasks = progress_and_tasks(db.session, cases, today())
        activity = last_activity(db.session, [c.id for c in cases])
        idle_before = today() - timedelta(days=IDLE_DAYS)
        quick = args.get("show")
        for case in cases:
            state = states[case.id]
            if args.get("stage") and state.current != args["stage"]:
                continue
            shown_by = _quick_filters(state, tasks[case.id], activity[case.id], idle_before)
            for key in shown_by:
                quick_counts[key] += 1
            if quick in QUICK_FILTERS and quick not in shown_by:
                continue
            rows.append((case, state, tuple((s.status, s.due) for s in state.stages)))
            waiting[case.id] = by_party(tasks[case.id])
            for s in state.active_stages:
                counts[s.code] += 1
            overdue_cases += state.is_overdue
        rows.sort(key=_sort_key(args.get("sort", "firm")), reverse=args.get("dir") == "desc")
        item_counts = counts_by_case(db.session, [row[0].id for row in rows], today())
        batch_items = batch_counts(db.session, batch.id, today())
    districts, industries = district_choices(), industry_choices()
    return dict(
        batches=batches,
        batch=batch,
        rows=rows,
        counts=counts,
        overdue_cases=overdue_cases,
        item_counts=item_counts,
        batch_items=batch_items,
        severity_labels=SEVERITY_LABELS,
        experts=experts,
        districts=districts,
        industries=industries,
        district_names=dict(districts),
        industry_names=dict(industries),
        # Each distinct run of six stage cells, rendered once for every row that shows it.
        stage_runs={row[2]: row[1].stages for row in rows},
        current_codes=[*STAGE_CODES, CLOSED, WITHDRAWN],
        sort=args.get("sort", "firm"),
        waiting=waiting,
        quick_filters=QUICK_FILTERS,
        PARTY_LABELS=PARTY_LABELS,
        quick_counts=quick_counts,
        quick=args.get("show") if args.get("show") in QUICK_FILTERS else None,
        idle_days=IDLE_DAYS,
    )


def _quick_filters(state: Progress, tasks: list[Task], last_active, idle_before: date) -> set[str]:
    """The quick filters that show this case: awaiting staff's review (a diagnosis, a plan,
    actuals to check), ready to close, overdue (a stage or a task past its due date), and no
    activity (nothing in its log) for IDLE_DAYS days while it runs."""
    shown = set()
    if any(t.is_staff_review for t in tasks):
        shown.add("review")
    if state.ready_to_close:
        shown.add("close")
    if state.is_overdue or any(t.overdue for t in tasks):
        shown.add("overdue")
    if state.is_running and last_active.astimezone(local_zone()).date() <= idle_before:
        shown.add("idle")
    return shown


def _chosen_batch(batches: list[Batch]) -> Batch | None:
    wanted = request.args.get("batch", type=record_id)
    if wanted:
        batch = next((b for b in batches if b.id == wanted), None)
        if batch is None:
            abort(404)
        return batch
    return batches[0] if batches else None


def _sort_key(sort: str):
    order = {code: i for i, code in enumerate([*STAGE_CODES, CLOSED, WITHDRAWN])}
    keys = {
        "firm": lambda r: r[0].firm_name,
        "district": lambda r: (r[0].district, r[0].firm_name),
        "industry": lambda r: (r[0].industry_code, r[0].firm_name),
        "stage": lambda r: (order[r[1].current], r[0].firm_name),
        "overdue": lambda r: (not r[1].is_overdue, r[0].firm_name),
    }
    return keys.get(sort, keys["firm"])


def expert_home():
    cases = case_rows(db.session, case_rows_query(visible_cases_query(current_user)))
    states, tasks = progress_and_tasks(db.session, cases, today())
    leading = {c.id for c in cases if c.lead_expert_id == current_user.id}
    mine = waiting_on(current_user, tasks, leading)
    by_case = {c.id: c for c in cases}
    # One group per firm, in the order of its most pressing task (overdue first).
    groups: dict[int, list[Task]] = {}
    for task in mine:
        groups.setdefault(task.case_id, []).append(task)
    cases.sort(key=lambda c: (not states[c.id].is_overdue, c.batch_name, c.firm_name))
    return render_template(
        "board/expert_home.html",
        cases=cases,
        states=states,
        groups=[(by_case[case_id], group, _counts(group)) for case_id, group in groups.items()],
        totals=_counts(mine),
        open_counts={case_id: len(group) for case_id, group in groups.items()},
        current_codes=[*STAGE_CODES, CLOSED, WITHDRAWN],
    )


def _counts(tasks: list[Task]) -> dict[str, int]:
    """The expert home's counts: items to verify, diagnoses and plans to file, overdue tasks."""
    return {
        "verify": sum(t.count for t in tasks if t.kind in TO_VERIFY),
        "diagnoses": sum(1 for t in tasks if t.kind in DIAGNOSES_TO_FILE),
        "plans": sum(1 for t in tasks if t.kind in PLANS_TO_FILE),
        "overdue": sum(1 for t in tasks if t.overdue),
    }


def firm_home():
    cases = db.session.exec(
        visible_cases_query(current_user).join(Batch).order_by(Batch.start_date.desc())
    ).all()
    if not cases:
        return render_template("board/firm_home.html", case=None, cases=[], state=None, tasks=[])
    states, tasks = progress_and_tasks(db.session, cases, today())
    wanted = request.args.get("case", type=record_id)
    if wanted:
        case = next((c for c in cases if c.id == wanted), None)
        if case is None:
            abort(404)
    else:
        # The current case first: the newest one still running, else the newest.
        running = [c for c in cases if states[c.id].is_running]
        case = (running or cases)[0]
    return render_template(
        "board/firm_home.html",
        case=case,
        cases=cases,
        state=states[case.id],
        # What waits on the firm in every batch it is in (a batch named when there are several).
        tasks=waiting_on(current_user, tasks),
        batch_of={c.id: c.batch.name for c in cases} if len(cases) > 1 else {},
    )
