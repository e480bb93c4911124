"""Test data made through the app's own services."""

from datetime import date
from decimal import Decimal
from itertools import count

from werkzeug.datastructures import FileStorage

from pilot.accounts.services import create_user
from pilot.batches.services import create_batch
from pilot.cases.services import assign_experts, open_case
from pilot.demo import org_code
from pilot.firms.credit_code import complete
from pilot.firms.services import create_firm

PASSWORD = "correct-horse-9"
_serial = count(1)


def credit_code() -> str:
    return complete(f"91410105{org_code(47000000 + next(_serial) * 131)}")


def make_user(session, role: str, username: str | None = None, **fields):
    username = username or f"{role}{next(_serial)}"
    fields.setdefault("display_name", username)
    return create_user(session, None, PASSWORD, username=username, role=role, **fields)


def make_batch(session, name: str | None = None, start: date = date(2026, 3, 2), **fields):
    return create_batch(
        session,
        None,
        name=name or f"批次{next(_serial)}",
        year=start.year,
        start_date=start,
        end_date=date(start.year, 12, 31) if start.month < 7 else date(start.year + 1, 6, 30),
        expert_hours_bought=Decimal("400"),
        **fields,
    )


def make_firm(session, name: str | None = None, **fields):
    values = dict(
        name=name or f"测试企业{next(_serial)}有限公司",
        credit_code=credit_code(),
        district="410105",
        industry_code="30",
        mujun_class="A",
        mujun_year=2025,
    )
    values.update(fields)
    return create_firm(session, None, **values)


def make_case(session, batch, firm, experts=(), lead=None):
    case = open_case(session, None, batch, firm)
    if experts:
        session.refresh(case, ["assignments"])
        assign_experts(session, None, case, [e.id for e in experts], (lead or experts[0]).id)
    return case


def pdf_bytes(text: str = "Hello") -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_case_document(session, case, actor, name: str = "一企一策协议.pdf"):
    """A stored PDF attached to the case, as staff upload it on the case page."""
    from io import BytesIO

    from pilot.files.store import save_upload

    upload = FileStorage(BytesIO(pdf_bytes()), filename=name, content_type="application/pdf")
    return save_upload(session, actor, upload, owner_type="case", owner_id=case.id, case_id=case.id)
