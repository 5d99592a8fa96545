"""The outgoing mail queue: every e-mail waits here until an SMTP server takes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.clock import utcnow
from marketplace.models.base import Base, BigId, str_enum


class MailStatus(StrEnum):
    """Where a queued mail stands."""

    PENDING = "pending"
    SENT = "sent"

    @property
    def label(self) -> str:
        """Chinese name of the state."""
        return {"pending": "待发送", "sent": "已发送"}[self.value]


class MailKind(StrEnum):
    """Why a mail was written."""

    RESET = "password_reset"
    INVITATION = "invitation"
    CONFIRM_EMAIL = "confirm_email"
    SIGNUP_TAKEN = "signup_taken"
    NOTIFICATION = "notification"
    DIGEST = "digest"

    @property
    def label(self) -> str:
        """Chinese name of the kind."""
        return MAIL_KIND_LABELS[self]


MAIL_KIND_LABELS = {
    MailKind.RESET: "重置密码",
    MailKind.INVITATION: "成员邀请",
    MailKind.CONFIRM_EMAIL: "确认邮箱",
    MailKind.SIGNUP_TAKEN: "重复注册提醒",
    MailKind.NOTIFICATION: "通知",
    MailKind.DIGEST: "每日汇总",
}


class MailPreference(StrEnum):
    """How a user wants their notifications by e-mail."""

    EACH = "each"
    DIGEST = "digest"
    OFF = "off"

    @property
    def label(self) -> str:
        """Chinese name of the choice."""
        return {
            "each": "每条通知都发邮件",
            "digest": "每日汇总一封",
            "off": "不发邮件",
        }[self.value]


class OutgoingMail(Base):
    """One e-mail to one address; kept until sent, retried with back-off."""

    __tablename__ = "outgoing_mails"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[MailKind] = mapped_column(str_enum(MailKind, "mail_kind"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(
        str_enum(MailStatus, "mail_status"), default=MailStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
