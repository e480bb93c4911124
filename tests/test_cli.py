"""The `pilot` command line."""

import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo import DEMO_PASSWORD
from pilot.stages import STAGE_CODES
from tests.conftest import PG_URL, drop_database, make_database


def test_users_create_reads_password_from_stdin(runner, session, world):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "newfirm",
            "--role",
            "firm",
            "--firm",
            world.firm_a.credit_code,
            "--password-stdin",
        ],
        input="long-enough-pw\n",
    )
    assert result.exit_code == 0, result.output
    user = session.exec(select(User).where(User.username == "newfirm")).one()
    assert user.firm_id == world.firm_a.id
    assert user.check_password("long-enough-pw")


def test_users_create_refuses_unknown_firm_and_short_password(runner, world):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "x1",
            "--role",
            "firm",
            "--firm",
            "91410100000000000X",
            "--password-stdin",
        ],
        input="long-enough-pw\n",
    )
    assert result.exit_code != 0 and "No firm" in result.output
    result = runner.invoke(
        args=["users", "create", "--username", "x2", "--role", "staff", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    result = runner.invoke(
        args=["users", "create", "--username", "x2", "--role", "staff", "--password-stdin"],
        input="password123\n",
    )
    assert result.exit_code != 0 and "too easy to guess" in result.output


def test_firm_user_without_firm_is_refused(runner, world):
    result = runner.invoke(
        args=["users", "create", "--username", "x3", "--role", "firm", "--password-stdin"],
        input="long-enough-pw\n",
    )
    assert result.exit_code != 0


def test_batches_and_cases_lists_are_tab_separated(runner, world):
    result = runner.invoke(args=["batches", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{world.batch.id}\t{world.batch.name}\t{world.batch.start_date}\t{world.batch.end_date}"
    ]
    result = runner.invoke(args=["cases", "list", "--batch", world.batch.name])
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert sorted(r[0] for r in rows) == sorted(
        [world.firm_a.credit_code, world.firm_b.credit_code]
    )
    assert {r[3] for r in rows} == {"survey"}
    assert {r[4] for r in rows} == {world.batch.name}
    assert runner.invoke(args=["cases", "list", "--batch", "nope"]).exit_code != 0


def test_demo_load_spreads_cases_over_every_stage(runner, session):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output
    rows = [line.split("\t") for line in runner.invoke(args=["cases", "list"]).output.splitlines()]
    assert len(rows) == 20
    assert set(STAGE_CODES) | {"withdrawn"} <= {r[3] for r in rows}
    staff = session.exec(select(User).where(User.username == "staff1")).one()
    assert staff.check_password(DEMO_PASSWORD)


def test_console_script_migrates_loads_and_lists(tmp_path):
    """The installed `pilot` script, configured only by PILOT_* variables, as `make run` uses it."""
    pilot = shutil.which("pilot", path=str(Path(sys.executable).parent))
    assert pilot, "the console script is installed with the project"
    env = {**os.environ, "PILOT_INSTANCE_PATH": str(tmp_path / "inst"), "PILOT_SECRET_KEY": "k"}
    url = make_database(PG_URL, "pilot_cli") if PG_URL else None
    if url:
        env["PILOT_DATABASE_URL"] = url
    try:

        def run(*args, check=True):
            return subprocess.run(
                [pilot, *args], env=env, capture_output=True, text=True, check=check
            )

        run("db", "upgrade")
        doctor = run("doctor", check=False)
        assert "database at migration" in doctor.stdout
        assert "MISSING\tCJK font" not in doctor.stdout  # the fonts come with the install
        subsetting = ctypes.util.find_library("harfbuzz-subset") is not None
        assert doctor.returncode == (0 if subsetting else 1), doctor.stdout
        assert run("db", "is-empty", check=False).returncode == 0
        run("demo", "load")
        assert run("db", "is-empty", check=False).returncode == 1
        assert len(run("cases", "list").stdout.splitlines()) == 20
        if not url:
            assert (tmp_path / "inst" / "pilot.sqlite").is_file()
    finally:
        if url:
            drop_database(url)
