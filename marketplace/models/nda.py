"""Non-disclosure agreements (保密协议): versioned texts and signature records."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base
from marketplace.models.listing import Challenge, Result


def text_sha256(text: str) -> str:
    """The SHA-256 (hex) of a text's UTF-8 bytes: what a signature vouches for."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class NdaTemplate(Base):
    """An NDA document whose text changes by versions.

    The bureau's templates have no owner organisation; an owner's own text for
    one listing is a document of that organisation.
    """

    __tablename__ = "nda_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    versions: Mapped[list[NdaVersion]] = relationship(
        back_populates="template", order_by="NdaVersion.number"
    )

    @property
    def current(self) -> NdaVersion | None:
        """The newest version (the text a new signer signs)."""
        return self.versions[-1] if self.versions else None


class NdaVersion(Base):
    """One text of an NDA document; never changed once written."""

    __tablename__ = "nda_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("nda_templates.id"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    template: Mapped[NdaTemplate] = relationship(back_populates="versions")


class NdaSignature(Base):
    """A member of a verified organisation signing a listing's NDA text."""

    __tablename__ = "nda_signatures"
    __table_args__ = (
        CheckConstraint(
            "(challenge_id IS NULL) <> (result_id IS NULL)", name="one_listing"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("nda_versions.id"), index=True)
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(
        ForeignKey("results.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    full_name: Mapped[str] = mapped_column(String(60))
    position: Mapped[str] = mapped_column(String(60))
    org_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ip: Mapped[str] = mapped_column(String(45), default="")
    # The hash of the exact text shown and signed (equal to the version's).
    sha256: Mapped[str] = mapped_column(String(64))

    version: Mapped[NdaVersion] = relationship()


def _mark_confidential_change(target, value, oldvalue, initiator) -> None:
    # Every way of changing the detail (form, import, API, later edits of a
    # published listing) dates it, so older NDA signatures can be judged.
    if value != oldvalue:
        target.confidential_changed_at = utcnow()


for _listing in (Challenge, Result):
    event.listen(_listing.confidential_detail, "set", _mark_confidential_change)
