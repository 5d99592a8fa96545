"""Proposals (揭榜申报): bids on challenges and applications to adopt results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import (
    Base,
    LabelledEnum,
    StoredFileMixin,
    TimestampMixin,
    str_enum,
)
from marketplace.models.listing import Challenge, Result
from marketplace.models.org import Organisation


class ProposalKind(StrEnum):
    """A bid on a challenge, or an application to adopt a result."""

    BID = "bid"
    ADOPTION = "adoption"


class ProposalStatus(LabelledEnum):
    """States of a proposal (DESIGN §2)."""

    SUBMITTED = "submitted", "已提交"
    SHORTLISTED = "shortlisted", "已入围"
    SELECTED = "selected", "中选"
    DECLINED = "declined", "未中选"
    WITHDRAWN = "withdrawn", "已撤回"

    @property
    def is_submitted(self) -> bool:
        """Whether nobody has acted on it since it was handed in."""
        return self is ProposalStatus.SUBMITTED

    @property
    def is_declined(self) -> bool:
        """Whether the seeker turned it down."""
        return self is ProposalStatus.DECLINED

    @property
    def undecided(self) -> bool:
        """Whether it still waits for the seeker's decision."""
        return self in (ProposalStatus.SUBMITTED, ProposalStatus.SHORTLISTED)


PROPOSAL_STATUS_LABELS = ProposalStatus.labels()


class DeclineReason(LabelledEnum):
    """Why a bid was not selected: the owner picks one, the bidder reads it."""

    PRICE = "price", "报价"
    ROUTE = "route", "技术路线"
    TEAM = "team", "团队能力"
    TIMING = "timing", "时间安排"
    OTHER = "other", "其他"


_LIVE = text("status <> 'withdrawn'")


class Proposal(TimestampMixin, Base):
    """An organisation's bid on a challenge or application to adopt a result."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'bid' AND challenge_id IS NOT NULL AND result_id IS NULL)"
            " OR (kind = 'adoption' AND result_id IS NOT NULL"
            " AND challenge_id IS NULL)",
            name="target",
        ),
        CheckConstraint("price_fen IS NULL OR price_fen >= 0", name="price_fen"),
        CheckConstraint(
            "duration_months IS NULL OR duration_months > 0", name="duration"
        ),
        # One live proposal per organisation and listing, decided by the database
        # so that two simultaneous submissions cannot both get in.
        Index(
            "uq_proposals_live_bid",
            "org_id",
            "challenge_id",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(
            "uq_proposals_live_adoption",
            "org_id",
            "result_id",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ProposalKind] = mapped_column(str_enum(ProposalKind, "proposal_kind"))
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ProposalStatus] = mapped_column(
        str_enum(ProposalStatus, "proposal_status"),
        default=ProposalStatus.SUBMITTED,
        index=True,
    )
    # A bid: solution, route, price, duration, team.
    solution: Mapped[str] = mapped_column(Text, default="")
    technical_route: Mapped[str] = mapped_column(Text, default="")
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    duration_months: Mapped[int | None] = mapped_column(Integer)
    team: Mapped[str] = mapped_column(Text, default="")
    # An adoption: how the result would be used and on what terms.
    use_scenario: Mapped[str] = mapped_column(Text, default="")
    offered_terms: Mapped[str] = mapped_column(Text, default="")
    # The owner's reason code (None on adoptions and older bids) and free note.
    decline_reason_code: Mapped[DeclineReason | None] = mapped_column(
        str_enum(DeclineReason, "decline_reason_code")
    )
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    challenge: Mapped[Challenge | None] = relationship()
    result: Mapped[Result | None] = relationship()
    org: Mapped[Organisation] = relationship()
    members: Mapped[list[ProposalMember]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan"
    )

    @property
    def decline_summary(self) -> str:
        """What the bidder reads, e.g. 申报未中选（原因：报价）：note."""
        note = (self.decline_reason or "").strip()
        if note == "未中选":  # older bids stored the bare default as their reason
            note = ""
        head = "申报未中选"
        if self.decline_reason_code is not None:
            head += f"（原因：{self.decline_reason_code.label}）"
        return f"{head}：{note}" if note else head


class MemberStatus(LabelledEnum):
    """A consortium member's answer to being named on a proposal."""

    INVITED = "invited", "待确认"
    CONFIRMED = "confirmed", "已确认"
    DECLINED = "declined", "已拒绝"


MEMBER_STATUS_LABELS = MemberStatus.labels()


class ProposalMember(Base):
    """Another organisation named as a consortium member (联合体成员)."""

    __tablename__ = "proposal_members"
    __table_args__ = (UniqueConstraint("proposal_id", "org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus, "member_status"), default=MemberStatus.INVITED
    )
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    proposal: Mapped[Proposal] = relationship(back_populates="members")
    org: Mapped[Organisation] = relationship()


class Attachment(StoredFileMixin, Base):
    """A file attached to a proposal, stored outside static/ under a random name."""

    __tablename__ = "attachments"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    proposal: Mapped[Proposal] = relationship(back_populates="attachments")
