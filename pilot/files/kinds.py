"""What kind of file an upload is, decided from its bytes only (never its name or declared type).

`filetype` recognises PDF, JPEG and PNG by their magic numbers, which is all those need. For Office
documents its answer is not good enough: it names an OOXML file (docx/xlsx/pptx) from the first few
ZIP entry names only (a document whose parts are ordered differently comes back as "zip", and a
macro-enabled docm passes as docx), and it names legacy OLE files (doc/xls/ppt) from bytes at fixed
offsets. So a ZIP is opened and its [Content_Types].xml must declare a Word, Excel or PowerPoint
main part (macro-enabled and template variants are refused), and an OLE compound file is read with
`olefile` and must hold a WordDocument, Workbook/Book or "PowerPoint Document" stream at its root.
"""

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from struct import error as struct_error

import filetype
import olefile


@dataclass(frozen=True)
class Kind:
    extension: str
    content_type: str
    #: File name endings that already fit this kind.
    aliases: tuple[str, ...]


KINDS = {
    kind.extension: kind
    for kind in (
        Kind("pdf", "application/pdf", ("pdf",)),
        Kind("jpg", "image/jpeg", ("jpg", "jpeg", "jpe", "jfif")),
        Kind("png", "image/png", ("png",)),
        Kind(
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ("docx",),
        ),
        Kind(
            "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)
        ),
        Kind(
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ("pptx",),
        ),
        Kind("doc", "application/msword", ("doc",)),
        Kind("xls", "application/vnd.ms-excel", ("xls",)),
        Kind("ppt", "application/vnd.ms-powerpoint", ("ppt", "pps")),
    )
}

#: filetype's answers we take as they are (an animated PNG is still a PNG).
_FILETYPE_KINDS = {"pdf": "pdf", "jpg": "jpg", "png": "png", "apng": "png"}

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_OOXML_MAIN_PARTS = {
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
_CONTENT_TYPE_ATTR = re.compile(rb"""ContentType\s*=\s*["']([^"']+)["']""")
_CONTENT_TYPES_LIMIT = 1024 * 1024

_OLE_ROOT_STREAMS = (
    ("worddocument", "doc"),
    ("workbook", "xls"),
    ("book", "xls"),
    ("powerpoint document", "ppt"),
)


def detect_kind(data: bytes) -> Kind | None:
    """The allowed kind these bytes are, or None."""
    if data.startswith(OLE_MAGIC):
        return _legacy_office_kind(data)
    if data.startswith(ZIP_MAGIC):
        return _ooxml_kind(data)
    guessed = filetype.guess(data)
    if guessed is None:
        return None
    code = _FILETYPE_KINDS.get(guessed.extension)
    return KINDS[code] if code else None


def _ooxml_kind(data: bytes) -> Kind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = next(
                (i for i in archive.infolist() if i.filename.lower() == "[content_types].xml"),
                None,
            )
            if info is None or info.file_size > _CONTENT_TYPES_LIMIT:
                return None
            with archive.open(info) as part:
                content_types = part.read(_CONTENT_TYPES_LIMIT + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, zlib.error):
        return None
    declared = {value.lower() for value in _CONTENT_TYPE_ATTR.findall(content_types)}
    for main_part, code in _OOXML_MAIN_PARTS.items():
        if main_part in declared:
            return KINDS[code]
    return None


def _legacy_office_kind(data: bytes) -> Kind | None:
    try:
        with olefile.OleFileIO(data) as ole:
            roots = {
                path[0].lower()
                for path in ole.listdir(streams=True, storages=False)
                if len(path) == 1
            }
    except (OSError, ValueError, IndexError, struct_error):
        return None
    for stream, code in _OLE_ROOT_STREAMS:
        if stream in roots:
            return KINDS[code]
    return None
