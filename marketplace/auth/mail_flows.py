"""Account verbs by mail: reset a password, accept an invitation, confirm."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace import audit
from marketplace.auth.passwords import check_password
from marketplace.auth.services import hash_password, normalise_email
from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.mail import texts
from marketplace.models import MailKind, OutgoingMail, User
from marketplace.security import revoke_all_sessions

RESET_INTERVAL = timedelta(minutes=5)


def request_password_reset(email: str) -> None:
    """Mail a reset link if an active account has this e-mail; silent otherwise."""
    email = normalise_email(email)[:254]
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        audit.record("password_reset_unknown", note=email)
        return
    # One link per address every few minutes, whoever asks: the form cannot be
    # used to flood someone's mailbox (the answer on the page stays the same).
    recent = db.session.scalar(
        select(OutgoingMail.id).where(
            OutgoingMail.kind == MailKind.RESET,
            OutgoingMail.to_address == user.email,
            OutgoingMail.created_at > utcnow() - RESET_INTERVAL,
        )
    )
    if recent is not None:
        audit.record("password_reset_repeated", user=user, obj=user)
        return
    texts.send_password_reset(user)
    audit.record("password_reset_requested", user=user, obj=user)


def set_password_by_link(user: User, password: str, action: str) -> None:
    """Set the password chosen through a mailed link; that also proves the e-mail."""
    check_password(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    revoke_all_sessions(user)
    audit.record(action, user=user, obj=user)


def confirm_email(user: User) -> None:
    """Mark the account's e-mail confirmed (the link is then spent)."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record("email_confirmed", user=user, obj=user)
