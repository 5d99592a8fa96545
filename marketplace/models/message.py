"""Message threads (消息): about a listing, a deal or a project; and clarifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, StoredFileMixin, str_enum
from marketplace.models.deal import Deal
from marketplace.models.listing import Challenge, Result
from marketplace.models.project import Project


class ThreadKind(LabelledEnum):
    """What a thread is about."""

    LISTING = "listing", "向发布方提问"
    DEAL = "deal", "撮合项目"
    PROJECT = "project", "揭榜项目"


class MessageThread(Base):
    """One conversation: a listing and one asker, a deal, or a project."""

    __tablename__ = "message_threads"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'listing' AND asker_org_id IS NOT NULL"
            " AND (challenge_id IS NULL) <> (result_id IS NULL)"
            " AND deal_id IS NULL AND project_id IS NULL)"
            " OR (kind = 'deal' AND deal_id IS NOT NULL AND project_id IS NULL"
            " AND challenge_id IS NULL AND result_id IS NULL)"
            " OR (kind = 'project' AND project_id IS NOT NULL AND deal_id IS NULL"
            " AND challenge_id IS NULL AND result_id IS NULL)",
            name="target",
        ),
        UniqueConstraint("challenge_id", "asker_org_id"),
        UniqueConstraint("result_id", "asker_org_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ThreadKind] = mapped_column(str_enum(ThreadKind, "thread_kind"))
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), unique=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id"), unique=True
    )
    asker_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    last_message_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )

    challenge: Mapped[Challenge | None] = relationship()
    result: Mapped[Result | None] = relationship()
    deal: Mapped[Deal | None] = relationship()
    project: Mapped[Project | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="thread", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(Base):
    """A message in a thread: text, maybe with attachments."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("message_threads.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    thread: Mapped[MessageThread] = relationship(back_populates="messages")
    attachments: Mapped[list[MessageAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )


class MessageAttachment(StoredFileMixin, Base):
    """A file attached to a message, stored like a proposal's attachments."""

    __tablename__ = "message_attachments"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    message: Mapped[Message] = relationship(back_populates="attachments")


class ThreadRead(Base):
    """One participant's place in a thread: what they read, how much is new."""

    __tablename__ = "thread_reads"
    __table_args__ = (
        UniqueConstraint("thread_id", "user_id"),
        CheckConstraint("unread_count >= 0", name="unread_count"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("message_threads.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    last_read_message_id: Mapped[int | None] = mapped_column(Integer)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Clarification(Base):
    """A question and its answer the challenge owner published to every bidder."""

    __tablename__ = "clarifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    # Where it came from, for the owner's and the bureau's reference; never shown
    # to bidders, so the asker stays anonymous.
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_threads.id", ondelete="SET NULL")
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
