"""The ledger (台账) and the pages' Excel downloads, opened with openpyxl and checked against the
database."""

from datetime import datetime
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from sqlmodel import func, select

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import local_zone, today
from pilot.diagnosis import scoring
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round, WorkTarget
from pilot.evaluation.models import KpiActual
from pilot.evaluation.services import achievement
from pilot.excel import to_bytes
from pilot.firms import roster
from pilot.firms.models import Firm
from pilot.ledger.workbooks import ledger
from pilot.rectification.models import RectificationItem
from pilot.stages import progress
from pilot.visits.models import Visit
from tests.conftest import login

SHEETS = [
    roster.SHEET,
    "Stage progress",
    "Visits",
    "Coaching records",
    "Service hours",
    "Scores",
    "Findings",
    "Rectification items",
    "Training attendance",
    "Work targets",
    "Follow-up plans",
    "Service ratings",
    "Verdicts",
]


def header(sheet, row: int = 1) -> list:
    return [c.value for c in sheet[row]]


def records(sheet, first: int = 2) -> list[dict]:
    """The sheet's rows as dicts by header."""
    names = header(sheet, first - 1)
    return [
        dict(zip(names, r, strict=True)) for r in sheet.iter_rows(min_row=first, values_only=True)
    ]


def local(moment: datetime) -> datetime:
    """The bureau's wall-clock time to the second, as the workbooks give it."""
    return moment.astimezone(local_zone()).replace(tzinfo=None, microsecond=0)


def demo_ledger(session):
    batch = session.exec(select(Batch)).one()
    return batch, load_workbook(BytesIO(to_bytes(ledger(session, batch, today()))))


# The demo batch's ledger is built once per test below (a copy of the demo costs a second or
# two); each check reads one concern of it against the database.


def test_the_ledgers_sheets_stages_roster_visits_and_hours_match_the_database(session, demo_data):
    built = demo_ledger(session)
    check_sheets_with_frozen_filtered_headers(built)
    check_stage_progress_holds_every_due_date_and_status(session, built)
    check_roster_lists_the_batchs_firms(session, built)
    check_visits_and_hours(session, built)


def test_the_ledgers_items_targets_and_scores_match_the_database(session, demo_data):
    built = demo_ledger(session)
    check_every_item_is_a_row_with_severity_due_status_and_verification(session, built)
    check_work_targets_carry_numbers_and_achievement_as_a_percentage(session, built)
    check_scores_are_the_diagnosis_totals_per_framework(session, built)


def check_sheets_with_frozen_filtered_headers(demo_ledger):
    _batch, workbook = demo_ledger
    assert workbook.sheetnames == SHEETS
    for sheet in workbook.worksheets:
        first = 2 if sheet.title == "Service hours" else 1
        assert sheet.freeze_panes in (f"A{first + 1}", "C2"), sheet.title
        assert sheet.auto_filter.ref.startswith(f"A{first}:"), sheet.title
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[first]]
        assert all(w and w >= 8 for w in widths), sheet.title


def check_stage_progress_holds_every_due_date_and_status(session, demo_ledger):
    batch, workbook = demo_ledger
    cases = session.exec(select(Case).where(Case.batch_id == batch.id)).all()
    states = progress(session, cases, today())
    rows = {r["Firm"]: r for r in records(workbook["Stage progress"])}
    assert len(rows) == len(cases) == 20
    for case in cases:
        row = rows[case.firm.name]
        assert row["Credit code"] == case.firm.credit_code
        assert row["1. Needs survey and analysis due"] == datetime.combine(
            case.survey_due, datetime.min.time()
        )
        assert row["6. status"] == str(
            {
                "not_started": "Not started",
                "in_progress": "In progress",
                "done": "Done",
                "overdue": "Overdue",
            }[states[case.id]["evaluation"].status]
        )
        if case.closed_at:
            assert row["Closed on"] == local(case.closed_at)
    cell = workbook["Stage progress"]["G2"]
    assert cell.is_date and cell.number_format == "yyyy-mm-dd"


def check_every_item_is_a_row_with_severity_due_status_and_verification(session, demo_ledger):
    batch, workbook = demo_ledger
    items = session.exec(
        select(RectificationItem)
        .join(Case, Case.id == RectificationItem.case_id)
        .where(Case.batch_id == batch.id)
    ).all()
    sheet = workbook["Rectification items"]
    rows = records(sheet)
    assert len(rows) == len(items) > 0
    by_text = {(r["Firm"], r["Item"]): r for r in rows}
    verified = [i for i in items if i.verified_at]
    assert verified
    for item in items:
        firm = session.get(Firm, session.get(Case, item.case_id).firm_id)
        row = by_text[(firm.name, item.description)]
        assert row["Due"].date() == item.due_date
        assert row["Severity"] in ("Severe", "General")
        if item.verified_at:
            assert row["Verified at"] == local(item.verified_at)
            assert row["Verified by"]
    due_column = header(sheet).index("Due") + 1
    assert sheet.cell(2, due_column).is_date


def check_work_targets_carry_numbers_and_achievement_as_a_percentage(session, demo_ledger):
    batch, workbook = demo_ledger
    sheet = workbook["Work targets"]
    rows = records(sheet)
    targets = session.exec(
        select(WorkTarget, KpiActual)
        .join(Case, Case.id == WorkTarget.case_id)
        .join(KpiActual, KpiActual.target_id == WorkTarget.id, isouter=True)
        .where(Case.batch_id == batch.id)
    ).all()
    assert len(rows) == len(targets)
    checked = [(t, a) for t, a in targets if a is not None]
    assert checked
    column = header(sheet).index("Achievement") + 1
    for target, actual in sorted(checked, key=lambda p: p[0].id)[:5]:
        matching = [
            r
            for r in rows
            if r["Target"] == target.name
            and r["Actual"] is not None
            and Decimal(str(r["Actual"])) == actual.actual
        ]
        assert matching
        expected = achievement(target.direction, target.baseline, target.target, actual.actual)
        assert any(
            abs(Decimal(str(r["Achievement"])) - expected.percent / 100) < Decimal("0.0000001")
            for r in matching
        )
    formats = {sheet.cell(n, column).number_format for n in range(2, sheet.max_row + 1)}
    assert formats == {"0.0%"}
    target_column = header(sheet).index("Target value") + 1
    assert isinstance(sheet.cell(2, target_column).value, int | float)


def check_scores_are_the_diagnosis_totals_per_framework(session, demo_ledger):
    batch, workbook = demo_ledger
    diagnosis = session.exec(
        select(Diagnosis)
        .join(Case, Case.id == Diagnosis.case_id)
        .where(Case.batch_id == batch.id, Diagnosis.round == Round.FINAL)
        .where(Diagnosis.status == DiagnosisStatus.ACCEPTED)
    ).first()
    firm = session.get(Case, diagnosis.case_id).firm
    from pilot.diagnosis.services import frameworks_of

    results = scoring.framework_results(frameworks_of(session, diagnosis), diagnosis)
    rows = [
        r
        for r in records(workbook["Scores"])
        if r["Firm"] == firm.name and r["Category"] == "Total"
    ]
    assert {r["Framework"]: round(r["Final score"], 6) for r in rows} == {
        res.name: round(float(res.total), 6) for res in results
    }
    for r in rows:
        assert r["Final status"] == "Accepted"
        assert abs(r["Final share"] - r["Final score"] / r["Points"]) < 1e-9


def check_visits_and_hours(session, demo_ledger):
    batch, workbook = demo_ledger
    visits = session.exec(
        select(Visit).join(Case, Case.id == Visit.case_id).where(Case.batch_id == batch.id)
    ).all()
    rows = records(workbook["Visits"])
    assert len(rows) == len(visits)
    assert sum(Decimal(str(r["Hours"])) for r in rows) == sum(v.hours for v in visits)
    hours = workbook["Service hours"]
    assert hours["A1"].value.startswith(batch.name)
    bought = [r for r in records(hours, 3) if r["Name"] == "Expert hours bought"]
    assert Decimal(str(bought[0]["Confirmed hours"])) == batch.expert_hours_bought


def check_roster_lists_the_batchs_firms(session, demo_ledger):
    batch, workbook = demo_ledger
    codes = {r["统一社会信用代码"] for r in records(workbook[roster.SHEET])}
    expected = set(
        session.exec(
            select(Firm.credit_code)
            .join(Case, Case.firm_id == Firm.id)
            .where(Case.batch_id == batch.id)
        ).all()
    )
    assert codes == expected


def test_staff_download_the_ledger_in_chinese_from_the_batch_page(client, world):
    login(client, "staff")
    client.forget_language()
    response = client.get(f"/batches/{world.batch.id}/ledger.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(BytesIO(response.data))
    assert workbook.sheetnames[:3] == [roster.SHEET, "阶段进度", "现场诊断记录"]
    assert header(workbook["阶段进度"])[0] == "企业"


def test_the_board_download_applies_the_boards_filters(client, world):
    login(client, "staff")
    board = client.get(f"/?batch={world.batch.id}&expert={world.expert_a.id}").get_data(
        as_text=True
    )
    assert f"/board.xlsx?batch={world.batch.id}&amp;expert={world.expert_a.id}" in board

    response = client.get(f"/board.xlsx?batch={world.batch.id}&expert={world.expert_a.id}")

    sheet = load_workbook(BytesIO(response.data)).active
    assert sheet["A1"].value.startswith(world.batch.name)
    assert [r["Firm"] for r in records(sheet, 3)] == [world.firm_a.name]
    everyone = load_workbook(BytesIO(client.get(f"/board.xlsx?batch={world.batch.id}").data)).active
    assert sorted(r["Firm"] for r in records(everyone, 3)) == sorted(
        [world.firm_a.name, world.firm_b.name]
    )


def test_results_and_hours_downloads_show_what_their_pages_show(client, session, demo_data):
    batch = session.exec(select(Batch)).one()
    login(client, "staff1", "pilot-demo-2026")
    results = load_workbook(BytesIO(client.get(f"/batches/{batch.id}/results.xlsx").data))
    assert results.sheetnames == [
        "Achievement per case",
        "Scores before and after",
        "Service ratings",
        "Cases still open",
    ]
    per_case = records(results["Achievement per case"], 3)
    cases = session.exec(select(func.count(Case.id)).where(Case.batch_id == batch.id)).one()
    assert len(per_case) == cases + 1 and per_case[-1]["Firm"] == "All counted cases"
    assert results["Achievement per case"].cell(3, 5).number_format == "0.0%"
    hours = load_workbook(BytesIO(client.get(f"/batches/{batch.id}/hours.xlsx").data))
    assert hours.sheetnames == ["Service hours"]


def test_cli_exports_the_ledger(runner, world, tmp_path):
    path = tmp_path / "ledger.xlsx"
    result = runner.invoke(args=["export-ledger", "--batch", world.batch.name, "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert load_workbook(path).sheetnames == SHEETS
    missing = runner.invoke(args=["export-ledger", "--batch", "无此批次", "-o", str(path)])
    assert missing.exit_code == 1 and "无此批次" in missing.output
