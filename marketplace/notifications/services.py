"""Notification verbs: mark one or all of a user's notifications read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from marketplace.extensions import db
from marketplace.models import Notification, utcnow
from marketplace.security import is_safe_next


def safe_link(notification: Notification) -> str | None:
    """The notification's link if it is a local path the site may send users to."""
    return notification.link if is_safe_next(notification.link) else None


def mark_read(notification: Notification) -> None:
    """Mark one notification read (once; the first reading time is kept)."""
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user: Any) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
