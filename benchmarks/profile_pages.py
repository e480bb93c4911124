"""Where a page's time goes, in-process (by hand): time, SQL statements and a cProfile summary.

    PILOT_INSTANCE_PATH=... PILOT_DATABASE_URL=... python benchmarks/profile_pages.py [PAGE...]

Reads an instance already loaded with `pilot demo load --firms N`; PAGE is one of the names
below (default: all). Prints the fastest of RUNS (10) requests, wall-clock and CPU time (the
latter shows less of other work on a busy machine). PROFILE=1 prints the 40 costliest functions
of each page (SORT=tottime: by their own time).
"""

import cProfile
import io
import os
import pstats
import re
import sys
import time

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pages import PASSWORD, subjects  # noqa: E402


def main() -> None:
    from pilot import create_app
    from pilot.extensions import db

    app = create_app()
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        ids = subjects(db.session)
        db.session.close()
    names = ("staff1", ids["firm_user"], ids["expert"])
    pages = {
        "board": ("staff1", f"/?batch={ids['batch']}"),
        "results": ("staff1", f"/batches/{ids['batch']}/results"),
        "case": ("staff1", f"/cases/{ids['case']}"),
        "checklist": (names[1], f"/cases/{ids['case']}/items"),
        "queue": (names[2], "/verification"),
        "firm_home": (names[1], "/"),
        "expert_home": (names[2], "/"),
    }
    clients = {}
    for name in set(names):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post(
            "/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, name
        clients[name] = client
    count = [0]

    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def counter(*args):
        count[0] += 1

    for key in sys.argv[1:] or pages:
        user, path = pages[key]
        client = clients[user]
        assert client.get(path).status_code == 200, path
        runs, cpu = [], []
        for _ in range(int(os.environ.get("RUNS", "10"))):
            count[0] = 0
            start, start_cpu = time.perf_counter(), time.thread_time()
            response = client.get(path)
            runs.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
        size = len(response.data) // 1024
        print(
            f"{key:12} {min(runs) * 1000:7.1f} ms ({min(cpu) * 1000:5.1f} ms CPU)"
            f" {count[0]:4d} statements {size:5d} KB"
        )
        if os.environ.get("PROFILE"):
            profile = cProfile.Profile()
            profile.enable()
            client.get(path)
            profile.disable()
            out = io.StringIO()
            order = os.environ.get("SORT", "cumulative")
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(40)
            print(out.getvalue())


if __name__ == "__main__":
    main()
