"""The KPI catalogue (指标): common firm-level quality, market and brand indicators."""

from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from pilot.database import one_of


class Direction(StrEnum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"  # lower is better


def wrong_side(direction: str, baseline: Decimal | None, target: Decimal) -> bool:
    """A target that is no improvement on its baseline (warned about, saved only if confirmed)."""
    if baseline is None:
        return False
    return target < baseline if direction == Direction.HIGHER else target > baseline


class Kpi(SQLModel, table=True):
    __table_args__ = (one_of("direction", Direction),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    unit: str = Field(max_length=20)
    direction: str = Field(max_length=10)
    category: str = Field(max_length=30)
    formula: str = Field(default="", sa_type=sa.Text)
    position: int = 0
