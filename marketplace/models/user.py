"""Users, their login sessions and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.clock import utcnow
from marketplace.models.base import Base, LabelledEnum, TimestampMixin, str_enum
from marketplace.models.mail import MailPreference
from marketplace.models.org import Organisation, OrgKind


class UserRole(LabelledEnum):
    """A user's role inside their organisation."""

    MEMBER = "member", "成员"
    ORG_ADMIN = "org_admin", "机构管理员"


class User(TimestampMixin, Base):
    """A person who logs in; always a member of exactly one organisation."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(60), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[UserRole] = mapped_column(
        str_enum(UserRole, "user_role"), default=UserRole.MEMBER
    )
    is_sysadmin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # (sort_order: added by a later migration, after the timestamp columns.)
    # None until the owner follows the link mailed to them (sign-up, invitation,
    # password reset); accounts made by admins or commands count as confirmed.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), sort_order=1
    )
    mail_preference: Mapped[MailPreference] = mapped_column(
        str_enum(MailPreference, "mail_preference"),
        default=MailPreference.EACH,
        sort_order=1,
    )
    digest_sent_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), sort_order=1
    )

    org: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")

    # The token of the login session this object was loaded for (not a column):
    # Flask-Login stores get_id() in the cookie, so the cookie names a session row
    # that logout and password changes can revoke on the server.
    login_token = None

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        """Every loaded user is authenticated; anonymous users are another class."""
        return True

    @property
    def is_active(self) -> bool:
        """Deactivated users cannot log in."""
        return self.active

    @property
    def is_anonymous(self) -> bool:
        """A loaded user is never anonymous."""
        return False

    def get_id(self) -> str | None:
        """The login session token, so revoking the session logs the cookie out."""
        return self.login_token

    @property
    def is_bureau(self) -> bool:
        """Whether the user is bureau staff."""
        return self.org.kind == OrgKind.BUREAU

    @property
    def is_org_admin(self) -> bool:
        """Whether the user administers their organisation."""
        return self.role == UserRole.ORG_ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class LoginSession(Base):
    """One login of one user; its token's hash is what the session cookie names."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
