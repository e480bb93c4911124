"""Excel downloads: a batch's ledger, and the board, the batch's results and its hours as their
pages show them (the board with its filters)."""

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import login_required
from openpyxl import Workbook
from sqlmodel import select

from pilot import reference
from pilot.batches.models import Batch
from pilot.board.views import _board, _chosen_batch
from pilot.database import today
from pilot.evaluation.batch_results import batch_results
from pilot.evaluation.labels import ASPECT_LABELS
from pilot.evaluation.services import VERDICT_LABELS
from pilot.excel import Column, Kind, add_sheet, download, fraction, stamp
from pilot.extensions import db
from pilot.ledger.workbooks import hours_sheet, ledger
from pilot.permissions import require
from pilot.stages import STAGES, STATUS_LABELS, current_label

bp = Blueprint("ledger", __name__)


def _filename(kind: str, batch: Batch) -> str:
    return f"{kind}-{batch.name}-{stamp(today())}.xlsx"


@bp.get("/batches/<int:batch_id>/ledger.xlsx")
@login_required
@require("export_ledger")
def batch_ledger(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    return download(ledger(db.session, batch, today()), _filename(_("ledger"), batch))


@bp.get("/board.xlsx")
@login_required
@require("export_ledger")
def board():
    """The cohort board's rows, with the filters and the order of its query string."""
    batches = db.session.exec(select(Batch).order_by(Batch.start_date.desc())).all()
    batch = _chosen_batch(batches)
    workbook = Workbook()
    columns = [
        Column(_("Firm")),
        Column(_("District")),
        Column(_("Industry")),
        Column(_("Lead expert")),
        Column(_("Current stage")),
    ]
    for stage in STAGES:
        columns += [
            Column(f"{stage.number}. {stage.label}"),
            Column(_("%(number)d. due", number=stage.number), Kind.DATE),
        ]
    columns += [
        Column(_("Items open"), Kind.INTEGER),
        Column(_("Items submitted"), Kind.INTEGER),
        Column(_("Items returned"), Kind.INTEGER),
        Column(_("Items overdue"), Kind.INTEGER),
        Column(_("Overdue")),
    ]
    rows = []
    if batch is not None:
        shown = _board(batches, batch)
        for case, state, _runs in shown["rows"]:
            counts = shown["item_counts"][case.id]
            stages = []
            for s in state.stages:
                stages += [str(STATUS_LABELS[s.status]), s.due]
            rows.append(
                [
                    case.firm_name,
                    reference.district_name(case.district),
                    reference.industry_name(case.industry_code),
                    case.lead_expert_name,
                    current_label(state.current),
                    *stages,
                    counts.open,
                    counts.submitted,
                    counts.returned,
                    counts.overdue,
                    _("Yes") if state.is_overdue else _("No"),
                ]
            )
    note = _filters_note(batch)
    add_sheet(workbook, _("Cohort board"), columns, rows, note=note)
    name = batch.name if batch else "-"
    return download(workbook, f"{_('board')}-{name}-{stamp(today())}.xlsx")


def _filters_note(batch: Batch | None) -> str:
    """The batch and the filters the download applied, in words."""
    if batch is None:
        return _("No batch yet.")
    parts = [batch.name]
    args = request.args
    if args.get("district"):
        parts.append(reference.district_name(args["district"]))
    if args.get("industry"):
        parts.append(reference.industry_name(args["industry"]))
    if args.get("stage"):
        parts.append(current_label(args["stage"]) if _known_stage(args["stage"]) else args["stage"])
    if args.get("expert"):
        parts.append(_("expert filter applied"))
    return " · ".join(parts)


def _known_stage(code: str) -> bool:
    try:
        current_label(code)
    except KeyError:
        return False
    return True


@bp.get("/batches/<int:batch_id>/results.xlsx")
@login_required
@require("view_expert_ratings")
def results(batch_id: int):
    """The batch's results page: per case, the scores before and after, the ratings and the
    cases still open."""
    batch = db.get_or_abort(Batch, batch_id)
    shown = batch_results(batch)
    workbook = Workbook()
    columns = [
        Column(_("Firm")),
        Column(_("Targets")),
        Column(_("Targets met"), Kind.INTEGER),
        Column(_("Targets set"), Kind.INTEGER),
        Column(_("Average achievement"), Kind.PERCENT),
        Column(_("Before → after")),
        Column(_("Verdict")),
        Column(_("State")),
    ]
    rows = []
    for r in shown["cases"]:
        change = "；".join(f"{c.name} {c.before:.1f} → {c.after:.1f}" for c in r.changes)
        verdict = str(VERDICT_LABELS[r.verdict]) if r.verdict in VERDICT_LABELS else None
        state = r.progress.current
        rows.append(
            [
                r.case.firm_name,
                f"{r.met} / {r.targets}",
                r.met,
                r.targets,
                fraction(r.average),
                change or None,
                verdict if r.counted else None,
                current_label(state),
            ]
        )
    rows.append(
        [
            _("All counted cases"),
            f"{shown['met']} / {shown['targets']}",
            shown["met"],
            shown["targets"],
            fraction(shown["average"]),
            None,
            None,
            None,
        ]
    )
    add_sheet(workbook, _("Achievement per case"), columns, rows, note=batch.name)
    columns = [
        Column(_("Framework")),
        Column(_("Category")),
        Column(_("Points"), Kind.ONE_PLACE),
        Column(_("Before"), Kind.ONE_PLACE),
        Column(_("After"), Kind.ONE_PLACE),
        Column(_("Change"), Kind.ONE_PLACE),
        Column(_("Cases"), Kind.INTEGER),
    ]
    rows = []
    for change in shown["averages"]:
        for c in change.categories:
            rows.append(
                [
                    change.name,
                    f"{c.code} {c.name}",
                    c.max,
                    c.before,
                    c.after,
                    c.after - c.before,
                    change.cases,
                ]
            )
        rows.append(
            [
                change.name,
                _("Total"),
                change.max,
                change.before,
                change.after,
                change.difference,
                change.cases,
            ]
        )
    add_sheet(workbook, _("Scores before and after"), columns, rows)
    columns = [
        Column(_("Rated")),
        *(Column(str(v), Kind.ONE_PLACE) for v in ASPECT_LABELS.values()),
        Column(_("Average"), Kind.ONE_PLACE),
        Column(_("Ratings"), Kind.INTEGER),
    ]
    rows = []
    summaries = [(_("The service overall"), shown["overall_rating"])] + [
        (row.expert.display_name if row.expert else "—", row.summary) for row in shown["experts"]
    ]
    for label, summary in summaries:
        if summary is None:
            continue
        rows.append(
            [label, *(summary.aspect(a) for a in ASPECT_LABELS), summary.average, summary.count]
        )
    add_sheet(workbook, _("Service ratings"), columns, rows)
    columns = [
        Column(_("Firm")),
        Column(_("Current stage")),
        Column(_("Due"), Kind.DATE),
        Column(_("Why it is not closed")),
    ]
    rows = [
        [
            r.case.firm_name,
            current_label(r.progress.current),
            r.progress[r.progress.current].due,
            "\n".join(str(line) for line in r.why),
        ]
        for r in shown["open_cases"]
    ]
    add_sheet(workbook, _("Cases still open"), columns, rows)
    return download(workbook, _filename(_("results"), batch))


@bp.get("/batches/<int:batch_id>/hours.xlsx")
@login_required
@require("view_service_hours")
def hours(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    workbook = Workbook()
    hours_sheet(workbook, db.session, batch)
    return download(workbook, _filename(_("hours"), batch))
