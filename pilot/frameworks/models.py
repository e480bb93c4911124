"""Assessment frameworks held as data: categories → items with points, and a scoring scale."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, Relationship, SQLModel

from pilot.database import UTCDateTime, one_of, utcnow


class Scale(StrEnum):
    #: GB/T 19580 style: a percentage in 5 % steps, read against descriptive bands.
    BAND = "band"
    #: Maturity levels 1–5; level ÷ 5 is the item's percentage.
    MATURITY = "maturity"


class Domain(StrEnum):
    QUALITY = "quality"
    BRAND = "brand"


class ItemKind(StrEnum):
    """Which band descriptor applies to an item (band scale only)."""

    PROCESS = "process"
    RESULT = "result"


class Framework(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("code", "version"),
        one_of("domain", Domain),
        one_of("scale", Scale),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40)
    version: int = 1
    name: str = Field(max_length=200)
    #: The standard and edition it follows, e.g. "GB/T 19580-2012".
    edition: str = Field(default="", max_length=100)
    #: "quality" or "brand".
    domain: str = Field(max_length=20)
    scale: str = Field(max_length=20)
    total_points: Decimal = Field(max_digits=8, decimal_places=1)
    #: Band scale: [{"min", "max", "process", "result"}];
    #: maturity scale: [{"level", "name", "descriptor"}].
    levels: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    note: str = Field(default="", sa_type=sa.Text)
    #: SHA-256 of the loaded definition: loading a changed file under the same version is caught.
    digest: str = Field(default="", max_length=64)
    superseded_by_id: int | None = Field(default=None, foreign_key="framework.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    categories: list["FrameworkCategory"] = Relationship(
        back_populates="framework",
        sa_relationship_kwargs={"order_by": "FrameworkCategory.position"},
    )

    @property
    def items(self) -> list["FrameworkItem"]:
        return [item for category in self.categories for item in category.items]


class FrameworkCategory(SQLModel, table=True):
    __tablename__ = "framework_category"

    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    code: str = Field(max_length=20)
    name: str = Field(max_length=200)
    points: Decimal = Field(max_digits=8, decimal_places=1)
    position: int = 0

    framework: Framework = Relationship(back_populates="categories")
    items: list["FrameworkItem"] = Relationship(
        back_populates="category", sa_relationship_kwargs={"order_by": "FrameworkItem.position"}
    )


class FrameworkItem(SQLModel, table=True):
    __tablename__ = "framework_item"
    __table_args__ = (one_of("kind", ItemKind),)

    id: int | None = Field(default=None, primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", index=True)
    category_id: int = Field(foreign_key="framework_category.id", index=True)
    code: str = Field(max_length=20)
    name: str = Field(max_length=200)
    points: Decimal = Field(max_digits=8, decimal_places=1)
    #: "process" or "result": which band descriptor applies (band scale only).
    kind: str = Field(default=ItemKind.PROCESS, max_length=10)
    position: int = 0

    category: FrameworkCategory = Relationship(back_populates="items")


class BatchFramework(SQLModel, table=True):
    """The frameworks a batch diagnoses against."""

    __tablename__ = "batch_framework"

    batch_id: int = Field(foreign_key="batch.id", primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", primary_key=True)
