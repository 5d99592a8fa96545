"""Declarative base with a constraint naming convention and shared column helpers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from marketplace import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids fall back to it there.
BigId = BigInteger().with_variant(Integer, "sqlite")


class LabelledEnum(StrEnum):
    """A string enum whose members carry their Chinese label: `NAME = "value", "标签"`.

    The value is what the database and the audit log store; the label is the one
    word every page shows for it.
    """

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        """The Chinese name of the member."""
        return self._label

    @classmethod
    def labels(cls) -> dict[LabelledEnum, str]:
        """Every member with its label, in definition order."""
        return {member: member.label for member in cls}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable VARCHAR + CHECK column type for a StrEnum."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class TimestampMixin:
    """Creation and update times in UTC."""

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=clock.utcnow, nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        default=clock.utcnow,
        onupdate=clock.utcnow,
        nullable=False,
    )


class StoredFileMixin:
    """What every stored upload records: names, type, size and checksum."""

    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
