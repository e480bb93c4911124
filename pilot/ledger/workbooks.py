"""The workbooks: the ledger (台账) of a batch, a sheet per concern, and the downloads of the
board, the batch's results and its hours, each showing what its page shows."""

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from sqlmodel import Session

from pilot import reference
from pilot.batches.models import Batch
from pilot.diagnosis.forms import DIRECTION_LABELS
from pilot.diagnosis.labels import ROUND_LABELS
from pilot.diagnosis.labels import STATUS_LABELS as DIAGNOSIS_STATUS_LABELS
from pilot.diagnosis.services import DISPOSITION_LABELS, SEVERITY_LABELS
from pilot.evaluation.labels import ASPECT_LABELS
from pilot.evaluation.services import VERDICT_LABELS
from pilot.excel import Column, Kind, add_sheet, fraction
from pilot.firms import roster_workbooks
from pilot.ledger import queries
from pilot.plan.pages import STATUS_LABELS as PLAN_STATUS_LABELS
from pilot.rectification.services import ITEM_STATUS_LABELS
from pilot.stages import STAGES, STATUS_LABELS, current_label
from pilot.visits.services import VISIT_STATUS_LABELS

INT, D, ONE, P, DAY, AT = (
    Kind.INTEGER,
    Kind.DECIMAL,
    Kind.ONE_PLACE,
    Kind.PERCENT,
    Kind.DATE,
    Kind.DATETIME,
)


def _label(labels: dict, code) -> str | None:
    return str(labels[code]) if code in labels else code


def _yes(value: bool) -> str:
    return _("Yes") if value else _("No")


def _name(user) -> str | None:
    return user.display_name if user else None


def _stage_columns() -> list[Column]:
    columns = []
    for stage in STAGES:
        columns.append(
            Column(_("%(number)d. %(stage)s due", number=stage.number, stage=stage.label), DAY)
        )
        columns.append(Column(_("%(number)d. status", number=stage.number)))
    return columns


def _progress_sheet(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    counts = queries.item_counts(session, cases)
    columns = [
        Column(_("Firm")),
        Column(_("Credit code")),
        Column(_("District")),
        Column(_("Industry")),
        Column(_("Lead expert")),
        Column(_("Current stage")),
        *_stage_columns(),
        Column(_("Items"), INT),
        Column(_("Items closed"), INT),
        Column(_("Items overdue"), INT),
        Column(_("Closed on"), AT),
        Column(_("Withdrawn on"), AT),
    ]
    firms = queries.firm_details(session, cases)
    rows = []
    for case in cases.rows:
        state = cases.progress[case.id]
        stages = []
        for s in state.stages:
            stages += [s.due, str(STATUS_LABELS[s.status])]
        c = counts[case.id]
        rows.append(
            [
                case.firm_name,
                firms[case.firm_id].credit_code,
                reference.district_name(case.district),
                reference.industry_name(case.industry_code),
                case.lead_expert_name,
                current_label(state.current),
                *stages,
                c.total,
                c.closed,
                c.overdue,
                case.closed_at,
                case.withdrawn_at,
            ]
        )
    add_sheet(workbook, _("Stage progress"), columns, rows)


def _visits_sheets(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    columns = [
        Column(_("Firm")),
        Column(_("Visit date"), DAY),
        Column(_("Hours"), ONE),
        Column(_("Experts present")),
        Column(_("Firm participants")),
        Column(_("What was done")),
        Column(_("Status")),
        Column(_("Answered by")),
        Column(_("Answered at"), AT),
        Column(_("Comment")),
    ]
    rows = [
        [
            cases.firm(v.case_id),
            v.visit_date,
            v.hours,
            "、".join(experts),
            v.firm_participants,
            v.activities,
            _label(VISIT_STATUS_LABELS, v.status),
            _name(answered_by),
            v.answered_at,
            v.answer_comment,
        ]
        for v, experts, answered_by in queries.visits(session, cases)
    ]
    add_sheet(workbook, _("Visits"), columns, rows)
    columns = [
        Column(_("Firm")),
        Column(_("Expert")),
        Column(_("Date"), DAY),
        Column(_("Hours"), ONE),
        Column(_("Topic")),
        Column(_("Notes")),
    ]
    rows = [
        [cases.firm(r.case_id), expert, r.coached_on, r.hours, r.topic, r.notes]
        for r, expert in queries.coaching(session, cases)
    ]
    add_sheet(workbook, _("Coaching records"), columns, rows)
    hours_sheet(workbook, session, cases.batch)


def hours_sheet(workbook: Workbook, session: Session, batch: Batch) -> None:
    """The hours page: visit hours delivered (confirmed) and pending, per expert and per firm,
    against the hours bought."""
    from pilot.visits.queries import hours_summary

    summary = hours_summary(session, batch)
    bought: Decimal = summary["bought"] or Decimal(0)
    delivered: Decimal = summary["delivered"]
    columns = [
        Column(_("Kind")),
        Column(_("Name")),
        Column(_("Confirmed hours"), ONE),
        Column(_("Hours awaiting confirmation"), ONE),
        Column(_("Share of hours bought"), P),
    ]
    rows = []
    for kind, entries in ((_("Expert"), summary["experts"]), (_("Firm"), summary["firms"])):
        for entry in entries:
            share = entry.confirmed / bought if bought > 0 else None
            rows.append([kind, entry.label, entry.confirmed, entry.pending, share])
    rows.append(
        [
            _("Total"),
            _("Expert hours delivered"),
            delivered,
            None,
            delivered / bought if bought > 0 else None,
        ]
    )
    rows.append([_("Total"), _("Expert hours bought"), bought, None, None])
    add_sheet(
        workbook,
        _("Service hours"),
        columns,
        rows,
        note=_("%(batch)s: expert hours delivered against the hours bought.", batch=batch.name),
    )


def _scores_sheet(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    columns = [
        Column(_("Firm")),
        Column(_("Framework")),
        Column(_("Category")),
        Column(_("Points"), ONE),
        Column(_("Baseline score"), ONE),
        Column(_("Baseline share"), P),
        Column(_("Baseline status")),
        Column(_("Final score"), ONE),
        Column(_("Final share"), P),
        Column(_("Final status")),
        Column(_("Change"), ONE),
    ]

    def share(score, maximum):
        return score / maximum if score is not None and maximum else None

    rows = []
    for r in queries.scores(session, cases):
        category = f"{r.code} {r.category}" if r.category else _("Total")
        change = r.final - r.baseline if r.final is not None and r.baseline is not None else None
        rows.append(
            [
                cases.firm(r.case_id),
                r.framework,
                category,
                r.max,
                r.baseline,
                share(r.baseline, r.max),
                _label(DIAGNOSIS_STATUS_LABELS, r.baseline_status),
                r.final,
                share(r.final, r.max),
                _label(DIAGNOSIS_STATUS_LABELS, r.final_status),
                change,
            ]
        )
    add_sheet(workbook, _("Scores"), columns, rows)


def _findings_sheets(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    columns = [
        Column(_("Firm")),
        Column(_("Round")),
        Column(_("Diagnosis status")),
        Column(_("Clause")),
        Column(_("Severity")),
        Column(_("Disposition")),
        Column(_("Finding")),
    ]
    rows = [
        [
            cases.firm(case_id),
            _label(ROUND_LABELS, round_),
            _label(DIAGNOSIS_STATUS_LABELS, status),
            f"{code} {name}",
            _label(SEVERITY_LABELS, f.severity),
            _label(DISPOSITION_LABELS, f.disposition) if f.disposition else None,
            f.description,
        ]
        for f, case_id, round_, status, code, name in queries.findings(session, cases)
    ]
    add_sheet(workbook, _("Findings"), columns, rows)
    columns = [
        Column(_("Firm")),
        Column(_("Item")),
        Column(_("Clause")),
        Column(_("Severity")),
        Column(_("Due"), DAY),
        Column(_("Status")),
        Column(_("Overdue")),
        Column(_("Root cause")),
        Column(_("Corrective measure")),
        Column(_("Owner at the firm")),
        Column(_("Submitted at"), AT),
        Column(_("Verified by")),
        Column(_("Verified at"), AT),
        Column(_("Reason (returned or waived)")),
        Column(_("Unfinished at closing")),
    ]
    rows = []
    for entry in queries.items(session, cases):
        item = entry["item"]
        owner = " ".join(x for x in (item.owner_dept, item.owner_name) if x)
        rows.append(
            [
                cases.firm(item.case_id),
                item.description,
                entry["clause"],
                _label(SEVERITY_LABELS, item.severity),
                item.due_date,
                _label(ITEM_STATUS_LABELS, item.status),
                _yes(entry["overdue"]),
                item.root_cause,
                item.measure,
                owner,
                item.submitted_at,
                _name(entry["verified_by"]),
                item.verified_at,
                item.reason,
                _yes(item.unfinished_at_closing),
            ]
        )
    add_sheet(workbook, _("Rectification items"), columns, rows)


def _training_sheet(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    from pilot.training.times import local

    columns = [
        Column(_("Session")),
        Column(_("Starts at"), AT),
        Column(_("Hours"), ONE),
        Column(_("Place")),
        Column(_("Trainer")),
        Column(_("Firm")),
        Column(_("Invited")),
        Column(_("Attendees"), INT),
        Column(_("Names")),
    ]
    rows = []
    for entry in queries.attendance(session, cases):
        training, record = entry["session"], entry["attendance"]
        rows.append(
            [
                training.topic,
                local(training.starts_at),
                training.hours,
                training.place,
                training.trainer,
                cases.firm(entry["case_id"]),
                _yes(entry["invited"]),
                record.count if record else 0,
                record.names if record else None,
            ]
        )
    add_sheet(workbook, _("Training attendance"), columns, rows)


def _targets_sheet(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    columns = [
        Column(_("Firm")),
        Column(_("Target")),
        Column(_("Unit")),
        Column(_("Direction")),
        Column(_("Baseline"), D),
        Column(_("Target value"), D),
        Column(_("Target date"), DAY),
        Column(_("Diagnosis status")),
        Column(_("Actual"), D),
        Column(_("Period")),
        Column(_("Checked at"), AT),
        Column(_("Achievement"), P),
        Column(_("Met")),
    ]
    rows = []
    for entry in queries.targets(session, cases):
        target, actual, reached = entry["target"], entry["actual"], entry["reached"]
        rows.append(
            [
                cases.firm(target.case_id),
                target.name,
                target.unit,
                _label(DIRECTION_LABELS, target.direction),
                target.baseline,
                target.target,
                target.target_date,
                _label(DIAGNOSIS_STATUS_LABELS, entry["status"]),
                actual.actual if actual else None,
                actual.period if actual else None,
                actual.checked_at if actual else None,
                fraction(reached.percent) if reached else None,
                _yes(reached.met) if reached else None,
            ]
        )
    add_sheet(workbook, _("Work targets"), columns, rows)


def _plans_sheet(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    columns = [
        Column(_("Firm")),
        Column(_("Version"), INT),
        Column(_("Status")),
        Column(_("Drafted by")),
        Column(_("Created at"), AT),
        Column(_("Submitted at"), AT),
        Column(_("Approved by")),
        Column(_("Approved at"), AT),
        Column(_("Actions"), INT),
        Column(_("Target revisions"), INT),
        Column(_("Return comment")),
    ]
    rows = [
        [
            cases.firm(e["plan"].case_id),
            e["plan"].version,
            _label(PLAN_STATUS_LABELS, e["plan"].status),
            _name(e["drafted_by"]),
            e["plan"].created_at,
            e["plan"].submitted_at,
            _name(e["approved_by"]),
            e["plan"].approved_at,
            e["actions"],
            e["revisions"],
            e["plan"].return_comment,
        ]
        for e in queries.plans(session, cases)
    ]
    add_sheet(workbook, _("Follow-up plans"), columns, rows)


def _ratings_sheet(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    columns = [
        Column(_("Firm")),
        Column(_("Rated")),
        *(Column(str(label), INT) for label in ASPECT_LABELS.values()),
        Column(_("Average"), ONE),
        Column(_("Comment")),
        Column(_("Rated at"), AT),
        Column(_("Rated for the firm, because")),
    ]
    rows = [
        [
            cases.firm(r.case_id),
            expert.display_name if expert else _("The service overall"),
            r.professionalism,
            r.timeliness,
            r.usefulness,
            r.average,
            r.comment,
            r.rated_at,
            r.on_behalf_reason,
        ]
        for r, expert in queries.ratings(session, cases)
    ]
    add_sheet(workbook, _("Service ratings"), columns, rows)


def _verdicts_sheet(workbook: Workbook, session: Session, cases: queries.LedgerCases) -> None:
    evaluations, people = queries.evaluations(session, cases)
    columns = [
        Column(_("Firm")),
        Column(_("Verdict")),
        Column(_("Grounds")),
        Column(_("Verdict by")),
        Column(_("Verdict at"), AT),
        Column(_("Closing assessment")),
        Column(_("Assessed by")),
        Column(_("Assessed at"), AT),
        Column(_("Closed on"), AT),
    ]
    rows = []
    for case in cases.rows:
        e = evaluations.get(case.id)
        rows.append(
            [
                case.firm_name,
                _label(VERDICT_LABELS, e.verdict) if e and e.verdict else None,
                e.verdict_comment if e else None,
                _name(people.get(e.verdict_by_id)) if e else None,
                e.verdict_at if e else None,
                e.assessment if e else None,
                _name(people.get(e.assessed_by_id)) if e else None,
                e.assessed_at if e else None,
                case.closed_at,
            ]
        )
    add_sheet(workbook, _("Verdicts"), columns, rows)


def ledger(session: Session, batch: Batch, day: date) -> Workbook:
    """The batch's ledger: the firm roster (importable again), then a sheet per concern."""
    cases = queries.ledger_cases(session, batch, day)
    workbook = Workbook()
    workbook.remove(workbook.active)
    firms = queries.firm_details(session, cases)
    roster_workbooks.roster_sheet(
        workbook, roster_workbooks.roster_rows(firms[c.firm_id] for c in cases.rows)
    )
    for build in (
        _progress_sheet,
        _visits_sheets,
        _scores_sheet,
        _findings_sheets,
        _training_sheet,
        _targets_sheet,
        _plans_sheet,
        _ratings_sheet,
        _verdicts_sheet,
    ):
        build(workbook, session, cases)
    workbook.active = 0
    return workbook
