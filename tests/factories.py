"""Test data made through the app's own services."""

from datetime import date
from decimal import Decimal
from itertools import count

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
