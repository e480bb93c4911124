"""Firms taking part in a pilot (试点企业)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from pilot.database import UTCDateTime, utcnow


class Firm(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    #: 统一社会信用代码, validated with the GB 32100 check character.
    credit_code: str = Field(max_length=18, unique=True)
    district: str = Field(max_length=6, index=True)
    #: GB/T 4754 division (大类), two digits.
    industry_code: str = Field(max_length=2, index=True)
    mujun_class: str = Field(max_length=1)
    mujun_year: int
    land_mu: Decimal | None = Field(default=None, max_digits=12, decimal_places=2)
    employees: int | None = None
    #: Annual revenue in 10,000 RMB (万元).
    revenue: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)
    address: str = Field(default="", max_length=300)
    #: [{"name", "title", "phone", "email"}]
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    #: Codes from pilot.reference.CERTIFICATIONS.
    certifications: list[str] = Field(default_factory=list, sa_type=JSON)
    awards: str = Field(default="", sa_type=sa.Text)
    brands: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Raised by every save; a save made on an older version is refused (no lost edit).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
