"""Reference data: the city's regions and the national technology fields."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base, str_enum


class RegionKind(StrEnum):
    """What sort of area a region is."""

    DISTRICT = "district"
    COUNTY = "county"
    ZONE = "zone"
    OUTSIDE = "outside"


class Region(Base):
    """A county, district or zone of the city (GB/T 2260 code where it has one)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[RegionKind] = mapped_column(str_enum(RegionKind, "region_kind"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class TechField(Base):
    """One of the official technology fields (技术领域) contracts are counted by."""

    __tablename__ = "tech_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<TechField {self.code}>"
