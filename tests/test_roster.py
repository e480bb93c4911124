"""The firm roster in Excel: the template, the all-or-nothing import (service, page, command
line), the errors per row and column with the marked copy, and update mode."""

import re
from decimal import Decimal
from io import BytesIO

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from pilot.audit.models import AuditLog
from pilot.cases.models import Case
from pilot.excel import to_bytes
from pilot.firms import roster, roster_workbooks
from pilot.firms.credit_code import complete
from pilot.firms.models import Firm
from tests import factories
from tests.conftest import login

HEADERS = [c.header for c in roster.COLUMNS]


def row(**values) -> list:
    """A valid roster row (a new firm), with `values` changed."""
    good = {c.key: c.example for c in roster.COLUMNS}
    good["credit_code"] = complete("91410105MA45XK8P2")
    good["name"] = "郑州导入测试机械有限公司"
    good.update(values)
    return [good[c.key] for c in roster.COLUMNS]


def workbook_bytes(rows, headers=HEADERS, sheet=roster.SHEET) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet
    if headers is not None:
        ws.append(headers)
    for values in rows:
        ws.append(values)
    return to_bytes(workbook)


def firm_count(session) -> int:
    return session.exec(select(func.count(Firm.id))).one()


def case_count(session) -> int:
    return session.exec(select(func.count(Case.id))).one()


def test_template_has_notes_lists_and_an_example_row_that_imports(session, world):
    data = roster_workbooks.template()
    workbook = load_workbook(BytesIO(data))
    assert workbook.sheetnames[:2] == [roster.SHEET, "填写说明"]
    sheet = workbook[roster.SHEET]
    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.comment and c.comment.text for c in sheet[1])
    assert sheet.freeze_panes == "C2"
    assert len(sheet.data_validations.dataValidation) == 3
    assert sheet.cell(2, 1).number_format == "@"

    result = roster.import_roster(session, world.staff, world.batch, data)

    assert result.ok and len(result.created) == 1 and result.cases_opened == 1
    firm = session.exec(select(Firm).where(Firm.name == "郑州示例精密制造有限公司")).one()
    assert firm.district == "410105" and firm.industry_code == "34"
    assert firm.land_mu == Decimal("120.5") and firm.employees == 350
    assert firm.certifications == ["ISO9001", "ISO14001"]
    assert firm.contacts == [
        {"name": "张伟", "title": "", "phone": "13803710001", "email": "zhangwei@example.cn"}
    ]


def test_good_file_adds_firms_with_cases_through_the_services(session, world):
    before = firm_count(session)
    data = workbook_bytes(
        [
            row(),
            row(
                credit_code=complete("91410122MA46AB3C7"),
                name="中牟县导入测试汽车配件有限公司",
                district="410122",  # the code instead of the name
                industry_code=36,  # a number cell
                mujun_class="b",
                land_mu="1,200.50",
                phone="0371-66668888",
                email=None,
                certifications="ISO 9001，IATF 16949",
            ),
        ]
    )

    result = roster.import_roster(session, world.staff, world.batch, data)
    session.commit()

    assert result.ok, result.errors
    assert [c.row for c in result.created] == [2, 3]
    assert firm_count(session) == before + 2
    second = session.exec(select(Firm).where(Firm.name == "中牟县导入测试汽车配件有限公司")).one()
    assert second.industry_code == "36" and second.mujun_class == "B"
    assert second.land_mu == Decimal("1200.50")
    assert second.certifications == ["ISO9001", "IATF16949"]
    assert session.exec(
        select(Case).where(Case.batch_id == world.batch.id, Case.firm_id == second.id)
    ).one()
    logged = session.exec(
        select(AuditLog.action).where(
            AuditLog.record_type == "firm", AuditLog.record_id == second.id
        )
    ).all()
    assert logged == ["create"]


BAD_ROWS = [
    # (the row's changed values, the column in error)
    ({"credit_code": complete("91410105MA45XK8P2")[:17] + "Z"}, "credit_code"),
    ({"credit_code": 914101051234567890}, "credit_code"),
    ({"name": None}, "name"),
    ({"district": "海淀区"}, "district"),
    ({"industry_code": "99"}, "industry_code"),
    ({"mujun_class": "E"}, "mujun_class"),
    ({"mujun_year": "去年"}, "mujun_year"),
    ({"mujun_year": 1990}, "mujun_year"),
    ({"land_mu": "12.345"}, "land_mu"),
    ({"employees": -3}, "employees"),
    ({"revenue": "很多"}, "revenue"),
    ({"phone": "138"}, "phone"),
    ({"email": "zhang@"}, "email"),
    ({"contact_name": None}, "contact_name"),
    ({"certifications": "ISO9001、ABC123"}, "certifications"),
]


@pytest.mark.parametrize("changes, column", BAD_ROWS, ids=[c for _v, c in BAD_ROWS])
def test_each_kind_of_bad_row_is_reported_on_its_cell_and_nothing_is_imported(
    session, world, changes, column
):
    firms, cases = firm_count(session), case_count(session)
    good = row(credit_code=complete("91410105MA45XK8Q3"), name="另一家导入测试有限公司")
    data = workbook_bytes([good, row(**changes)])

    result = roster.import_roster(session, world.staff, world.batch, data)

    assert not result.ok
    assert {(e.row, e.column) for e in result.errors} == {(3, column)}
    session.rollback()
    assert (firm_count(session), case_count(session)) == (firms, cases)


def test_repeats_in_the_file_and_firms_already_registered_are_errors(session, world):
    data = workbook_bytes(
        [
            row(),
            row(name="重复代码的企业"),  # the same credit code as row 2
            row(credit_code=complete("91410105MA45XK8R4")),  # the same name as row 2
            row(credit_code=world.firm_a.credit_code, name=world.firm_a.name),  # firm A, changed
            row(credit_code=complete("91410105MA45XK8T5"), name=world.firm_b.name),  # a namesake
        ]
    )

    result = roster.import_roster(session, world.staff, world.batch, data)

    found = {(e.row, e.column) for e in result.errors}
    assert {(3, "credit_code"), (4, "name"), (6, "name")} <= found
    assert (5, "industry_code") in found  # firm A's industry is 30, the row says 34
    messages = " ".join(e.message for e in result.errors)
    assert "row 2" in messages and "update mode" in messages
    assert world.firm_b.credit_code in messages


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"name,code\nA,1\n", "not an Excel workbook"),
        (b"\xd0\xcf\x11\xe0" + bytes(100), "old Excel file (.xls)"),
        (b"PK\x03\x04" + bytes(100), "not an Excel workbook"),
        (workbook_bytes([row()], sheet="Sheet1"), "no sheet named 企业名录 (it has: Sheet1)"),
        (workbook_bytes([], headers=None), "The sheet 企业名录 is empty."),
        (workbook_bytes([]), "has headers but no firm"),
        (
            workbook_bytes([row()[:-1] + ["x"]], headers=HEADERS[:-1] + ["备注"]),
            "Not known: 备注",
        ),
        (workbook_bytes([row()[1:]], headers=HEADERS[1:]), "Missing: 统一社会信用代码"),
        (
            workbook_bytes([row() + ["x"]], headers=HEADERS + ["企业名称"]),
            "Given twice: 企业名称",
        ),
    ],
    ids=[
        "empty-file",
        "csv",
        "xls",
        "broken-zip",
        "wrong-sheet",
        "empty-sheet",
        "no-rows",
        "unknown-header",
        "missing-header",
        "repeated-header",
    ],
)
def test_a_file_that_is_no_roster_gets_a_clear_message(session, world, data, message):
    firms = firm_count(session)
    with pytest.raises(roster.RosterError) as raised:
        roster.import_roster(session, world.staff, world.batch, data)
    assert message in str(raised.value)
    assert firm_count(session) == firms


def test_headers_match_without_spaces_marks_or_parenthesis_width(session, world):
    headers = [f" {h}* ".replace("（", "(").replace("）", ")") for h in HEADERS]
    result = roster.import_roster(
        session, world.staff, world.batch, workbook_bytes([row()], headers=headers)
    )
    assert result.ok and len(result.created) == 1


def test_marked_copy_fills_and_comments_the_bad_cells(session, world):
    data = workbook_bytes([row(phone="138", email="x@"), row(name="第二家", credit_code="X")])
    result = roster.import_roster(session, world.staff, world.batch, data)

    marked = load_workbook(BytesIO(roster_workbooks.marked_copy(data, result.errors)))

    assert marked.sheetnames == ["错误清单", roster.SHEET]
    sheet = marked[roster.SHEET]
    phone = sheet.cell(2, HEADERS.index("联系电话") + 1)
    assert phone.fill.fgColor.rgb.endswith("FFC7CE")
    assert "phone number" in phone.comment.text
    assert sheet.cell(3, 1).comment is not None
    assert sheet.cell(2, 1).comment is None  # a good cell stays as it was
    listing = [r for r in marked["错误清单"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[1]) for r in listing] == [
        (2, "K 联系电话"),
        (2, "L 电子邮箱"),
        (3, "A 统一社会信用代码"),
    ]


def test_importing_the_same_file_again_adds_nothing(session, world):
    data = workbook_bytes([row()])
    assert roster.import_roster(session, world.staff, world.batch, data).ok
    session.commit()
    firms, cases = firm_count(session), case_count(session)
    entries = session.exec(select(func.count(AuditLog.id))).one()

    again = roster.import_roster(session, world.staff, world.batch, data)
    session.commit()

    assert again.ok and len(again.unchanged) == 1 and not again.created and not again.cases_opened
    assert (firm_count(session), case_count(session)) == (firms, cases)
    assert session.exec(select(func.count(AuditLog.id))).one() == entries


def test_a_registered_firm_joins_the_batch_it_has_no_case_in(session, world):
    other = factories.make_batch(session)
    session.commit()
    firm = world.firm_a
    data = workbook_bytes([roster_workbooks.roster_rows([firm])[0]])

    result = roster.import_roster(session, world.staff, other, data)

    assert result.ok and result.unchanged and result.cases_opened == 1
    assert session.exec(select(Case).where(Case.batch_id == other.id)).one().firm_id == firm.id


def test_update_mode_changes_the_firm_and_says_what_changed(session, world):
    firm = world.firm_a
    values = roster_workbooks.roster_rows([firm])[0]
    values[HEADERS.index("从业人数")] = 420
    values[HEADERS.index("联系电话")] = "13900000000"
    values[HEADERS.index("联系人")] = "王芳"
    values[HEADERS.index("亩均评价等级")] = None  # empty: kept as it is
    data = workbook_bytes([values])

    refused = roster.import_roster(session, world.staff, world.batch, data)
    assert {e.column for e in refused.errors} == {"employees", "contact_name", "phone"}
    session.rollback()

    result = roster.import_roster(session, world.staff, world.batch, data, update=True)
    session.commit()

    assert result.ok
    assert result.updated[0].changes == {
        "从业人数": ("", "420"),
        "联系人": ("", "王芳"),
        "联系电话": ("", "13900000000"),
    }
    session.refresh(firm)
    assert firm.employees == 420 and firm.mujun_class == "A"
    assert firm.contacts[0]["name"] == "王芳"
    entry = session.exec(
        select(AuditLog).where(AuditLog.record_id == firm.id, AuditLog.action == "update")
    ).one()
    assert set(entry.after) == {"employees", "contacts"}


def test_round_trip_the_ledgers_roster_imported_as_update_changes_nothing(session, world):
    from pilot.database import today
    from pilot.ledger.workbooks import ledger

    firm = world.firm_a
    firm.contacts = [
        {"name": "张伟", "title": "部长", "phone": "0371-66668888", "email": "zw@example.cn"},
        {"name": "李娜", "title": "", "phone": "", "email": ""},
    ]
    firm.certifications = ["ISO14001", "ISO9001"]  # not in the list's order
    firm.land_mu, firm.revenue, firm.employees = Decimal("88.50"), Decimal("12345.67"), 99
    session.commit()
    entries = session.exec(select(func.count(AuditLog.id))).one()
    data = to_bytes(ledger(session, world.batch, today()))

    result = roster.import_roster(session, world.staff, world.batch, data, update=True)
    session.commit()

    assert result.ok, result.errors
    assert not result.updated and not result.created and len(result.unchanged) == 2
    assert session.exec(select(func.count(AuditLog.id))).one() == entries
    session.refresh(firm)
    assert firm.certifications == ["ISO14001", "ISO9001"] and len(firm.contacts) == 2


# The page -----------------------------------------------------------------------------------------


def upload(client, batch_id: int, data: bytes, update: bool = False, name: str = "名单.xlsx"):
    form = {"file": (BytesIO(data), name)}
    if update:
        form["update"] = "y"
    return client.post(f"/firms/import/{batch_id}", data=form, content_type="multipart/form-data")


def test_staff_import_a_roster_from_the_batch_page(client, world, session):
    login(client, "staff")
    page = client.get(f"/batches/{world.batch.id}").get_data(as_text=True)
    assert (
        f"/firms/import/{world.batch.id}" in page
        and f"/batches/{world.batch.id}/ledger.xlsx" in page
    )
    form = client.get(f"/firms/import/{world.batch.id}").get_data(as_text=True)
    assert "/firms/import/template.xlsx" in form

    response = upload(client, world.batch.id, workbook_bytes([row()]))

    assert response.status_code == 200
    assert "1 rows: 1 firms added, 0 changed, 0 unchanged; 1 cases opened." in response.get_data(
        as_text=True
    )
    session.expire_all()
    assert session.exec(select(Firm).where(Firm.name == "郑州导入测试机械有限公司")).one()


def test_the_page_lists_the_errors_in_chinese_and_offers_the_marked_copy(client, world, session):
    login(client, "staff")
    client.forget_language()
    firms = firm_count(session)

    response = upload(client, world.batch.id, workbook_bytes([row(phone="12")]))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "未导入任何数据" in html and "联系电话" in html
    assert re.search(r'<tr data-row="2" data-column="phone">', html)
    href = re.search(r'href="data:[^;]+;base64,([^"]+)" download="名单-错误标注.xlsx"', html)
    assert href, html[:2000]
    import base64

    marked = load_workbook(BytesIO(base64.b64decode(href.group(1))))
    assert marked[roster.SHEET].cell(2, HEADERS.index("联系电话") + 1).comment
    session.expire_all()
    assert firm_count(session) == firms


def test_the_page_says_why_a_file_is_no_roster(client, world):
    login(client, "staff")
    response = upload(client, world.batch.id, b"not a workbook", name="x.xlsx")
    assert response.status_code == 400
    assert "This file is not an Excel workbook (.xlsx)." in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_update_on_the_page_lists_what_changed(client, world, session):
    values = roster_workbooks.roster_rows([world.firm_a])[0]
    values[HEADERS.index("从业人数")] = 77
    login(client, "staff")
    response = upload(client, world.batch.id, workbook_bytes([values]), update=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="import-changes"' in html and "从业人数" in html and ">77<" in html


def test_template_download(client, world):
    login(client, "staff")
    response = client.get("/firms/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert load_workbook(BytesIO(response.data))[roster.SHEET].cell(1, 1).value == HEADERS[0]


# The command line -------------------------------------------------------------------------------


def test_cli_imports_and_a_second_run_adds_nothing(runner, world, session, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(workbook_bytes([row()]))
    args = ["import-firms", str(path), "--batch", world.batch.name]
    with force_locale("zh"):  # the command line speaks the default language
        first = runner.invoke(args=args)
        second = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "新增企业 1 家" in first.output
    assert (
        second.exit_code == 0 and "新增企业 0 家" in second.output and "未变 1 家" in second.output
    )


def test_cli_reports_errors_in_chinese_exits_non_zero_and_writes_the_marked_copy(
    runner, world, session, tmp_path
):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(workbook_bytes([row(district="朝阳区")]))
    firms = firm_count(session)

    with force_locale("zh"):  # the command line speaks the default language
        result = runner.invoke(args=["import-firms", str(path), "--batch", world.batch.name])

    assert result.exit_code == 1
    assert "第 2 行，所属区县：" in result.output and "未导入任何数据" in result.output
    marked = load_workbook(tmp_path / "roster.errors.xlsx")
    assert marked[roster.SHEET].cell(2, HEADERS.index("所属区县") + 1).comment
    session.expire_all()
    assert firm_count(session) == firms


def test_cli_refuses_a_file_that_is_no_workbook_without_a_traceback(runner, world, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_text("hello")
    with force_locale("zh"):
        result = runner.invoke(args=["import-firms", str(path), "--batch", world.batch.name])
    assert result.exit_code == 1
    assert "不是 Excel 工作簿" in result.output and "Traceback" not in result.output


def test_cli_writes_the_template(runner, app, tmp_path):
    path = tmp_path / "template.xlsx"
    result = runner.invoke(args=["import-firms", "--template", str(path)])
    assert result.exit_code == 0
    assert load_workbook(path)[roster.SHEET].cell(1, 2).value == "企业名称"
