"""Edits of published listings: applied wording changes, reviewed material ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, str_enum
from marketplace.models.listing import Challenge, Result
from marketplace.models.user import User


class ChangeKind(LabelledEnum):
    """Wording changes apply at once; material ones wait for the bureau."""

    WORDING = "wording", "文字修改"
    MATERIAL = "material", "重要修改"


class ChangeStatus(LabelledEnum):
    """Where an edit of a published listing stands."""

    APPLIED = "applied", "已生效"
    PENDING = "pending", "待科技局审核"
    APPROVED = "approved", "审核通过，已生效"
    REJECTED = "rejected", "未通过审核"
    WITHDRAWN = "withdrawn", "已撤回"


CHANGE_STATUS_LABELS = ChangeStatus.labels()


class ListingChange(Base):
    """One edit of a published challenge or result, as {field: [old, new]}."""

    __tablename__ = "listing_changes"
    __table_args__ = (
        CheckConstraint(
            "(challenge_id IS NULL) <> (result_id IS NULL)", name="one_listing"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(
        ForeignKey("results.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    kind: Mapped[ChangeKind] = mapped_column(str_enum(ChangeKind, "change_kind"))
    status: Mapped[ChangeStatus] = mapped_column(
        str_enum(ChangeStatus, "change_status"), index=True
    )
    # JSON-ready values: dates as ISO text, money in fen, lists as lists.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str] = mapped_column(Text, default="")

    challenge: Mapped[Challenge | None] = relationship()
    result: Mapped[Result | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    @property
    def listing(self) -> Challenge | Result:
        """The challenge or result this change is about."""
        return self.challenge if self.challenge_id is not None else self.result
