"""The outgoing mail queue: every e-mail waits here until an SMTP server takes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.clock import utcnow
from marketplace.models.base import Base, BigId, LabelledEnum, str_enum


class MailStatus(LabelledEnum):
    """Where a queued mail stands."""

    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"


class MailKind(LabelledEnum):
    """Why a mail was written."""

    RESET = "password_reset", "重置密码"
    INVITATION = "invitation", "成员邀请"
    CONFIRM_EMAIL = "confirm_email", "确认邮箱"
    SIGNUP_TAKEN = "signup_taken", "重复注册提醒"
    NOTIFICATION = "notification", "通知"
    DIGEST = "digest", "每日汇总"


MAIL_KIND_LABELS = MailKind.labels()


class MailPreference(LabelledEnum):
    """How a user wants their notifications by e-mail."""

    EACH = "each", "每条通知都发邮件"
    DIGEST = "digest", "每日汇总一封"
    OFF = "off", "不发邮件"


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
