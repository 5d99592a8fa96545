"""Files on listings (spec sheets, drawings, certificates) and on organisations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, StoredFileMixin, str_enum
from marketplace.models.org import Organisation


class StoredFileColumns(StoredFileMixin):
    """A stored upload with who uploaded it and when."""

    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class ListingAttachment(StoredFileColumns, Base):
    """A file on a challenge or a result, public or confidential (保密附件)."""

    __tablename__ = "listing_attachments"
    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="size"),
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
    label: Mapped[str] = mapped_column(String(100), default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def title(self) -> str:
        """What the page calls the file: its label, or else its name."""
        return self.label or self.original_name


class OrgDocumentKind(LabelledEnum):
    """What a verification document proves."""

    BUSINESS_LICENCE = "business_licence", "营业执照"
    OTHER = "other", "其他证明"


ORG_DOCUMENT_KIND_LABELS = OrgDocumentKind.labels()


class OrgDocument(StoredFileColumns, Base):
    """A verification document (营业执照 scan and the like) the bureau checks."""

    __tablename__ = "org_documents"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[OrgDocumentKind] = mapped_column(
        str_enum(OrgDocumentKind, "org_document_kind"),
        default=OrgDocumentKind.BUSINESS_LICENCE,
    )

    org: Mapped[Organisation] = relationship()
