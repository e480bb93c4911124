"""Page speed under load, by hand (never in the test suite): `make bench-pages`.

Loads province-scale data (`pilot demo load --firms 2000`: ten batches of 200 firms) into a
scratch database: SQLite in a scratch folder, or a scratch database on the PostgreSQL server that
PILOT_DATABASE_URL names (created here and dropped at the end). Serves the app with `pilot serve`
(gunicorn, 2 sync workers) and a minimal Flask page (a 20-row Jinja list) the same way, loads each
page with wrk (`apt-get install -y wrk`) at 16 connections on 127.0.0.1, and prints requests/s,
p50 and p99 per page, the ratio to the minimal page, and each worker's memory after the run.

    make bench-pages                                   # SQLite
    PILOT_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make bench-pages
    BENCH_FIRMS=200 BENCH_SECONDS=3 make bench-pages    # a quick look
"""

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FIRMS = int(os.environ.get("BENCH_FIRMS", "2000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = 16
PASSWORD = "pilot-demo-2026"  # nosec B105: the published demo password
#: page -> (goal: share of the minimal page's requests/s, p99 in ms)
GOALS = {"board": (0.10, 100), "batch results": (0.10, 100)}
DEFAULT_GOAL = (0.25, 50)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)  # nosec B310: our own local server
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def scratch_database(folder: Path) -> tuple[str, callable]:
    """The scratch database's URL, and what drops it."""
    url = os.environ.get("PILOT_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{folder / 'bench.sqlite'}", lambda: None
    import sqlalchemy as sa

    name = f"pilot_bench_{os.getpid()}"
    server = sa.make_url(url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def pilot(env: dict, *args: str) -> str:
    done = subprocess.run(  # nosec B603: our own command, fixed arguments
        [str(BIN / "pilot"), *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def targets(env: dict) -> dict:
    """Ids of the pages to load (see `subjects`), read from the instance `env` configures."""
    os.environ.update(env)
    from pilot import create_app
    from pilot.extensions import db

    app = create_app()
    with app.app_context():
        return subjects(db.session)


def subjects(session) -> dict:
    """The newest 200-firm batch, a running case past diagnosis, its firm user and its lead
    expert."""
    from sqlmodel import func, select

    from pilot.accounts.models import User
    from pilot.batches.models import Batch
    from pilot.cases.models import Case
    from pilot.database import today
    from pilot.stages import progress

    batch = session.exec(select(Batch).order_by(Batch.start_date.desc())).first()
    size = session.exec(select(func.count()).where(Case.batch_id == batch.id)).one()
    cases = session.exec(select(Case).where(Case.batch_id == batch.id)).all()
    states = progress(session, cases, today())
    case = next(
        c
        for c in sorted(cases, key=lambda c: c.id, reverse=True)
        if states[c.id].is_running and states[c.id].current == "evaluation"
    )
    firm_user = session.exec(select(User).where(User.firm_id == case.firm_id)).first()
    return {
        "batch": batch.id,
        "batch_size": size,
        "case": case.id,
        "firm_user": firm_user.username,
        "expert": case.lead_expert.username,
    }


def sign_in(base: str, username: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()  # nosec B310
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    token = token or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    opener.open(f"{base}/login", urllib.parse.urlencode(form).encode())  # nosec B310
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url: str, header: str = "") -> dict:
    """Load the URL; `header` signs it in (a session cookie or a bearer token)."""
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url]
    if header:
        args[1:1] = ["-H", header]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout  # nosec B603
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%")}


def serve(args: list[str], env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(  # nosec B603
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    wait_for(
        f"http://127.0.0.1:{port}/login" if "pilot" in args[0] else f"http://127.0.0.1:{port}/"
    )
    return process


def worker_rss(master: int) -> list[float]:
    """Resident memory (MB) of each worker of a gunicorn master."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return sizes


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("make bench-pages needs wrk: apt-get install -y wrk")
    folder = Path(tempfile.mkdtemp(prefix="pilot-bench-pages-"))
    url, drop = scratch_database(folder)
    env = os.environ | {
        "PILOT_DATABASE_URL": url,
        "PILOT_INSTANCE_PATH": str(folder),
        "PILOT_SECRET_KEY": os.urandom(16).hex(),
    }
    env.pop("PILOT_TODAY", None)
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    try:
        pilot(env, "db", "upgrade")
        pilot(env, "frameworks", "load")
        start = time.perf_counter()
        print(pilot(env, "demo", "load", "--firms", str(FIRMS)).splitlines()[0])
        print(f"loaded in {time.perf_counter() - start:.1f} s ({kind})")
        ids = targets(env)
        run(env, ids, kind)
    finally:
        drop()
        shutil.rmtree(folder, ignore_errors=True)


def run(env: dict, ids: dict, kind: str) -> None:
    port, minimal_port = free_port(), free_port()
    gunicorn = [str(BIN / "gunicorn"), "--workers", "2", "--preload", "--access-logfile", "-"]
    minimal = serve(
        [*gunicorn, "--bind", f"127.0.0.1:{minimal_port}", "--chdir", str(HERE), "minimal_app:app"],
        env,
        minimal_port,
    )
    try:
        baseline = wrk(f"http://127.0.0.1:{minimal_port}/")
    finally:
        stop(minimal)
    app = serve(
        [str(BIN / "pilot"), "serve", "--workers", "2", "--bind", f"127.0.0.1:{port}"], env, port
    )
    base = f"http://127.0.0.1:{port}"
    try:
        staff, firm, expert = (
            f"Cookie: {sign_in(base, user)}" for user in ("staff1", ids["firm_user"], ids["expert"])
        )
        token = pilot(env, "tokens", "create", "--username", "staff1").strip()
        api = f"Authorization: Bearer {token}"
        case = ids["case"]
        pages = [
            (f"board ({ids['batch_size']} firms)", f"/?batch={ids['batch']}", staff, "board"),
            ("batch results", f"/batches/{ids['batch']}/results", staff, "batch results"),
            ("case page", f"/cases/{case}", staff, ""),
            ("checklist (firm)", f"/cases/{case}/items", firm, ""),
            ("verification queue (expert)", "/verification", expert, ""),
            ("firm home", "/", firm, ""),
            ("expert home", "/", expert, ""),
            ("API: a batch's cases (staff)", f"/api/v1/cases?batch={ids['batch']}", api, ""),
        ]
        results = []
        for label, path, header, goal_key in pages:
            name, value = header.split(": ", 1)
            with urllib.request.urlopen(  # nosec B310
                urllib.request.Request(base + path, headers={name: value})
            ) as response:
                if response.url.rstrip("/").endswith("/login") or response.status != 200:
                    raise RuntimeError(f"{path} did not answer the signed-in page")
            results.append((label, path, goal_key, wrk(base + path, header)))
        rss = worker_rss(app.pid)
    finally:
        stop(app)
    print(f"\n{kind}, {FIRMS} firms, wrk -t2 -c{CONNECTIONS} -d{SECONDS}s, gunicorn 2 sync workers")
    print(f"{'page':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}  goal")
    print(
        f"{'minimal Flask page (20 rows)':34} {baseline['rps']:8.0f} "
        f"{baseline['p50']:8.1f} {baseline['p99']:8.1f} {1:7.0%}"
    )
    for label, _path, goal_key, r in results:
        share, p99 = GOALS.get(goal_key, DEFAULT_GOAL)
        ratio = r["rps"] / baseline["rps"]
        met = "met" if ratio >= share and r["p99"] <= p99 else "MISSED"
        print(
            f"{label:34} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {ratio:7.1%}  "
            f"≥{share:.0%}, p99 ≤ {p99} ms: {met}"
        )
    print(
        "worker memory after the run: "
        + ", ".join(f"{mb:.0f} MB" for mb in rss)
        + " (goal < 150 MB)"
    )


if __name__ == "__main__":
    main()
