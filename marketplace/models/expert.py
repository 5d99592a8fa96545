"""The expert pool (专家库), review panels and their scoring sheets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, TimestampMixin, str_enum
from marketplace.models.listing import Challenge
from marketplace.models.org import Organisation
from marketplace.models.proposal import Proposal
from marketplace.models.user import User


class ExpertProfile(TimestampMixin, Base):
    """A user the bureau has admitted to the expert pool."""

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # The organisation the expert works for: the user's own, kept here so that a
    # conflict of interest is decided on the affiliation the bureau recorded.
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(40), default="")
    # TechField codes the expert reviews in.
    field_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    specialities: Mapped[str] = mapped_column(Text, default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")
    org: Mapped[Organisation] = relationship()

    @property
    def name(self) -> str:
        """The expert's name, or the login e-mail when none was given."""
        return self.user.name or self.user.email


class PanelPurpose(LabelledEnum):
    """What a panel is formed to assess."""

    PROPOSALS = "proposals", "揭榜申报评审"
    MIDTERM = "midterm", "中期检查"
    FINAL = "final", "结题验收"
    EXEMPTION = "exemption", "容错免责认定"


PURPOSE_LABELS = PanelPurpose.labels()


class PanelStatus(LabelledEnum):
    """A panel scores until every member has submitted; then it is complete."""

    SCORING = "scoring", "评审中"
    COMPLETED = "completed", "已完成"

    @property
    def is_scoring(self) -> bool:
        """Whether members are still scoring."""
        return self is PanelStatus.SCORING

    @property
    def is_completed(self) -> bool:
        """Whether every member has submitted."""
        return self is PanelStatus.COMPLETED


PANEL_STATUS_LABELS = PanelStatus.labels()


class ReviewPanel(TimestampMixin, Base):
    """A panel of experts formed for one challenge, acceptance or exemption."""

    __tablename__ = "review_panels"
    __table_args__ = (
        CheckConstraint(
            "weight_merit >= 0 AND weight_feasibility >= 0"
            " AND weight_team >= 0 AND weight_price >= 0",
            name="weights_positive",
        ),
        CheckConstraint(
            "weight_merit + weight_feasibility + weight_team + weight_price = 100",
            name="weights_sum",
        ),
        CheckConstraint("max_score > 0 AND max_score <= 100", name="max_score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[PanelPurpose] = mapped_column(
        str_enum(PanelPurpose, "panel_purpose"), index=True
    )
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    acceptance_id: Mapped[int | None] = mapped_column(
        ForeignKey("acceptances.id"), index=True
    )
    exemption_id: Mapped[int | None] = mapped_column(
        ForeignKey("exemptions.id"), index=True
    )
    status: Mapped[PanelStatus] = mapped_column(
        str_enum(PanelStatus, "panel_status"), default=PanelStatus.SCORING, index=True
    )
    # The scoring sheet: weights in percent, each criterion scored 0..max_score.
    weight_merit: Mapped[int] = mapped_column(Integer, default=40)
    weight_feasibility: Mapped[int] = mapped_column(Integer, default=30)
    weight_team: Mapped[int] = mapped_column(Integer, default=20)
    weight_price: Mapped[int] = mapped_column(Integer, default=10)
    max_score: Mapped[int] = mapped_column(Integer, default=100)
    formed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    formed_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    challenge: Mapped[Challenge] = relationship()
    members: Mapped[list[PanelMember]] = relationship(
        back_populates="panel",
        cascade="all, delete-orphan",
        order_by="PanelMember.id",
    )

    @property
    def weights(self) -> dict[str, int]:
        """The sheet's weights by criterion."""
        return {
            "merit": self.weight_merit,
            "feasibility": self.weight_feasibility,
            "team": self.weight_team,
            "price": self.weight_price,
        }


class PanelMember(Base):
    """An expert sitting on a panel, with their overall opinion once submitted."""

    __tablename__ = "panel_members"
    __table_args__ = (UniqueConstraint("panel_id", "expert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(
        ForeignKey("review_panels.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    # For acceptance and exemption panels: the expert's recommendation.
    verdict: Mapped[str] = mapped_column(String(20), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    panel: Mapped[ReviewPanel] = relationship(back_populates="members")
    expert: Mapped[ExpertProfile] = relationship(lazy="joined")
    scores: Mapped[list[PanelScore]] = relationship(
        back_populates="member", cascade="all, delete-orphan"
    )


class PanelScore(Base):
    """One expert's scores for one proposal on the panel's sheet."""

    __tablename__ = "panel_scores"
    __table_args__ = (
        UniqueConstraint("member_id", "proposal_id"),
        CheckConstraint(
            "merit >= 0 AND feasibility >= 0 AND team >= 0 AND price >= 0",
            name="scores_positive",
        ),
        CheckConstraint(
            "merit <= 100 AND feasibility <= 100 AND team <= 100 AND price <= 100",
            name="scores_max",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("panel_members.id", ondelete="CASCADE"), index=True
    )
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    merit: Mapped[int] = mapped_column(Integer)
    feasibility: Mapped[int] = mapped_column(Integer)
    team: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    member: Mapped[PanelMember] = relationship(back_populates="scores")
    proposal: Mapped[Proposal] = relationship()
