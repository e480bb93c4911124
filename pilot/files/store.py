"""Keeping uploaded files: checked by content, size-capped, hashed, versioned, kept on disk."""

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Collection
from functools import partial
from pathlib import Path, PurePath

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlmodel import Session, select
from werkzeug.datastructures import FileStorage

from pilot.accounts.models import User
from pilot.audit.services import log
from pilot.database import after_rollback
from pilot.files.kinds import Kind, detect_kind
from pilot.files.models import StoredFile


class FileRejected(ValueError):
    """The upload is refused; the message is for the user, `name` the file's when known."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


class KindNotAllowed(FileRejected):
    """The file is of a kind the store keeps, but not one its owner takes."""


NAME_MAX_CHARS = 120
#: Most file systems allow 255 bytes in a name; keep downloads well inside that.
NAME_MAX_BYTES = 240
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}

_STORAGE_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")


# File names -------------------------------------------------------------------------------------


def safe_name_part(text: str) -> str:
    """Text made safe as (part of) a file name: no control or formatting characters, no
    characters Windows refuses, no slash or backslash (each becomes `_`), no leading or trailing
    dots, white space folded. Chinese and other letters stay."""
    name = unicodedata.normalize("NFC", text)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = _WINDOWS_RESERVED.sub("_", name.replace("/", "_").replace("\\", "_"))
    name = " ".join(name.split())
    return name.lstrip(". ").rstrip(". ")


def clean_name(raw: str | None, kind: Kind) -> str:
    """The uploader's file name made safe to store and show: never used as a path.

    Keeps Chinese and other letters (unlike werkzeug's secure_filename); drops directory parts,
    control and formatting characters (including the right-to-left override used to disguise an
    extension), characters Windows refuses in names and leading dots; ends the name with an
    extension that fits the content.
    """
    name = safe_name_part(re.split(r"[/\\]", unicodedata.normalize("NFC", raw or ""))[-1])
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and suffix.lower() in kind.aliases:
        suffix = "." + suffix
    else:
        stem, suffix = name, "." + kind.extension
    while stem and (
        len(stem) + len(suffix) > NAME_MAX_CHARS
        or len((stem + suffix).encode("utf-8")) > NAME_MAX_BYTES
    ):
        stem = stem[:-1]
    return (stem.rstrip(". ") or "file") + suffix


def distinct_names(uploads: list[FileStorage]) -> None:
    """Give files of the same name in one upload distinct names ("image.jpg" twice from a
    phone), so the second is not kept as a new version of the first: "image (2).jpg".

    Compares names case-insensitively; a later upload of the same name is still a new version.
    """
    used: set[str] = set()
    for upload in uploads:
        name = PurePath((upload.filename or "").replace("\\", "/")).name
        stem, dot, suffix = name.rpartition(".")
        stem, suffix = (stem, dot + suffix) if dot and stem else (name, "")
        candidate, number = name, 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{stem} ({number}){suffix}"
        used.add(candidate.lower())
        upload.filename = candidate


def _size_label(size: int) -> str:
    if size >= 1024 * 1024 // 10:
        return format_decimal(size / (1024 * 1024), format="#,##0.#") + " MB"
    return format_decimal(size / 1024, format="#,##0.#") + " KB"


# Storing ----------------------------------------------------------------------------------------


def _read_capped(upload: FileStorage, cap: int) -> bytes:
    """At most cap + 1 bytes of the upload: one more than allowed tells it is too large."""
    buffer = bytearray()
    while len(buffer) <= cap:
        chunk = upload.stream.read(min(64 * 1024, cap + 1 - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return bytes(buffer)


def files_root() -> Path:
    return Path(current_app.config["FILES_PATH"])


def _write(data: bytes) -> tuple[str, Path]:
    """Write the bytes at a new storage key (temporary file, then rename); return key and path."""
    token = uuid.uuid4().hex
    key = f"{token[:2]}/{token[2:4]}/{token}"
    path = files_root() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return key, path


def _checked(upload: FileStorage, content_types: Collection[str] | None) -> tuple[bytes, Kind]:
    """The upload's bytes and kind; FileRejected when it is empty, too large or not an allowed
    kind: one the store keeps, and one of `content_types` when the owner takes only those
    (KindNotAllowed)."""
    cap = current_app.config["MAX_UPLOAD_BYTES"]
    data = _read_capped(upload, cap)
    if not data:
        raise FileRejected(_("The file is empty."))
    if len(data) > cap:
        raise FileRejected(
            _("The file is too large: at most %(limit)s can be uploaded.", limit=_size_label(cap))
        )
    kind = detect_kind(data)
    if kind is None:
        raise FileRejected(
            _(
                "Only PDF files, JPEG or PNG images and Office documents (Word, Excel, "
                "PowerPoint) can be uploaded; the content of this file is none of these."
            )
        )
    if content_types is not None and kind.content_type not in content_types:
        raise KindNotAllowed(_("This kind of file cannot be added here."))
    return data, kind


def save_upload(
    session: Session,
    actor: User,
    upload: FileStorage,
    *,
    owner_type: str,
    owner_id: int,
    case_id: int | None = None,
    batch_id: int | None = None,
    content_types: Collection[str] | None = None,
) -> StoredFile:
    """Check and keep an uploaded file for an owner; the same name again adds a version.

    Raises FileRejected (nothing written) when the file is refused (see _checked).
    """
    data, kind = _checked(upload, content_types)
    owner = dict(owner_type=owner_type, owner_id=owner_id, case_id=case_id, batch_id=batch_id)
    return _keep(session, actor, upload, data, kind, **owner)


def save_uploads(
    session: Session,
    actor: User,
    uploads: list[FileStorage],
    *,
    owner_type: str,
    owner_id: int,
    case_id: int | None = None,
    batch_id: int | None = None,
    content_types: Collection[str] | None = None,
) -> list[StoredFile]:
    """Keep the files of one upload for an owner, each under a distinct name (distinct_names).

    Every file is checked before any is written: when one is refused, FileRejected (or
    KindNotAllowed) names it, with its `name` set, and nothing is kept.
    """
    distinct_names(uploads)
    checked = []
    for upload in uploads:
        shown = upload.filename
        try:
            checked.append((upload, *_checked(upload, content_types)))
        except FileRejected as error:
            raise type(error)(f"{shown}: {error}", name=shown) from error
    owner = dict(owner_type=owner_type, owner_id=owner_id, case_id=case_id, batch_id=batch_id)
    return [_keep(session, actor, upload, data, kind, **owner) for upload, data, kind in checked]


def _keep(
    session: Session,
    actor: User,
    upload: FileStorage,
    data: bytes,
    kind: Kind,
    *,
    owner_type: str,
    owner_id: int,
    case_id: int | None,
    batch_id: int | None,
) -> StoredFile:
    """Write checked bytes and record them; the same name again adds a version."""
    name = clean_name(upload.filename, kind)
    previous = session.exec(
        select(StoredFile).where(
            StoredFile.owner_type == owner_type,
            StoredFile.owner_id == owner_id,
            StoredFile.name == name,
            StoredFile.is_current,
        )
    ).first()

    key, path = _write(data)
    after_rollback(session, partial(path.unlink, missing_ok=True))
    stored = StoredFile(
        owner_type=owner_type,
        owner_id=owner_id,
        case_id=case_id,
        batch_id=batch_id,
        name=name,
        content_type=kind.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        version=previous.version + 1 if previous else 1,
        previous_id=previous.id if previous else None,
        uploaded_by_id=actor.id,
    )
    if previous:
        previous.is_current = False
        session.add(previous)
    session.add(stored)
    log(
        session,
        actor,
        stored,
        "upload",
        case_id=case_id,
        after={
            "owner": f"{owner_type}:{owner_id}",
            "name": name,
            "version": stored.version,
            "size": stored.size,
            "sha256": stored.sha256,
        },
    )
    return stored


def open_stored(stored: StoredFile) -> Path:
    """The path of a stored file's bytes; FileNotFoundError when they are missing."""
    if not _STORAGE_KEY.fullmatch(stored.storage_key):
        raise FileNotFoundError(stored.storage_key)
    path = files_root() / stored.storage_key
    if not path.is_file():
        raise FileNotFoundError(str(path))
    return path


def file_versions(session: Session, stored: StoredFile) -> list[StoredFile]:
    """Every version of the file (same owner, same name), newest first."""
    return list(
        session.exec(
            select(StoredFile)
            .where(
                StoredFile.owner_type == stored.owner_type,
                StoredFile.owner_id == stored.owner_id,
                StoredFile.name == stored.name,
            )
            .order_by(StoredFile.version.desc())
        ).all()
    )
