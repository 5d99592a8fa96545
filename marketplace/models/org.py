"""Organisations (机构) and the certification tags the bureau counts."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, LabelledEnum, TimestampMixin, str_enum

if TYPE_CHECKING:
    from marketplace.models.reference import Region
    from marketplace.models.user import User


class OrgKind(LabelledEnum):
    """The kinds of organisation taking part in the marketplace."""

    ENTERPRISE = "enterprise", "企业"
    UNIVERSITY = "university", "高校"
    INSTITUTE = "institute", "科研院所"
    AGENCY = "agency", "技术转移机构"
    BUREAU = "bureau", "科技局"


ORG_KIND_LABELS = OrgKind.labels()


class VerificationStatus(LabelledEnum):
    """Where an organisation stands in the bureau's verification queue."""

    PENDING = "pending", "待审核"
    VERIFIED = "verified", "已认证"
    REFUSED = "refused", "未通过"

    @property
    def is_pending(self) -> bool:
        """Whether the organisation waits for the bureau's verification."""
        return self is VerificationStatus.PENDING

    @property
    def is_refused(self) -> bool:
        """Whether the bureau refused to verify the organisation."""
        return self is VerificationStatus.REFUSED


VERIFICATION_LABELS = VerificationStatus.labels()

CERTIFICATION_TAGS = (
    "高新技术企业",
    "科技型中小企业",
    "创新龙头企业",
    "专精特新企业",
    "技术转移示范机构",
    "新型研发机构",
    "重点实验室",
    "工程技术研究中心",
)


class Organisation(TimestampMixin, Base):
    """A firm, university, institute, transfer agency or the bureau itself."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, "org_kind"), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    # The person the bureau calls about verification (认证联系人).
    contact_person: Mapped[str] = mapped_column(String(60), default="")
    verification_status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus, "verification_status"),
        default=VerificationStatus.PENDING,
        index=True,
    )
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refusal_reason: Mapped[str] = mapped_column(Text, default="")

    region: Mapped[Region] = relationship(lazy="joined")
    users: Mapped[list[User]] = relationship(back_populates="org")
    certifications: Mapped[list[OrgCertification]] = relationship(
        back_populates="org", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        """Chinese name of the organisation's kind."""
        return ORG_KIND_LABELS[self.kind]

    @property
    def is_bureau(self) -> bool:
        """Whether this is the science and technology bureau."""
        return self.kind == OrgKind.BUREAU

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"


class OrgCertification(Base):
    """A certification the bureau has recorded for an organisation."""

    __tablename__ = "org_certifications"
    __table_args__ = (UniqueConstraint("org_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(40))
    granted_on: Mapped[date | None] = mapped_column(Date)

    org: Mapped[Organisation] = relationship(back_populates="certifications")
