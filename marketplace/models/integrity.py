"""Research-integrity records (科研诚信) and the restrictions they impose."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base
from marketplace.models.org import Organisation
from marketplace.models.user import User

MISCONDUCT_TYPES = {
    "fabrication": "数据造假",
    "plagiarism": "抄袭剽窃",
    "false_application": "虚假申报",
    "misuse_of_funds": "违规使用经费",
    "breach_of_contract": "严重违约",
    "other": "其他失信行为",
}


class IntegrityRecord(Base):
    """Misconduct the bureau recorded against an organisation or a person."""

    __tablename__ = "integrity_records"
    __table_args__ = (
        CheckConstraint("org_id IS NOT NULL OR user_id IS NOT NULL", name="subject"),
        CheckConstraint(
            "restricted_until IS NULL OR restricted_until >= decided_on",
            name="period",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The organisation recorded against; for a person, the person's organisation
    # at the time, so the party itself can see the record.
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    misconduct_type: Mapped[str] = mapped_column(String(30))
    facts: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(Date)
    # The restriction runs from decided_on to restricted_until inclusive;
    # NULL means the record carries no restriction.
    restricted_until: Mapped[date | None] = mapped_column(Date, index=True)
    source_document: Mapped[str] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    org: Mapped[Organisation | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def type_label(self) -> str:
        """Chinese name of the kind of misconduct."""
        return MISCONDUCT_TYPES.get(self.misconduct_type, self.misconduct_type)

    def restricts_on(self, day: date) -> bool:
        """Whether the restriction is in force on this day."""
        return (
            self.revoked_at is None
            and self.restricted_until is not None
            and self.decided_on <= day <= self.restricted_until
        )
