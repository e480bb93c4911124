"""Roster import speed, by hand (never in the test suite): `make bench-import`.

Writes a roster of 5,000 valid firms (the template's columns), imports it into an empty batch
of a scratch database (SQLite; a scratch database on the server when PILOT_DATABASE_URL names
PostgreSQL) through `pilot.firms.roster.import_roster` and commits, then imports the same file
again (nothing to add) and once more with an error in its last row (nothing imported, the marked
copy written). Prints each time; the goal for the first is under 10 s.
"""

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook
from sqlmodel import SQLModel, func, select

ROWS = int(os.environ.get("ROWS", "5000"))
GOAL_SECONDS = 10


def roster_bytes(rows: int, bad_last: bool = False) -> bytes:
    from pilot.demo.build import org_code
    from pilot.excel import to_bytes
    from pilot.firms import roster
    from pilot.firms.credit_code import complete

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = roster.SHEET
    sheet.append([c.header for c in roster.COLUMNS])
    districts = ["中原区", "二七区", "金水区", "惠济区", "中牟县", "巩义市"]
    for n in range(rows):
        values = {c.key: c.example for c in roster.COLUMNS}
        values["credit_code"] = complete(f"91410105{org_code(30000000 + n * 7)}")
        values["name"] = f"郑州基准测试第{n + 1}号制造有限公司"
        values["district"] = districts[n % len(districts)]
        values["employees"] = 100 + n % 900
        values["phone"] = f"1380371{n % 10000:04d}"
        values["email"] = f"firm{n}@example.cn"
        sheet.append([values[c.key] for c in roster.COLUMNS])
    if bad_last:
        sheet.cell(rows + 1, 11, "12345")
    return to_bytes(workbook)


def database_url(folder: Path) -> str:
    server = os.environ.get("PILOT_DATABASE_URL")
    if not server or not server.startswith("postgresql"):
        return f"sqlite:///{folder / 'bench.sqlite'}"
    name = f"pilot_bench_import_{os.getpid()}"
    engine = sa.create_engine(
        sa.make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    import pilot.models  # noqa: F401
    from pilot import create_app
    from pilot.batches.services import create_batch
    from pilot.cases.models import Case
    from pilot.extensions import db
    from pilot.firms import roster, roster_workbooks
    from pilot.firms.models import Firm

    folder = Path(tempfile.mkdtemp(prefix="pilot-bench-import-"))
    url = database_url(folder)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench"})
    started = time.perf_counter()
    data = roster_bytes(ROWS)
    bad = roster_bytes(ROWS, bad_last=True)
    print(
        f"wrote two rosters of {ROWS} rows ({len(data) // 1024} KiB) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    with app.app_context():
        SQLModel.metadata.create_all(db.engine)
        batch = create_batch(
            db.session,
            None,
            name="基准批次",
            year=2026,
            start_date=date(2026, 3, 2),
            end_date=date(2026, 8, 31),
        )
        db.session.commit()

        started = time.perf_counter()
        result = roster.import_roster(db.session, None, batch, data)
        db.session.commit()
        first = time.perf_counter() - started
        assert result.ok, result.errors[:5]
        firms = db.session.exec(select(func.count(Firm.id))).one()
        cases = db.session.exec(select(func.count(Case.id))).one()
        verdict = "meets" if first < GOAL_SECONDS else "misses"
        print(
            f"import of {ROWS} new firms with their cases: {first:.1f} s "
            f"({firms} firms, {cases} cases; goal < {GOAL_SECONDS} s: {verdict})"
        )

        started = time.perf_counter()
        again = roster.import_roster(db.session, None, batch, data)
        db.session.commit()
        print(
            f"the same file again: {time.perf_counter() - started:.1f} s "
            f"({len(again.unchanged)} unchanged, {len(again.created)} added)"
        )

        started = time.perf_counter()
        refused = roster.import_roster(db.session, None, batch, bad)
        db.session.rollback()
        marked = roster_workbooks.marked_copy(bad, refused.errors)
        print(
            f"a file with one bad row: {time.perf_counter() - started:.1f} s "
            f"({len(refused.errors)} error, nothing imported, "
            f"marked copy {len(marked) // 1024} KiB)"
        )
        db.session.close()
        db.engine.dispose()
    return 0 if first < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
