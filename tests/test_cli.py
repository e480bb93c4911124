"""The `pilot` command line."""

import ctypes.util

from sqlmodel import select

from pilot.accounts.models import User
from pilot.demo import DEMO_PASSWORD
from pilot.stages import STAGE_CODES
from tests import demo
from tests.conftest import PG_URL


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


def test_demo_load_spreads_cases_over_every_stage(session, demo_data):
    (loaded,) = demo_data.run_of("demo", "load")
    assert loaded.returncode == 0, loaded.stderr
    assert DEMO_PASSWORD in loaded.stdout
    (listed,) = demo_data.run_of("cases", "list")
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert len(rows) == 20
    assert set(STAGE_CODES) | {"withdrawn"} <= {r[3] for r in rows}
    staff = session.exec(select(User).where(User.username == "staff1")).one()
    assert staff.check_password(DEMO_PASSWORD)


def test_console_script_migrates_loads_and_lists(shared_demo):
    """The installed `pilot` script, configured only by PILOT_* variables, ran `make run`'s
    commands to build the run's demo (tests/demo.py): here is what each did."""
    assert demo.PILOT, "the console script is installed with the project"
    (upgrade,) = shared_demo.run_of("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    (doctor,) = shared_demo.run_of("doctor")
    assert "database at migration" in doctor.stdout
    assert "MISSING\tCJK font" not in doctor.stdout  # the fonts come with the install
    subsetting = ctypes.util.find_library("harfbuzz-subset") is not None
    assert doctor.returncode == (0 if subsetting else 1), doctor.stdout
    empty, loaded = shared_demo.run_of("db", "is-empty")
    assert (empty.returncode, loaded.returncode) == (0, 1)
    (frameworks,) = shared_demo.run_of("frameworks", "load")
    assert frameworks.returncode == 0 and "GBT19580" in frameworks.stdout
    (listed,) = shared_demo.run_of("cases", "list")
    assert len(listed.stdout.splitlines()) == 20
    if not PG_URL:
        assert (shared_demo.instance / "pilot.sqlite").is_file()
