"""The roster import in a real browser: staff download the template from the batch page, upload
a roster with a bad phone number, see the error and download the marked copy, upload it
corrected, and the firm is in the batch; the ledger downloads. Selectors use ids, names and
URLs, never translated text."""

from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlmodel import select

from pilot.batches.models import Batch
from pilot.excel import to_bytes
from pilot.extensions import db
from pilot.firms import roster, roster_workbooks
from tests.browser.conftest import PHONE, screenshot, signed_in

PHONE_COLUMN = [c.key for c in roster.COLUMNS].index("phone") + 1


def opened(download):
    """A downloaded workbook (Playwright keeps it under a name without its extension)."""
    return load_workbook(BytesIO(Path(download.value.path()).read_bytes()))


def test_staff_import_a_roster_fix_its_error_and_download_the_ledger(
    app, browser, live_server, tmp_path
):
    with app.app_context():
        batch_id = db.session.exec(select(Batch.id)).one()
    with signed_in(browser, live_server, "staff1") as page:
        page.goto(f"/batches/{batch_id}")
        with page.expect_download() as ledger:
            page.locator(f"a[href='/batches/{batch_id}/ledger.xlsx']").click()
        assert opened(ledger).sheetnames[0] == roster.SHEET
        page.locator(f"a[href='/firms/import/{batch_id}']").click()
        with page.expect_download() as template:
            page.locator("a[href='/firms/import/template.xlsx']").click()
        workbook = opened(template)
        workbook[roster.SHEET].cell(2, PHONE_COLUMN, "0371-12")
        bad = tmp_path / "名单.xlsx"
        bad.write_bytes(to_bytes(workbook))

        page.locator("#file").set_input_files(str(bad))
        page.locator("form[enctype] button[type=submit]").click()

        expect(page.locator("tr[data-row='2'][data-column='phone']")).to_be_visible()
        screenshot(page, "roster-import-errors")
        with page.expect_download() as marked:
            page.locator("#marked-copy").click()
        marked_book = opened(marked)
        cell = marked_book[roster.SHEET].cell(2, PHONE_COLUMN)
        assert cell.comment is not None
        cell.value = "13803710001"
        good = tmp_path / "名单-改.xlsx"
        good.write_bytes(to_bytes(marked_book))

        page.locator("#file").set_input_files(str(good))
        page.locator("form[enctype] button[type=submit]").click()

        expect(page.locator("#import-done [data-summary]")).to_be_visible()
        screenshot(page, "roster-import-done")
    with signed_in(
        browser, live_server, "staff1", viewport=PHONE, is_mobile=True, has_touch=True
    ) as phone:
        phone.goto(f"/firms/import/{batch_id}")
        phone.locator("#file").set_input_files(str(bad))
        phone.locator("form[enctype] button[type=submit]").click()
        expect(phone.locator("#import-errors")).to_be_visible()
        screenshot(phone, "roster-import-errors-phone")
    with app.app_context():
        names = [
            f.name for f in roster_workbooks.firms_of(db.session, db.session.get(Batch, batch_id))
        ]
    assert "郑州示例精密制造有限公司" in names
