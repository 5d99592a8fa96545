"""Technology contracts (技术合同), payments received and yearly targets."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
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


class ContractType(LabelledEnum):
    """The five statutory types of technology contract."""

    DEVELOPMENT = "development", "技术开发"
    TRANSFER = "transfer", "技术转让"
    LICENSING = "licensing", "技术许可"
    CONSULTING = "consulting", "技术咨询"
    SERVICE = "service", "技术服务"


CONTRACT_TYPE_LABELS = ContractType.labels()


class ContractStatus(LabelledEnum):
    """Registration states of a contract."""

    SUBMITTED = "submitted", "待登记"
    REGISTERED = "registered", "已登记"
    REJECTED = "rejected", "已退回"
    CANCELLED = "cancelled", "已注销"


CONTRACT_STATUS_LABELS = ContractStatus.labels()


class Contract(TimestampMixin, Base):
    """A technology contract with its two amounts, in integer fen."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("amount_fen >= 0", name="amount_fen"),
        CheckConstraint("tech_amount_fen >= 0", name="tech_amount_fen"),
        CheckConstraint("tech_amount_fen <= amount_fen", name="tech_le_amount"),
        CheckConstraint("paid_fen >= 0 AND paid_fen <= amount_fen", name="paid_fen"),
        CheckConstraint(
            "buyer_org_id IS NULL OR seller_org_id IS NULL"
            " OR buyer_org_id <> seller_org_id",
            name="two_parties",
        ),
        CheckConstraint(
            "status <> 'registered' OR registration_no IS NOT NULL",
            name="registered_has_no",
        ),
        # The bureau's figures: registered contracts signed in a range, summed or
        # grouped by type, region, field, party or broker, read from this index
        # alone (no lookup of each row: 3-7 times faster over 100k on SQLite).
        Index(
            "ix_contracts_figures",
            "status",
            "signed_on",
            "amount_fen",
            "tech_amount_fen",
            "contract_type",
            "seller_region_code",
            "buyer_region_code",
            "seller_org_id",
            "buyer_org_id",
            "broker_org_id",
            "field_id",
            "challenge_id",
            "result_id",
        ),
        # The register's county filter (output or absorption side).
        Index("ix_contracts_seller_region_code", "seller_region_code"),
        Index("ix_contracts_buyer_region_code", "buyer_region_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    contract_type: Mapped[ContractType] = mapped_column(
        str_enum(ContractType, "contract_type"), index=True
    )
    # A party outside the platform has no org id, only a name and a region.
    buyer_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    buyer_name: Mapped[str] = mapped_column(String(100))
    buyer_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    seller_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    seller_name: Mapped[str] = mapped_column(String(100))
    seller_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    broker_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("challenges.id"))
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"))
    field_id: Mapped[int | None] = mapped_column(ForeignKey("tech_fields.id"))
    signed_on: Mapped[date] = mapped_column(Date, index=True)
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    # Indexed: the register sorts and filters by it.
    amount_fen: Mapped[int] = mapped_column(BigInteger, index=True)
    tech_amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Kept equal to the sum of payments so the database itself refuses overpayment.
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    registration_no: Mapped[str | None] = mapped_column(String(16), unique=True)
    status: Mapped[ContractStatus] = mapped_column(
        str_enum(ContractStatus, "contract_status"),
        default=ContractStatus.SUBMITTED,
        index=True,
    )
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    # A registered contract the bureau cancelled (注销) leaves the turnover.
    # sort_order: the columns came with a later migration, after the timestamps.
    cancel_reason: Mapped[str] = mapped_column(Text, default="", sort_order=1)
    cancelled_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), sort_order=1
    )
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), index=True
    )

    buyer_org: Mapped[Organisation | None] = relationship(foreign_keys=[buyer_org_id])
    seller_org: Mapped[Organisation | None] = relationship(foreign_keys=[seller_org_id])
    broker_org: Mapped[Organisation | None] = relationship(foreign_keys=[broker_org_id])
    payments: Mapped[list[Payment]] = relationship(
        back_populates="contract",
        order_by="[Payment.received_on, Payment.id]",
        cascade="all, delete-orphan",
    )


class Payment(Base):
    """Money received under a contract, or the reversal (冲销) of such an entry."""

    __tablename__ = "payments"
    # A receipt is positive; its reversal is a new, negative entry pointing at it,
    # so a plain SUM over the ledger is the net amount received.
    __table_args__ = (
        # Money received in a range, per month: read from the index alone.
        Index(
            "ix_payments_received_on_contract",
            "received_on",
            "contract_id",
            "amount_fen",
        ),
        CheckConstraint(
            "(reverses_id IS NULL AND amount_fen > 0)"
            " OR (reverses_id IS NOT NULL AND amount_fen < 0)",
            name="amount_fen",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    received_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id"), unique=True
    )
    reason: Mapped[str] = mapped_column(String(500), default="")

    contract: Mapped[Contract] = relationship(back_populates="payments")
    reverses: Mapped[Payment | None] = relationship(
        remote_side=[id], back_populates="reversal"
    )
    reversal: Mapped[Payment | None] = relationship(back_populates="reverses")


class YearlyTarget(Base):
    """The bureau's contract-turnover target for a year, city-wide or per region."""

    __tablename__ = "yearly_targets"
    __table_args__ = (
        UniqueConstraint("year", "scope"),
        CheckConstraint("amount_fen >= 0", name="amount_fen"),
        CheckConstraint("year >= 2000 AND year <= 2100", name="year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    # "city" for the whole city, otherwise a region code.
    scope: Mapped[str] = mapped_column(String(12), default="city")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(200), default="")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
