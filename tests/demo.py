"""The demo instance made once per test run by the `pilot` console script, as `make run` makes it,
and copied by every test that needs the demo batch (browser, fuzz, backup, reports, schema, CLI).

`make test` starts the build in the background as the run begins (`python -m tests.demo FOLDER`,
from tests/conftest.py) so that the workers go on with other tests meanwhile; a run without
pytest-xdist builds it when a test first asks for it. A file lock makes sure it is built once.
On PostgreSQL (PILOT_TEST_DATABASE_URL) the demo is a database that each test clones.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock

PG_URL = os.environ.get("PILOT_TEST_DATABASE_URL")
#: The day the demo is dated from: the tests' "today" (tests/conftest.py).
TODAY = "2026-06-15"
#: `make run`'s commands in its order, with the checks on an empty and a loaded database.
COMMANDS = [
    ("db", "upgrade"),
    ("doctor",),
    ("db", "is-empty"),
    ("frameworks", "load"),
    ("demo", "load"),
    ("db", "is-empty"),
    ("cases", "list"),
]
#: How long a test waits for a build another process is running.
BUILD_TIMEOUT = 600
PILOT = shutil.which("pilot", path=str(Path(sys.executable).parent))


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class SharedDemo:
    """The built instance: its folder (pilot.sqlite, files/, reports/), its database URL and
    what each command printed."""

    instance: Path
    url: str
    runs: tuple[Run, ...]

    def run_of(self, *args: str) -> list[Run]:
        return [run for run in self.runs if run.args == args]


def environment(instance: Path, database_url: str | None) -> dict[str, str]:
    """The console script's environment: only PILOT_* variables configure it. Passwords are
    hashed cheaply, as everywhere in the tests (signing in would otherwise cost 0.15 s each)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_")}
    env |= {
        "PILOT_INSTANCE_PATH": str(instance),
        "PILOT_SECRET_KEY": "test-secret",
        "PILOT_TODAY": TODAY,
        "PILOT_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    if database_url:
        env["PILOT_DATABASE_URL"] = database_url
    return env


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    url = sa.make_url(server_url)
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{clause}'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def build(folder: Path) -> None:
    """Make the demo instance in `folder`/instance and write `folder`/demo.json last."""
    instance = folder / "instance"
    url = create_database(PG_URL, f"pilot_demo_{uuid.uuid4().hex[:10]}") if PG_URL else None
    env = environment(instance, url)
    runs = []
    for args in COMMANDS:
        done = subprocess.run([PILOT, *args], env=env, capture_output=True, text=True, check=False)
        runs.append(
            {
                "args": args,
                "returncode": done.returncode,
                "stdout": done.stdout,
                "stderr": done.stderr,
            }
        )
    record = {"url": url or f"sqlite:///{instance / 'pilot.sqlite'}", "runs": runs}
    written = folder / "demo.json.part"
    written.write_text(json.dumps(record))
    written.rename(folder / "demo.json")


def shared(folder: Path) -> SharedDemo:
    """The demo in `folder`, built here unless another process has built or is building it."""
    with FileLock(folder / "demo.lock", timeout=BUILD_TIMEOUT):
        if not (folder / "demo.json").exists():
            build(folder)
    record = json.loads((folder / "demo.json").read_text())
    runs = tuple(
        Run(tuple(r["args"]), r["returncode"], r["stdout"], r["stderr"]) for r in record["runs"]
    )
    # `db is-empty` answers by its exit status, and `doctor` exits 1 for a missing library.
    answers = {("db", "is-empty"), ("doctor",)}
    failed = [r for r in runs if r.returncode != 0 and (r.args not in answers or r.returncode > 1)]
    assert not failed, f"building the demo failed: {failed}"
    return SharedDemo(folder / "instance", record["url"], runs)


def copy_database(demo: SharedDemo, target: Path) -> str:
    """A copy of the demo's database for one test: a file copy on SQLite, a clone on
    PostgreSQL (drop it with `drop_copy`)."""
    if not PG_URL:
        shutil.copyfile(demo.instance / "pilot.sqlite", target)
        return f"sqlite:///{target}"
    template = sa.make_url(demo.url).database
    # PostgreSQL refuses to clone a database while another clone of it is being made.
    with FileLock(demo.instance.parent / "clone.lock", timeout=BUILD_TIMEOUT):
        return create_database(PG_URL, f"pilot_copy_{uuid.uuid4().hex[:10]}", template)


def copy_files(demo: SharedDemo, files: Path, reports: Path) -> None:
    """The demo's uploads and archived reports into the given folders."""
    for source, target in ((demo.instance / "files", files), (demo.instance / "reports", reports)):
        if source.exists():
            shutil.copytree(source, target, dirs_exist_ok=True)


def drop(url: str) -> None:
    if url.startswith("sqlite"):
        return
    parsed = sa.make_url(url)
    engine = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


def start_in_background(folder: Path) -> subprocess.Popen:
    """Build the demo in another process while the tests start."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "build.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.demo", str(folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )


def finish(folder: Path, process: subprocess.Popen | None) -> None:
    """At the end of the run: stop a build nobody waited for, drop the demo database."""
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=30)
    record = folder / "demo.json"
    if record.exists():
        drop(json.loads(record.read_text())["url"])
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    shared(Path(sys.argv[1]))
