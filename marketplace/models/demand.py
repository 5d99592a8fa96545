"""Unmet demands: free-text problems that found no strong match (agencies' leads)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, TimestampMixin
from marketplace.models.listing import Challenge
from marketplace.models.org import Organisation
from marketplace.models.reference import Region
from marketplace.models.user import User


class UnmetDemand(TimestampMixin, Base):
    """A problem description the catalogue could not answer well."""

    __tablename__ = "unmet_demands"
    __table_args__ = (
        Index("ix_unmet_demands_created_at", "created_at"),
        Index("ix_unmet_demands_session_hash_text_hash", "session_hash", "text_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    # SHA-256 of the text with white space collapsed: the same text, retyped.
    text_hash: Mapped[str] = mapped_column(String(64))
    # SHA-256 of a random key kept in the visitor's session; never the key itself.
    session_hash: Mapped[str | None] = mapped_column(String(64))
    # Best calibrated match score (0–100) when recorded; NULL if none was run.
    best_score: Mapped[float | None] = mapped_column(Float)
    seen_count: Mapped[int] = mapped_column(Integer, default=1)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("challenges.id"))
    drafted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    taken_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    org: Mapped[Organisation | None] = relationship(foreign_keys=[org_id])
    region: Mapped[Region | None] = relationship()
    challenge: Mapped[Challenge | None] = relationship()
    taken_by: Mapped[User | None] = relationship(foreign_keys=[taken_by_id])
    taken_by_org: Mapped[Organisation | None] = relationship(
        foreign_keys=[taken_by_org_id]
    )

    @property
    def state_label(self) -> str:
        """The lead's state in Chinese."""
        return "已接手" if self.taken_at is not None else "待接手"
