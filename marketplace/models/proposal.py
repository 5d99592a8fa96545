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
from marketplace.models.base import Base, StoredFileMixin, TimestampMixin, str_enum
from marketplace.models.listing import Challenge, Result
from marketplace.models.org import Organisation


class ProposalKind(StrEnum):
    """A bid on a challenge, or an application to adopt a result."""

    BID = "bid"
    ADOPTION = "adoption"


class ProposalStatus(StrEnum):
    """States of a proposal (DESIGN §2)."""

    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    SELECTED = "selected"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        """Chinese name of the state."""
        return PROPOSAL_STATUS_LABELS[self]

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


PROPOSAL_STATUS_LABELS = {
    ProposalStatus.SUBMITTED: "已提交",
    ProposalStatus.SHORTLISTED: "已入围",
    ProposalStatus.SELECTED: "中选",
    ProposalStatus.DECLINED: "未中选",
    ProposalStatus.WITHDRAWN: "已撤回",
}


class DeclineReason(StrEnum):
    """Why a bid was not selected: the owner picks one, the bidder reads it."""

    PRICE = "price"
    ROUTE = "route"
    TEAM = "team"
    TIMING = "timing"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Chinese name of the reason."""
        return {
            "price": "报价",
            "route": "技术路线",
            "team": "团队能力",
            "timing": "时间安排",
            "other": "其他",
        }[self.value]


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


class MemberStatus(StrEnum):
    """A consortium member's answer to being named on a proposal."""

    INVITED = "invited"
    CONFIRMED = "confirmed"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        """Chinese name of the answer."""
        return MEMBER_STATUS_LABELS[self]


MEMBER_STATUS_LABELS = {
    MemberStatus.INVITED: "待确认",
    MemberStatus.CONFIRMED: "已确认",
    MemberStatus.DECLINED: "已拒绝",
}


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
