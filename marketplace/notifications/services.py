"""Notification verbs: mark one, all, or those of a visited page read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select, update

from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.models import Notification
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


def _unread_on(user: Any, paths: Iterable[str]):
    """The user's unread notifications linking to one of these pages (or None)."""
    wanted = [p for p in dict.fromkeys(paths) if p]
    if not wanted:
        return None
    links = or_(
        Notification.link.in_(wanted),
        *(Notification.link.startswith(f"{p}#", autoescape=True) for p in wanted),
    )
    return and_(
        Notification.user_id == user.id, Notification.read_at.is_(None), links
    )


def has_unread_on(user: Any, paths: Iterable[str]) -> bool:
    """Whether the user has unread notifications linking to one of these pages.

    A link may carry an anchor (/deals/5#contracts): it still names that page.
    """
    unread = _unread_on(user, paths)
    if unread is None:
        return False
    return db.session.scalar(select(Notification.id).where(unread).limit(1)) is not None


def mark_read_on_visit(user: Any, paths: Iterable[str]) -> int:
    """Mark read the user's unread notifications linking to one of these pages."""
    unread = _unread_on(user, paths)
    if unread is None:
        return 0
    result = db.session.execute(
        update(Notification)
        .where(unread)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
