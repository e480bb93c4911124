"""`pilot backup` and `pilot restore`, on SQLite or PostgreSQL (PILOT_TEST_DATABASE_URL): a demo
instance round-trips table by table and file by file through the console script, and a damaged,
foreign or misplaced archive is refused before anything is written (the refusals run the same
commands in this process, with the instance's own app)."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import pilot.models  # noqa: F401  (every table in the metadata)
from pilot import create_app
from pilot.extensions import db
from pilot.migrate import MIGRATIONS
from tests import demo as demo_copy
from tests.conftest import PG_URL, drop_database, make_database

PILOT = shutil.which("pilot", path=str(Path(sys.executable).parent))


class Instance:
    """An instance folder (and on PostgreSQL its own new database) driven by the `pilot` script."""

    def __init__(self, path: Path, database_url: str | None = None) -> None:
        self.path = path
        self.pg_url = database_url or (make_database(PG_URL, "pilot_backup") if PG_URL else None)
        self.url = self.pg_url or f"sqlite:///{path / 'pilot.sqlite'}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_")}
        self.env |= {"PILOT_INSTANCE_PATH": str(path), "PILOT_SECRET_KEY": "backup-test"}
        if self.pg_url:
            self.env["PILOT_DATABASE_URL"] = self.pg_url

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [PILOT, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def invoke(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """The same command in this process: the instance's own app, no interpreter start."""
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": self.env["PILOT_SECRET_KEY"],
                "INSTANCE_PATH": str(self.path),
                "DATABASE_URL": self.url,
            }
        )
        try:
            result = app.test_cli_runner().invoke(args=list(args))
        finally:
            with app.app_context():
                db.engine.dispose()
        if check:
            assert result.exit_code == 0, result.stderr or result.exception
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)

    def drop(self) -> None:
        if self.pg_url:
            drop_database(self.pg_url)

    def table_names(self) -> set[str]:
        if not self.pg_url and not (self.path / "pilot.sqlite").exists():
            return set()
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return set(sa.inspect(conn).get_table_names())
        finally:
            engine.dispose()

    def rows(self) -> dict[str, list[tuple]]:
        """Every row of every table of the models (and the migration revision), by primary key."""
        engine = sa.create_engine(self.url)
        tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
        try:
            with engine.connect() as conn:
                found = {
                    name: [
                        tuple(row)
                        for row in conn.execute(
                            sa.select(table).order_by(*table.primary_key.columns)
                        )
                    ]
                    for name, table in tables.items()
                }
                revision = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                found["alembic_version"] = [tuple(row) for row in revision]
                return found
        finally:
            engine.dispose()

    def files(self) -> dict[str, bytes]:
        """Path and bytes of every file in the files and reports folders."""
        return {
            path.relative_to(self.path).as_posix(): path.read_bytes()
            for folder in ("files", "reports")
            for path in sorted((self.path / folder).rglob("*"))
            if path.is_file()
        }

    def assert_untouched(self) -> None:
        assert self.table_names() == set()
        assert [p for p in self.path.rglob("*") if not p.is_dir()] == []
        assert list(self.path.glob(".restore-*")) == []


@pytest.fixture(scope="module")
def demo(shared_demo, tmp_path_factory):
    """One demo instance for the module (a copy of the run's demo, which the console script
    migrated and loaded: uploads, archived reports)."""
    path = tmp_path_factory.mktemp("demo") / "instance"
    path.mkdir()
    url = demo_copy.copy_database(shared_demo, path / "pilot.sqlite")
    demo_copy.copy_files(shared_demo, path / "files", path / "reports")
    instance = Instance(path, url if PG_URL else None)
    yield instance
    instance.drop()


@pytest.fixture(scope="module")
def archive(demo, tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("archive") / "backup.tar"
    result = demo.run("backup", "-o", str(path))
    return path, result.stdout


@pytest.fixture
def empty(tmp_path):
    instance = Instance(tmp_path / "restored")
    yield instance
    instance.drop()


def rewrite(source: Path, target: Path, edit=lambda manifest: None, rename=None, extra=None):
    """Copy an archive, renaming members, adding members and editing the manifest."""
    rename, extra = rename or {}, extra or {}
    with tarfile.open(source) as src, tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as out:
        for info in src:
            data = src.extractfile(info).read()
            if info.name == "manifest.json":
                manifest = json.loads(data)
                continue
            info.name = rename.get(info.name, info.name)
            out.addfile(info, io.BytesIO(data))
        for name, data in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
        for member in manifest["members"]:
            member["path"] = rename.get(member["path"], member["path"])
        edit(manifest)
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))
    return target


def test_restore_gives_back_every_table_and_file(demo, archive, empty):
    path, backup_output = archive
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"sha256\t{digest}" in backup_output.splitlines()
    with tarfile.open(path) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert sorted(m["path"] for m in manifest["members"]) == sorted(set(names) - {"manifest.json"})
    assert manifest["database_kind"] == ("postgresql" if PG_URL else "sqlite")
    assert manifest["alembic_revision"] == demo.rows()["alembic_version"][0][0]

    result = empty.run("restore", str(path))

    assert f"sha256\t{digest}" in result.stdout.splitlines()
    original, restored = demo.rows(), empty.rows()
    assert sum(len(rows) for rows in original.values()) > 100
    assert restored == original
    assert empty.table_names() == demo.table_names()
    files = demo.files()
    uploads = sum(p.startswith("files/") for p in files)
    assert uploads and len(files) > uploads  # uploads and archived reports
    assert empty.files() == files
    assert f"files\t{uploads} files" in backup_output
    assert empty.invoke("cases", "list").stdout == demo.invoke("cases", "list").stdout
    assert list(empty.path.glob(".restore-*")) == []


def test_restore_replaces_a_database_that_holds_only_the_shipped_frameworks(demo, archive, empty):
    """As `make run` leaves a new instance before the demo: migrated, frameworks loaded."""
    empty.invoke("db", "upgrade", check=True)
    empty.invoke("frameworks", "load", check=True)

    empty.invoke("restore", str(archive[0]), check=True)

    assert empty.rows() == demo.rows()
    assert empty.files() == demo.files()


@pytest.mark.parametrize("folder", ["database/", "files/", "reports/"])
def test_archive_with_one_byte_changed_is_refused_and_nothing_is_written(
    archive, empty, tmp_path, folder
):
    source, _ = archive
    tampered = tmp_path / "tampered.tar"
    shutil.copyfile(source, tampered)
    with tarfile.open(tampered) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith(folder) and m.size > 100)
    with tampered.open("r+b") as handle:
        handle.seek(member.offset_data + member.size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x01]))

    result = empty.invoke("restore", str(tampered))

    assert result.returncode != 0
    assert f"{member.name} does not match its size and SHA-256" in result.stderr
    empty.assert_untouched()


def test_restore_into_an_instance_with_data_is_refused(demo, archive):
    before = demo.rows()

    result = demo.invoke("restore", str(archive[0]))

    assert result.returncode != 0
    assert "is not empty: its database has rows in the table" in result.stderr
    assert demo.rows() == before


def test_restore_into_an_instance_with_files_is_refused(archive, empty):
    stray = empty.path / "files" / "ab" / "stray.pdf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"%PDF-1.7 already here")

    result = empty.invoke("restore", str(archive[0]))

    assert result.returncode != 0
    assert "is not empty" in result.stderr and "holds files" in result.stderr
    assert empty.table_names() == set()
    assert stray.read_bytes() == b"%PDF-1.7 already here"


@pytest.mark.parametrize("with_member", [False, True], ids=["manifest-only", "member-too"])
def test_archive_naming_a_path_outside_its_folders_is_refused(
    archive, empty, tmp_path, with_member
):
    data = b"outside"
    entry = {"path": "../x", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    crafted = rewrite(
        archive[0],
        tmp_path / "crafted.tar",
        edit=lambda manifest: manifest["members"].append(entry),
        extra={"../x": data} if with_member else None,
    )

    result = empty.invoke("restore", str(crafted))

    assert result.returncode != 0
    assert "'../x', a path outside" in result.stderr
    assert not (empty.path.parent / "x").exists()
    empty.assert_untouched()


def test_archive_with_a_member_the_manifest_does_not_list_is_refused(archive, empty, tmp_path):
    crafted = rewrite(archive[0], tmp_path / "crafted.tar", extra={"files/ab/cd/extra": b"x"})

    result = empty.invoke("restore", str(crafted))

    assert result.returncode != 0
    assert "1 member(s) the manifest does not list, such as 'files/ab/cd/extra'" in result.stderr
    empty.assert_untouched()


def test_archive_of_a_newer_app_or_another_database_kind_is_refused(archive, empty, tmp_path):
    newer = rewrite(
        archive[0],
        tmp_path / "newer.tar",
        edit=lambda manifest: manifest.update(alembic_revision="ffffffffffff"),
    )
    result = empty.invoke("restore", str(newer))
    assert result.returncode != 0
    assert "'ffffffffffff', which this version of the app does not know" in result.stderr

    kinds = [("sqlite", "pilot.sqlite"), ("postgresql", "pilot.dump")]
    (kind, _), (other, other_name) = kinds[::-1] if PG_URL else kinds
    with tarfile.open(archive[0]) as tar:
        database = next(n for n in tar.getnames() if n.startswith("database/"))
    foreign = rewrite(
        archive[0],
        tmp_path / "foreign.tar",
        edit=lambda manifest: manifest.update(database_kind=other),
        rename={database: f"database/{other_name}"},
    )
    result = empty.invoke("restore", str(foreign))
    assert result.returncode != 0
    assert f"holds a {other} database and this instance uses {kind}" in result.stderr
    empty.assert_untouched()


def test_archive_of_an_older_schema_is_restored_then_migrated_to_head(tmp_path):
    scripts = ScriptDirectory(str(MIGRATIONS))
    first, head = scripts.get_base(), scripts.get_current_head()
    assert first != head
    old, new = Instance(tmp_path / "old"), Instance(tmp_path / "new")
    try:
        old.invoke("db", "upgrade", first, check=True)
        path = tmp_path / "old.tar.gz"
        old.invoke("backup", "-o", str(path), check=True)
        with tarfile.open(path, "r:gz") as tar:
            assert json.loads(tar.extractfile("manifest.json").read())["alembic_revision"] == first

        result = new.invoke("restore", str(path), check=True)

        assert f"migrated\t{first} -> {head}" in result.stdout
        assert new.rows()["alembic_version"] == [(head,)]
        assert new.table_names() >= {t.name for t in SQLModel.metadata.sorted_tables}
    finally:
        old.drop()
        new.drop()
