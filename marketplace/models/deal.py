"""Deals (撮合项目) that brokers take from a match to a signed contract."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, TimestampMixin, str_enum
from marketplace.models.listing import Challenge, Result
from marketplace.models.org import Organisation


class DealStage(LabelledEnum):
    """Stages of a deal (DESIGN §2)."""

    LEAD = "lead", "线索"
    CONTACTED = "contacted", "已接洽"
    NEGOTIATING = "negotiating", "洽谈中"
    SIGNED = "signed", "已签约"
    LOST = "lost", "已终止"

    @property
    def is_lost(self) -> bool:
        """Whether the deal was given up (终止)."""
        return self is DealStage.LOST


STAGE_LABELS = DealStage.labels()


class Deal(TimestampMixin, Base):
    """A match between a demand side and a supply side being worked into a deal."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("demand_org_id <> supply_org_id", name="two_sides"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    demand_org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    supply_org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposals.id"), unique=True
    )
    broker_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    broker_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[DealStage] = mapped_column(
        str_enum(DealStage, "deal_stage"), default=DealStage.LEAD, index=True
    )

    demand_org: Mapped[Organisation] = relationship(foreign_keys=[demand_org_id])
    supply_org: Mapped[Organisation] = relationship(foreign_keys=[supply_org_id])
    broker_org: Mapped[Organisation | None] = relationship(foreign_keys=[broker_org_id])
    challenge: Mapped[Challenge | None] = relationship()
    result: Mapped[Result | None] = relationship()
    events: Mapped[list[DealEvent]] = relationship(
        back_populates="deal",
        order_by="DealEvent.created_at",
        cascade="all, delete-orphan",
    )


class DealEvent(Base):
    """A timeline entry on a deal: a stage change or a note."""

    __tablename__ = "deal_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    deal: Mapped[Deal] = relationship(back_populates="events")
