"""The file store and its routes: real files on disk, checked by content, served after a permission
check."""

import base64
import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlmodel import select
from werkzeug.datastructures import FileStorage

from pilot.audit.models import AuditLog
from pilot.cases.services import withdraw_case
from pilot.files.kinds import KINDS, detect_kind
from pilot.files.models import StoredFile
from pilot.files.store import (
    FileRejected,
    KindNotAllowed,
    clean_name,
    file_versions,
    save_upload,
    save_uploads,
)
from tests.conftest import login
from tests.factories import pdf_bytes

# Sample files, made here -------------------------------------------------------------------------


def png_bytes() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xc8\x1e\x1e")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


#: A 1×1 JPEG written by Pillow.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1R"
    "V19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2P/wAARCAABAAEDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA"
    "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6"
    "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
    "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA"
    "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE"
    "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDHooorhPqD/9k="
)


OOXML = {
    "docx": ("word/document.xml", "wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
    "pptx": ("ppt/presentation.xml", "presentationml.presentation.main+xml"),
}


def ooxml_bytes(kind: str, main_type: str | None = None, parts_first: bool = False) -> bytes:
    """A minimal Office Open XML package; parts_first puts [Content_Types].xml last."""
    part, suffix = OOXML[kind]
    main_type = main_type or f"application/vnd.openxmlformats-officedocument.{suffix}"
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main_type}"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{part}"/></Relationships>'
    )
    entries = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", rels),
        (part, '<?xml version="1.0"?><document>质量提升</document>'),
    ]
    if parts_first:
        # Five entries before the main part: filetype 1.2 looks no further and answers "zip".
        extra = [(f"docProps/item{i}.xml", "<x/>") for i in range(5)]
        entries = extra + entries[1:] + entries[:1]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries:
            archive.writestr(name, text)
    return buffer.getvalue()


def ole_bytes(*streams: str) -> bytes:
    """A minimal OLE compound file (version 3, 512-byte sectors) with these streams at its root.

    Sector 0 holds the FAT, sector 1 the directory, the rest the streams' bytes (4 KB each).
    """
    end, free, fat_sector, no_entry = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x2C, 1, 1, 0, 4096, end, 0, end, 0, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))

    fat = [fat_sector, end]
    for _stream in streams:
        first = len(fat)
        fat += list(range(first + 1, first + 8)) + [end]
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, left=no_entry, right=no_entry, child=no_entry, start=0, size=0):
        raw = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        raw[: len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 0x40, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 0x44, left, right, child)
        struct.pack_into("<II", raw, 0x74, start, size)
        return bytes(raw)

    directory = entry("Root Entry", 5, child=1 if streams else no_entry, start=end)
    for index, name in enumerate(streams, start=1):
        right = index + 1 if index < len(streams) else no_entry
        directory += entry(name, 2, right=right, start=2 + (index - 1) * 8, size=4096)
    directory += bytes(128) * (4 - len(streams) - 1)
    assert len(directory) == 512
    data = b"".join(bytes([65 + i]) * 4096 for i in range(len(streams)))
    return bytes(header) + struct.pack("<128I", *fat) + directory + data


SAMPLES = {
    "pdf": ("检查报告.pdf", pdf_bytes(), "application/pdf"),
    "png": ("现场照片.png", png_bytes(), "image/png"),
    "jpg": ("photo.JPG", JPEG, "image/jpeg"),
    "docx": ("整改方案.docx", ooxml_bytes("docx"), KINDS["docx"].content_type),
    "xlsx": ("台账.xlsx", ooxml_bytes("xlsx"), KINDS["xlsx"].content_type),
    "pptx": ("培训.pptx", ooxml_bytes("pptx"), KINDS["pptx"].content_type),
    "doc": ("旧版.doc", ole_bytes("WordDocument", "1Table"), "application/msword"),
    "xls": ("旧表.xls", ole_bytes("Workbook"), "application/vnd.ms-excel"),
    "ppt": ("旧稿.ppt", ole_bytes("PowerPoint Document"), "application/vnd.ms-powerpoint"),
}


# Helpers ------------------------------------------------------------------------------------------


def client_for(app, username: str | None):
    client = app.test_client()
    if username:
        login(client, username)
    return client


def upload(client, case_id: int, data: bytes, name: str, **kwargs):
    return client.post(f"/files/cases/{case_id}", data={"file": (io.BytesIO(data), name)}, **kwargs)


def download(client, file_id: int):
    """GET a stored file, reading and closing the response (send_file keeps the file open)."""
    response = client.get(f"/files/{file_id}")
    response.get_data()
    response.close()
    return response


def files_on_disk(app) -> list[Path]:
    return sorted(p for p in Path(app.config["FILES_PATH"]).rglob("*") if p.is_file())


def stored_files(session) -> list[StoredFile]:
    return list(session.exec(select(StoredFile).order_by(StoredFile.id)).all())


def assert_nothing_stored(app, session):
    assert stored_files(session) == []
    assert files_on_disk(app) == []
    assert session.exec(select(AuditLog).where(AuditLog.record_type == "stored_file")).all() == []


# Accepted files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(SAMPLES))
def test_allowed_file_is_kept_and_served_to_everyone_who_sees_the_case(app, session, world, code):
    name, data, content_type = SAMPLES[code]
    staff = client_for(app, "staff")

    response = upload(staff, world.case_a.id, data, name, follow_redirects=True)

    assert response.status_code == 200
    assert response.request.path == f"/cases/{world.case_a.id}"
    assert f"{name} was uploaded." in response.get_data(as_text=True)
    [stored] = stored_files(session)
    assert (stored.name, stored.content_type, stored.size) == (name, content_type, len(data))
    assert (stored.owner_type, stored.owner_id, stored.case_id) == (
        "case",
        world.case_a.id,
        world.case_a.id,
    )
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (stored.version, stored.is_current, stored.uploaded_by_id) == (1, True, world.staff.id)
    assert files_on_disk(app) == [Path(app.config["FILES_PATH"]) / stored.storage_key]

    for username in ("staff", "expert_a", "firm_a"):
        response = download(client_for(app, username), stored.id)
        assert response.status_code == 200, username
        assert response.data == data
        assert hashlib.sha256(response.data).hexdigest() == stored.sha256
        assert response.mimetype == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert f"filename*=UTF-8''{quote(name)}" in disposition or f"filename={name}" in disposition


def test_upload_is_written_to_the_audit_log(app, session, world):
    upload(client_for(app, "staff"), world.case_a.id, pdf_bytes(), "报告.pdf")

    [stored] = stored_files(session)
    [entry] = session.exec(select(AuditLog).where(AuditLog.record_type == "stored_file")).all()
    assert (entry.record_id, entry.action, entry.case_id) == (stored.id, "upload", world.case_a.id)
    assert entry.actor_id == world.staff.id
    assert entry.after["sha256"] == stored.sha256


def test_office_document_is_recognised_whatever_the_order_of_its_parts():
    assert detect_kind(ooxml_bytes("docx", parts_first=True)) == KINDS["docx"]
    assert detect_kind(ooxml_bytes("xlsx", parts_first=True)) == KINDS["xlsx"]


def test_file_of_exactly_the_limit_is_accepted(app, session, world):
    data = pdf_bytes()
    app.config["MAX_UPLOAD_BYTES"] = len(data)

    upload(client_for(app, "staff"), world.case_a.id, data, "a.pdf")

    assert len(stored_files(session)) == 1


# Refused files ------------------------------------------------------------------------------------


def test_text_file_named_pdf_is_refused_and_nothing_is_kept(app, session, world):
    response = upload(
        client_for(app, "staff"),
        world.case_a.id,
        "这不是PDF，只是文字。".encode(),
        "报告.pdf",
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "can be uploaded; the content of this file is none of these" in response.get_data(
        as_text=True
    )
    assert_nothing_stored(app, session)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<html><script>alert(1)</script></html>", id="html"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", id="svg"),
        pytest.param(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", id="gif"),
        pytest.param(b"MZ\x90\x00" + bytes(200), id="exe"),
        pytest.param(b"PK\x03\x04 not really a zip at all", id="broken-zip"),
        pytest.param(ooxml_bytes("docx", main_type="application/xml"), id="plain-zip"),
        pytest.param(
            ooxml_bytes("docx", main_type="application/vnd.ms-word.document.macroEnabled.main+xml"),
            id="docm",
        ),
        pytest.param(ole_bytes("__properties_version1.0", "__nameid_version1.0"), id="outlook-msg"),
        pytest.param(ole_bytes(), id="empty-ole"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), id="broken-ole"),
    ],
)
def test_content_that_is_not_an_allowed_kind_is_refused(data):
    assert detect_kind(data) is None


def test_over_size_file_is_refused_with_the_limit(app, session, world):
    app.config["MAX_UPLOAD_BYTES"] = 200 * 1024
    data = pdf_bytes() + b"%" + bytes(200 * 1024)

    response = upload(
        client_for(app, "staff"), world.case_a.id, data, "大文件.pdf", follow_redirects=True
    )

    assert response.request.path == f"/cases/{world.case_a.id}"
    assert "The file is too large: at most 0.2 MB can be uploaded." in response.get_data(
        as_text=True
    )
    assert_nothing_stored(app, session)


def test_request_larger_than_max_content_length_is_413(app, session, world):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    response = upload(client_for(app, "staff"), world.case_a.id, bytes(100 * 1024), "a.pdf")

    assert response.status_code == 413
    assert "The file is larger than the allowed size." in response.get_data(as_text=True)
    assert_nothing_stored(app, session)


def test_empty_file_is_refused(app, session, world):
    response = upload(
        client_for(app, "staff"), world.case_a.id, b"", "空.pdf", follow_redirects=True
    )

    assert "The file is empty." in response.get_data(as_text=True)
    assert_nothing_stored(app, session)


def test_form_without_a_file_asks_for_one(app, session, world):
    response = client_for(app, "staff").post(
        f"/files/cases/{world.case_a.id}", data={}, follow_redirects=True
    )

    assert "Choose a file to upload." in response.get_data(as_text=True)
    assert_nothing_stored(app, session)


def test_upload_without_form_token_is_refused(app, session, world):
    response = upload(client_for(app, "staff"), world.case_a.id, pdf_bytes(), "a.pdf", csrf=False)

    assert response.status_code == 400
    assert_nothing_stored(app, session)


# Names and paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("../../x.pdf", "x.pdf"),
        ("..\\..\\证据.pdf", "证据.pdf"),
        ("C:\\Users\\张三\\Desktop\\整改报告.pdf", "整改报告.pdf"),
        ("..", "file.pdf"),
        ("", "file.pdf"),
        (None, "file.pdf"),
        (".htaccess", "htaccess.pdf"),
        ("报告\n\t(终稿).pdf", "报告(终稿).pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe.pdf"),
        ('a<b>:"c"|?*.PDF', "a_b___c____.PDF"),
        ("质量报告v1.2", "质量报告v1.2.pdf"),
        ("  . 空格  文件 .pdf  ", "空格 文件.pdf"),
    ],
)
def test_file_name_is_cleaned_but_keeps_chinese(raw, cleaned):
    assert clean_name(raw, KINDS["pdf"]) == cleaned


def test_long_file_name_is_shortened_keeping_its_extension():
    name = clean_name("质" * 300 + ".docx", KINDS["docx"])

    assert name.endswith("质.docx")
    assert len(name.encode("utf-8")) <= 240


@pytest.mark.parametrize(
    ("sent", "cleaned"),
    [
        ("../../x.pdf", "x.pdf"),
        # A quoted header value escapes a backslash; the server reads ..\..\证据.pdf.
        ("..\\\\..\\\\证据.pdf", "证据.pdf"),
    ],
)
def test_path_like_name_is_stored_cleaned_and_bytes_stay_in_files_path(
    app, session, world, tmp_path, sent, cleaned
):
    data = pdf_bytes()
    before = {p for p in tmp_path.rglob("*") if p.is_file()}

    upload(client_for(app, "staff"), world.case_a.id, data, sent)

    [stored] = stored_files(session)
    assert stored.name == cleaned
    files_path = Path(app.config["FILES_PATH"]).resolve()
    added = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    written = [p for p in added if p.read_bytes() == data]
    assert [p.resolve() for p in written] == [(files_path / stored.storage_key).resolve()]
    assert files_path in written[0].resolve().parents
    assert not (tmp_path / "x.pdf").exists() and not (tmp_path.parent / "x.pdf").exists()

    response = download(client_for(app, "staff"), stored.id)
    assert (
        f"filename*=UTF-8''{quote(cleaned)}" in response.headers["Content-Disposition"]
        or f"filename={cleaned}" in response.headers["Content-Disposition"]
    )


# Who may download and upload ----------------------------------------------------------------------


@pytest.fixture
def stored(app, session, world) -> StoredFile:
    upload(client_for(app, "staff"), world.case_a.id, pdf_bytes(), "证据.pdf")
    [stored] = stored_files(session)
    return stored


@pytest.mark.parametrize("username", ["firm_b", "expert_b"])
def test_user_who_cannot_see_the_case_gets_404(app, stored, username):
    response = download(client_for(app, username), stored.id)

    assert response.status_code == 404
    assert pdf_bytes() not in response.data


def test_anonymous_download_is_sent_to_login(app, stored):
    response = download(client_for(app, None), stored.id)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_unknown_file_is_404(app, world):
    assert download(client_for(app, "staff"), 999).status_code == 404


def test_file_whose_bytes_are_gone_is_404(app, stored):
    (Path(app.config["FILES_PATH"]) / stored.storage_key).unlink()

    assert download(client_for(app, "staff"), stored.id).status_code == 404


@pytest.mark.parametrize(
    ("username", "status"),
    [("expert_a", 403), ("firm_a", 403), ("expert_b", 404), ("firm_b", 404)],
)
def test_expert_and_firm_user_cannot_upload_case_documents(app, session, world, username, status):
    response = upload(client_for(app, username), world.case_a.id, pdf_bytes(), "a.pdf")

    assert response.status_code == status
    assert_nothing_stored(app, session)


def test_staff_cannot_upload_to_a_withdrawn_case(app, session, world):
    withdraw_case(session, world.staff, world.case_a, "企业退出")
    session.commit()

    response = upload(client_for(app, "staff"), world.case_a.id, pdf_bytes(), "a.pdf")

    assert response.status_code == 403
    assert_nothing_stored(app, session)


def test_anonymous_upload_is_sent_to_login(app, session, world):
    response = upload(client_for(app, None), world.case_a.id, pdf_bytes(), "a.pdf")

    assert response.status_code == 302
    assert_nothing_stored(app, session)


# Versions -----------------------------------------------------------------------------------------


def test_same_name_again_adds_a_version_and_keeps_the_old_one(app, session, world):
    staff = client_for(app, "staff")
    first, second = pdf_bytes("first"), pdf_bytes("second")
    upload(staff, world.case_a.id, first, "整改报告.pdf")

    response = upload(staff, world.case_a.id, second, "整改报告.pdf", follow_redirects=True)

    assert "整改报告.pdf was uploaded as version 2." in response.get_data(as_text=True)
    old, new = stored_files(session)
    assert (old.version, old.is_current) == (1, False)
    assert (new.version, new.is_current, new.previous_id) == (2, True, old.id)
    assert file_versions(session, old) == [new, old]
    assert len(files_on_disk(app)) == 2
    firm = client_for(app, "firm_a")
    assert download(firm, old.id).data == first
    assert download(firm, new.id).data == second
    page = staff.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert f"/files/{new.id}" in page and f'/files/{old.id}"' not in page


def test_same_name_on_another_case_is_a_separate_file(app, session, world):
    staff = client_for(app, "staff")
    upload(staff, world.case_a.id, pdf_bytes(), "报告.pdf")
    upload(staff, world.case_b.id, pdf_bytes(), "报告.pdf")

    assert [(f.case_id, f.version, f.is_current) for f in stored_files(session)] == [
        (world.case_a.id, 1, True),
        (world.case_b.id, 1, True),
    ]


# The store on its own -----------------------------------------------------------------------------


def test_bytes_of_an_upload_that_is_rolled_back_are_removed(app, session, world):
    with app.test_request_context():
        save_upload(
            session,
            world.staff,
            FileStorage(io.BytesIO(pdf_bytes()), "a.pdf"),
            owner_type="case",
            owner_id=world.case_a.id,
            case_id=world.case_a.id,
        )
        assert len(files_on_disk(app)) == 1

        session.rollback()

    assert_nothing_stored(app, session)


def test_bytes_of_a_committed_upload_stay(app, session, world):
    with app.test_request_context():
        stored = save_upload(
            session,
            world.staff,
            FileStorage(io.BytesIO(pdf_bytes()), "a.pdf"),
            owner_type="case",
            owner_id=world.case_a.id,
            case_id=world.case_a.id,
        )
        session.commit()
        session.rollback()  # a later, unrelated rollback leaves the committed file alone

    assert files_on_disk(app) == [Path(app.config["FILES_PATH"]) / stored.storage_key]


def test_save_uploads_checks_every_file_before_writing_any(app, session, world):
    uploads = [
        FileStorage(io.BytesIO(pdf_bytes()), "good.pdf"),
        FileStorage(io.BytesIO(b""), "empty.pdf"),
    ]
    with app.test_request_context(), pytest.raises(FileRejected) as refused:
        save_uploads(
            session,
            world.staff,
            uploads,
            owner_type="case",
            owner_id=world.case_a.id,
            case_id=world.case_a.id,
        )

    assert str(refused.value) == "empty.pdf: The file is empty."
    assert refused.value.name == "empty.pdf"
    assert_nothing_stored(app, session)


def test_save_uploads_names_the_file_of_a_kind_its_owner_does_not_take(app, session, world):
    with app.test_request_context(), pytest.raises(KindNotAllowed) as refused:
        save_uploads(
            session,
            world.staff,
            [
                FileStorage(io.BytesIO(png_bytes()), "a.png"),
                FileStorage(io.BytesIO(pdf_bytes()), "b.pdf"),
            ],
            owner_type="case",
            owner_id=world.case_a.id,
            content_types={"image/png"},
        )

    assert refused.value.name == "b.pdf"
    assert files_on_disk(app) == []


def test_save_uploads_keeps_two_files_of_one_name_apart(app, session, world):
    with app.test_request_context():
        stored = save_uploads(
            session,
            world.staff,
            [
                FileStorage(io.BytesIO(pdf_bytes()), "a.pdf"),
                FileStorage(io.BytesIO(pdf_bytes()), "a.pdf"),
            ],
            owner_type="case",
            owner_id=world.case_a.id,
            case_id=world.case_a.id,
        )
        session.commit()

    assert [(f.name, f.version) for f in stored] == [("a.pdf", 1), ("a (2).pdf", 1)]
    assert len(files_on_disk(app)) == 2


def test_store_cleans_a_windows_path_given_as_the_file_name(app, session, world):
    with app.test_request_context():
        stored = save_upload(
            session,
            world.staff,
            FileStorage(io.BytesIO(pdf_bytes()), "..\\..\\证据.pdf"),
            owner_type="case",
            owner_id=world.case_a.id,
            case_id=world.case_a.id,
        )
        session.commit()

    assert stored.name == "证据.pdf"
    assert files_on_disk(app) == [Path(app.config["FILES_PATH"]) / stored.storage_key]
