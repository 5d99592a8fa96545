"""Failed logins counted per account and per client address, shared by every worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, str_enum


class ThrottleScope(LabelledEnum):
    """What a row counts failures for."""

    ACCOUNT = "account", "账号"
    ADDRESS = "address", "网络地址"


class LoginThrottle(Base):
    """Recent failed logins of one account (e-mail) or one client address."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[ThrottleScope] = mapped_column(
        str_enum(ThrottleScope, "throttle_scope")
    )
    # The e-mail as typed (normalised), known account or not, or the address.
    key: Mapped[str] = mapped_column(String(254))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    last_failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    # Locks so far: each one lasts twice as long as the one before.
    locks: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.scope} {self.key} {self.failures}>"
