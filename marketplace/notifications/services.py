"""Notification verbs: mark one, all, or those of a visited page read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select, update

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


def mark_read_on_visit(user: Any, paths: Iterable[str]) -> int:
    """Mark read the user's unread notifications linking to one of these pages.

    A link may carry an anchor (/deals/5#contracts): it still names that page.
    The cheap read comes first, so a page with nothing unread does not write.
    """
    wanted = [p for p in dict.fromkeys(paths) if p]
    if not wanted:
        return 0
    links = or_(
        Notification.link.in_(wanted),
        *(Notification.link.startswith(f"{p}#", autoescape=True) for p in wanted),
    )
    unread = and_(
        Notification.user_id == user.id, Notification.read_at.is_(None), links
    )
    if db.session.scalar(select(Notification.id).where(unread).limit(1)) is None:
        return 0
    result = db.session.execute(
        update(Notification)
        .where(unread)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
