"""Jinja filters and globals: money in 万元, times in Asia/Shanghai, labels."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask
from flask_login import current_user
from sqlalchemy import func, select

from marketplace import glossary, permissions
from marketplace.clock import local_zone
from marketplace.extensions import db
from marketplace.models import ORG_KIND_LABELS, Notification
from marketplace.money import format_wan


def localtime(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show a stored UTC time in the display time zone."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(local_zone()).strftime(fmt)


def _unread_count() -> int:
    if not getattr(current_user, "is_authenticated", False):
        return 0
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == current_user.id, Notification.read_at.is_(None)
        )
    )


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(format_wan, "wan")
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(lambda kind: ORG_KIND_LABELS.get(kind, kind), "kind_label")
    app.jinja_env.globals.update(
        current_user=current_user,
        perms=permissions,
        ORG_KIND_LABELS=ORG_KIND_LABELS,
        unread_notifications=_unread_count,
    )
    # One glossary for the states an audit event records (see glossary.py).
    app.jinja_env.globals["event_state"] = glossary.state_label
    app.jinja_env.globals["audit_action"] = glossary.action_label

