"""Report speed, by hand (never in the test suite): `make bench-report`.

Loads the demo batch into a scratch SQLite database, then prints for one full demo report
(a closed case): the whole app path (content from the database, HTML, PDF) against WeasyPrint
alone on the same HTML, the page count, the size and the peak memory; then the time to build
the batch ZIP of all 20 cases with every core, as `pilot report --batch` does.
"""

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import SQLModel, select


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), result


def main() -> None:
    import pilot.models  # noqa: F401
    from pilot import create_app
    from pilot.cases.models import Case
    from pilot.database import today
    from pilot.demo import load_demo
    from pilot.extensions import db
    from pilot.reports import archive, pdf
    from pilot.reports.context import build
    from pilot.reports.parallel import render_cases

    folder = Path(tempfile.mkdtemp(prefix="pilot-bench-"))
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
            "INSTANCE_PATH": str(folder),
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        SQLModel.metadata.create_all(db.engine)
        load_demo(db.session)
        case_id = db.session.exec(select(Case.id).where(Case.closed_at.is_not(None))).first()
        case_ids = db.session.exec(select(Case.id)).all()
        db.session.close()
        with app.test_request_context():
            pdf.render(build(db.session, case_id, today()))  # warm up fonts and templates
            db.session.close()

            def app_path():
                return archive.render_case(db.session, case_id, today())

            html = pdf.html_of(build(db.session, case_id, today()))
            db.session.close()
            whole, rendered = timed(app_path)
            alone, _ = timed(lambda: pdf.render_html(html))
        size = len(rendered.pdf) / 1024
        print(f"one report (case {case_id}): {rendered.pages} pages, {size:.0f} KiB")
        print(f"  app path (database → HTML → PDF): {whole:.2f} s (median of 5)")
        print(f"  WeasyPrint alone, same HTML:      {alone:.2f} s")
        print(f"  ratio: {whole / alone:.2f} ×  (goal ≤ 1.15 ×)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak memory of this process: {peak:.0f} MiB")
        start = time.perf_counter()
        zipped = archive.batch_zip(
            db.session, case_ids, today(), lambda ids: render_cases(app, ids, today())
        )
        print(
            f"batch ZIP of {len(case_ids)} reports: {time.perf_counter() - start:.1f} s "
            f"(goal ≤ 15 s), {len(zipped) / 1024 / 1024:.1f} MiB"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
