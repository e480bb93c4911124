"""`pilot backup` and `pilot restore`: one tar archive holding a consistent copy of the database,
the uploaded files, the archived reports and a manifest of their sizes and SHA-256s.

A plain tar (gzip only when the file name ends in .tar.gz or .tgz): the files are PDFs, images
and Office documents, already compressed; tar streams member by member in both directions, keeps
any file name, and `tar tf` / `tar xf` read it without this app.
"""

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from flask import Flask

from pilot.backup import databases
from pilot.backup.databases import BackupError

FORMAT = "pilot-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FOLDERS = ("files", "reports")
CHUNK = 1024 * 1024
#: A manifest lists paths and hashes; anything much larger is not one.
MANIFEST_MAX_BYTES = 64 * 1024 * 1024

__all__ = ["BackupError", "Summary", "backup", "restore"]


@dataclass(frozen=True)
class Instance:
    """Where an instance keeps its data, from the app's configuration."""

    database_url: str
    folders: dict[str, Path]
    path: Path

    @classmethod
    def of(cls, app: Flask) -> "Instance":
        return cls(
            database_url=app.config["DATABASE_URL"],
            folders={
                "files": Path(app.config["FILES_PATH"]),
                "reports": Path(app.config["REPORTS_PATH"]),
            },
            path=Path(app.instance_path),
        )


@dataclass(frozen=True)
class Member:
    path: str
    size: int
    sha256: str


@dataclass
class Summary:
    """What a backup wrote or a restore read, for the command to print."""

    archive: Path
    archive_size: int
    archive_sha256: str
    database_kind: str
    revision: str
    members: list[Member]
    migrated_to: str | None = None
    counts: dict[str, tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = {name: (0, 0) for name in ("database", *FOLDERS)}
        for member in self.members:
            top = member.path.split("/", 1)[0]
            count, size = self.counts[top]
            self.counts[top] = (count + 1, size + member.size)


# Writing ----------------------------------------------------------------------------------------


class _Hashing:
    """A file wrapper that hashes and counts every byte read from it or written to it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.hash.update(data)
        self.size += len(data)
        return data

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def _add_file(tar: tarfile.TarFile, name: str, source: Path) -> Member:
    """Stream one file into the archive, hashing it on the way."""
    with source.open("rb") as handle:
        status = os.fstat(handle.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = status.st_size, int(status.st_mtime), 0o644
        reader = _Hashing(handle)
        tar.addfile(info, reader)
    return Member(name, reader.size, reader.hash.hexdigest())


def _kept_files(folder: Path) -> list[Path]:
    """Every stored file of a folder; not the temporary ones of a write under way (".upload-…",
    "….part", anything in a dot-named folder) and nothing that is not a regular file."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not path.is_symlink()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.suffix != ".part"
    )


def _manifest(kind: str, revision: str, members: list[Member]) -> bytes:
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "alembic_revision": revision,
        "database_kind": kind,
        "members": [{"path": m.path, "size": m.size, "sha256": m.sha256} for m in members],
    }
    return json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")


def backup(app: Flask, output: Path) -> Summary:
    """Write the instance's archive to `output` (a temporary file renamed at the end).

    The database is copied first, then the folders: a file is written before the row that names
    it commits and is never changed afterwards, so every file the copied database names is
    already on disk when the folders are read.
    """
    instance = Instance.of(app)
    kind = databases.database_kind(instance.database_url)
    revision = databases.current_revision(instance.database_url)
    if revision is None:
        raise BackupError("The database has no migration revision: run `pilot db upgrade` first.")
    output = output.resolve()
    if not output.parent.is_dir():
        raise BackupError(f"The folder {output.parent} does not exist.")
    mode = "w|gz" if output.name.endswith((".tar.gz", ".tgz")) else "w|"
    handle, partial = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
    try:
        with (
            tempfile.TemporaryDirectory(dir=output.parent, prefix=".pilot-backup-") as scratch,
            os.fdopen(handle, "wb") as raw,
        ):
            writer = _Hashing(raw)
            with tarfile.open(fileobj=writer, mode=mode, format=tarfile.PAX_FORMAT) as tar:
                dump = Path(scratch) / databases.DUMP_NAMES[kind]
                databases.dump(instance.database_url, dump)
                members = [_add_file(tar, f"database/{dump.name}", dump)]
                dump.unlink()
                for folder, root in instance.folders.items():
                    for path in _kept_files(root):
                        name = f"{folder}/{path.relative_to(root).as_posix()}"
                        members.append(_add_file(tar, name, path))
                data = _manifest(kind, revision, members)
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(datetime.now().timestamp()), 0o644
                tar.addfile(info, io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, output)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return Summary(output, writer.size, writer.hash.hexdigest(), kind, revision, members)


# Reading ----------------------------------------------------------------------------------------


def _is_safe(path: object) -> bool:
    """A relative path inside one of the archive's folders, written plainly."""
    if not isinstance(path, str):
        return False
    if path == MANIFEST:
        return True
    pure = PurePosixPath(path)
    return (
        str(pure) == path
        and not pure.is_absolute()
        and len(pure.parts) >= 2
        and pure.parts[0] in ("database", *FOLDERS)
        and all(part not in ("", ".", "..") for part in pure.parts)
        and "\\" not in path
        and "\x00" not in path
    )


def _scan(archive: Path, destination: Path | None = None) -> tuple[dict, dict[str, Member], Member]:
    """Read the archive once: its manifest, every member's size and SHA-256, and the archive's
    own size and SHA-256. With a destination, also write each member there (path checked first)."""
    manifest = None
    found: dict[str, Member] = {}
    with archive.open("rb") as raw:
        reader = _Hashing(raw)
        try:
            with tarfile.open(fileobj=reader, mode="r|*") as tar:
                for info in tar:
                    name = info.name
                    if not _is_safe(name):
                        raise BackupError(
                            f"The archive holds {name!r}, a path outside its folders: refused."
                        )
                    if not info.isfile():
                        raise BackupError(f"The archive holds {name!r}, not a regular file.")
                    if name in found or (name == MANIFEST and manifest is not None):
                        raise BackupError(f"The archive holds {name!r} twice.")
                    source = tar.extractfile(info)
                    if name == MANIFEST:
                        if info.size > MANIFEST_MAX_BYTES:
                            raise BackupError("The archive's manifest is too large to be one.")
                        manifest = _parse_manifest(source.read())
                        continue
                    found[name] = _copy(source, name, destination)
            while reader.read(CHUNK):  # the end of the file counts in the archive's hash
                pass
        except (tarfile.TarError, EOFError, zlib.error) as error:
            raise BackupError(f"{archive} is not a readable archive: {error}") from None
    if manifest is None:
        raise BackupError(f"{archive} holds no {MANIFEST}: it is not a pilot backup.")
    return manifest, found, Member(str(archive), reader.size, reader.hash.hexdigest())


def _copy(source: BinaryIO, name: str, destination: Path | None) -> Member:
    digest, size = hashlib.sha256(), 0
    out = None
    if destination is not None:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        out = target.open("xb")
    try:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return Member(name, size, digest.hexdigest())


def _parse_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BackupError("The archive's manifest is not valid JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("The archive's manifest is not a pilot backup manifest.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"The archive is in backup format {manifest.get('format_version')!r}; "
            f"this app reads format {FORMAT_VERSION}."
        )
    if not isinstance(manifest.get("members"), list) or not all(
        isinstance(m, dict) for m in manifest["members"]
    ):
        raise BackupError("The archive's manifest has no list of members.")
    return manifest


def _listed(manifest: dict) -> dict[str, Member]:
    """The manifest's members, every path checked before anything is compared or written."""
    listed: dict[str, Member] = {}
    for entry in manifest["members"]:
        path = entry.get("path")
        if not _is_safe(path) or path == MANIFEST:
            raise BackupError(
                f"The manifest lists {path!r}, a path outside the archive's folders: refused."
            )
        if path in listed:
            raise BackupError(f"The manifest lists {path!r} twice.")
        listed[path] = Member(path, entry.get("size"), entry.get("sha256"))
    return listed


def _verify(listed: dict[str, Member], found: dict[str, Member]) -> None:
    extra = sorted(found.keys() - listed.keys())
    if extra:
        raise BackupError(
            f"The archive holds {len(extra)} member(s) the manifest does not list, "
            f"such as {extra[0]!r}: refused."
        )
    missing = sorted(listed.keys() - found.keys())
    if missing:
        raise BackupError(
            f"The archive lacks {len(missing)} member(s) its manifest lists, "
            f"such as {missing[0]!r}: it is incomplete."
        )
    for path, member in sorted(listed.items()):
        if found[path] != member:
            raise BackupError(
                f"{path} does not match its size and SHA-256 in the manifest: "
                "the archive is damaged or was altered. Nothing was restored."
            )


def _why_not_empty(instance: Instance) -> str | None:
    reason = databases.why_not_empty(instance.database_url)
    if reason:
        return reason
    for folder in instance.folders.values():
        if folder.is_dir() and any(not path.is_dir() for path in folder.rglob("*")):
            return f"{folder} holds files"
    return None


def _known_revision(app: Flask, revision: object) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from pilot.migrate import alembic_config

    if not isinstance(revision, str) or not revision:
        return False
    try:
        return ScriptDirectory.from_config(alembic_config(app)).get_revision(revision) is not None
    except CommandError:
        return False


def _head(app: Flask) -> str:
    from alembic.script import ScriptDirectory

    from pilot.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(app)).get_current_head()


def restore(app: Flask, archive: Path) -> Summary:
    """Restore an archive into the app's instance, which must be empty.

    Reads the archive once to check every member against the manifest before anything is
    written, then extracts it into a folder inside the instance (hashing again), restores the
    database, moves the files into place, and migrates the database to the app's newest
    revision when the archive is older.
    """
    from pilot import migrate
    from pilot.extensions import db

    instance = Instance.of(app)
    kind = databases.database_kind(instance.database_url)
    reason = _why_not_empty(instance)
    if reason:
        raise BackupError(
            f"The instance {instance.path} is not empty: {reason}. A restore goes only into an "
            "empty instance (a new PILOT_INSTANCE_PATH, and an empty database), so that it "
            "replaces nothing."
        )
    manifest, found, whole = _scan(archive)
    listed = _listed(manifest)
    _verify(listed, found)
    archived_kind = manifest.get("database_kind")
    dump_name = databases.DUMP_NAMES.get(archived_kind)
    if dump_name is None or set(p for p in listed if p.startswith("database/")) != {
        f"database/{dump_name}"
    }:
        raise BackupError("The archive's manifest does not name one database copy of a known kind.")
    if archived_kind != kind:
        raise BackupError(
            f"The archive holds a {archived_kind} database and this instance uses {kind}: "
            "a restore across database kinds is not supported."
        )
    revision = manifest.get("alembic_revision")
    if not _known_revision(app, revision):
        raise BackupError(
            f"The archive's database is at migration {revision!r}, which this version of the app "
            "does not know: it was made by a newer version. Upgrade the app, then restore."
        )

    staging = Path(tempfile.mkdtemp(dir=instance.path, prefix=".restore-"))
    try:
        _, written, _ = _scan(archive, staging)
        _verify(listed, written)  # the archive did not change since it was checked
        with app.app_context():
            db.engine.dispose()
        databases.restore(instance.database_url, staging / "database" / dump_name)
        at = databases.current_revision(instance.database_url)
        if at != revision:
            raise BackupError(f"The restored database is at {at!r}, not at {revision!r}.")
        for folder, root in instance.folders.items():
            for path in sorted(p for p in listed if p.startswith(folder + "/")):
                target = root / path.split("/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(staging / path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    summary = Summary(
        archive.resolve(), whole.size, whole.sha256, kind, revision, list(listed.values())
    )
    head = _head(app)
    if revision != head:
        migrate.upgrade(app, "head")
        summary.migrated_to = head
    return summary
