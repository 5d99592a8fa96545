"""Listings: challenges posted by firms (技术需求) and research results (科技成果)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, TimestampMixin, str_enum
from marketplace.models.org import Organisation
from marketplace.models.reference import Region, TechField


class ChallengeStatus(LabelledEnum):
    """States of a challenge (DESIGN §2)."""

    DRAFT = "draft", "草稿"
    PENDING_REVIEW = "pending_review", "待审核"
    OPEN = "open", "揭榜中"
    EVALUATING = "evaluating", "评审中"
    AWARDED = "awarded", "已揭榜"
    CONTRACTED = "contracted", "已签约"
    CLOSED = "closed", "已关闭"
    REJECTED = "rejected", "已退回"
    WITHDRAWN = "withdrawn", "已撤回"
    EXPIRED = "expired", "已过期"

    @property
    def is_open(self) -> bool:
        """Whether bids are being taken (揭榜中)."""
        return self is ChallengeStatus.OPEN


CHALLENGE_STATUS_LABELS = ChallengeStatus.labels()


class ResultStatus(LabelledEnum):
    """States of a research result (DESIGN §2)."""

    DRAFT = "draft", "草稿"
    PENDING_REVIEW = "pending_review", "待审核"
    PUBLISHED = "published", "已发布"
    TRANSFERRED = "transferred", "已转化"
    REJECTED = "rejected", "已退回"
    WITHDRAWN = "withdrawn", "已撤回"
    EXPIRED = "expired", "已过期"

    @property
    def is_published(self) -> bool:
        """Whether the result is on the market."""
        return self is ResultStatus.PUBLISHED

    @property
    def is_rejected(self) -> bool:
        """Whether the bureau sent it back."""
        return self is ResultStatus.REJECTED

    @property
    def is_expired(self) -> bool:
        """Whether its validity ran out."""
        return self is ResultStatus.EXPIRED


RESULT_STATUS_LABELS = ResultStatus.labels()


class ChallengeReveal(LabelledEnum):
    """When bidders of an anonymous challenge learn who posted it."""

    AFTER_TERMS = "after_terms", "签署保密协议后"
    WHEN_SELECTED = "when_selected", "选定中选后"


class ListingMixin(TimestampMixin):
    """Columns every listing has: owner, classification, review outcome."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    external_id: Mapped[str | None] = mapped_column(String(64))
    reject_reason_code: Mapped[str | None] = mapped_column(String(32))
    reject_note: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(60), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Challenge(ListingMixin, Base):
    """A technical challenge an enterprise posts for open bidding (揭榜挂帅)."""

    __tablename__ = "challenges"
    __table_args__ = (
        UniqueConstraint("org_id", "external_id"),
        CheckConstraint("bounty_fen IS NULL OR bounty_fen >= 0", name="bounty_fen"),
        # The newest open challenges (home page) read the first rows of this.
        Index("ix_challenges_status_published_at", "status", "published_at"),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    technical_targets: Mapped[str] = mapped_column(Text, default="")
    public_summary: Mapped[str] = mapped_column(Text, default="")
    confidential_detail: Mapped[str] = mapped_column(Text, default="")
    field_id: Mapped[int | None] = mapped_column(ForeignKey("tech_fields.id"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    # NULL means 面议 (bounty to be negotiated).
    bounty_fen: Mapped[int | None] = mapped_column(BigInteger)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    allowed_bidder_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    consortium_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[ChallengeStatus] = mapped_column(
        str_enum(ChallengeStatus, "challenge_status"),
        default=ChallengeStatus.DRAFT,
        index=True,
    )
    direct_award_justification: Mapped[str] = mapped_column(Text, default="")
    awarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The NDA a viewer of the confidential detail signs (NULL: the fixed terms).
    nda_template_id: Mapped[int | None] = mapped_column(ForeignKey("nda_templates.id"))
    confidential_changed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    nda_chosen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # 匿名发布: outsiders see "某企业（县区、行业）" (permissions.seeker_name).
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    reveal_to: Mapped[ChallengeReveal] = mapped_column(
        str_enum(ChallengeReveal, "challenge_reveal"),
        default=ChallengeReveal.AFTER_TERMS,
    )

    org: Mapped[Organisation] = relationship()
    field: Mapped[TechField | None] = relationship()
    region: Mapped[Region | None] = relationship()


class Result(ListingMixin, Base):
    """A research result a university or institute offers for transfer (科技成果)."""

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("org_id", "external_id"),
        CheckConstraint("price_fen IS NULL OR price_fen >= 0", name="price_fen"),
        CheckConstraint("trl IS NULL OR (trl >= 1 AND trl <= 9)", name="trl"),
        # The newest published results (home page) read the first rows of this.
        Index("ix_results_status_published_at", "status", "published_at"),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    abstract: Mapped[str] = mapped_column(Text, default="")
    field_id: Mapped[int | None] = mapped_column(ForeignKey("tech_fields.id"))
    discipline: Mapped[str] = mapped_column(String(60), default="")
    trl: Mapped[int | None] = mapped_column(Integer)
    ip_type: Mapped[str] = mapped_column(String(20), default="")
    ip_numbers: Mapped[str] = mapped_column(Text, default="")
    transfer_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # NULL means 面议 (price to be negotiated).
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    benefit: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[ResultStatus] = mapped_column(
        str_enum(ResultStatus, "result_status"),
        default=ResultStatus.DRAFT,
        index=True,
    )
    transferred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Shown only to the owner, the bureau and signers of the result's NDA.
    confidential_detail: Mapped[str] = mapped_column(Text, default="")
    nda_template_id: Mapped[int | None] = mapped_column(ForeignKey("nda_templates.id"))
    confidential_changed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    nda_chosen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    org: Mapped[Organisation] = relationship()
    field: Mapped[TechField | None] = relationship()


class ConfidentialityAcceptance(Base):
    """A user accepting a challenge's confidentiality terms (保密承诺)."""

    __tablename__ = "confidentiality_acceptances"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    accepted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class ConfidentialView(Base):
    """One view of a listing's confidential detail, shown to its owner."""

    __tablename__ = "confidential_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(
        ForeignKey("results.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
