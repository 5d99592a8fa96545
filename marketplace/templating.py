"""Jinja filters and globals: money in 万元, times in Asia/Shanghai, labels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, g, has_request_context
from flask_login import current_user
from sqlalchemy import func, select

from marketplace import glossary, permissions
from marketplace.clock import local_zone
from marketplace.extensions import db
from marketplace.models import ORG_KIND_LABELS, Notification, ThreadRead
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


def unread_notifications(user: Any) -> int:
    """Unread notifications of a logged-in user, for the header (one query)."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def unread_messages(user: Any) -> int:
    """Unread messages of a logged-in user, for the header (one query)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(ThreadRead.unread_count), 0)).where(
            ThreadRead.user_id == user.id
        )
    )


NO_NAV = {
    "is_sysadmin": False,
    "is_bureau": False,
    "can_post_challenge": False,
    "can_register_result": False,
    "is_expert": False,
}


def nav_flags(user: Any) -> dict[str, bool]:
    """Which menus and menu entries the header shows to a logged-in user."""
    return {
        "is_sysadmin": permissions.is_sysadmin(user),
        "is_bureau": permissions.is_bureau(user),
        "can_post_challenge": permissions.can_post_challenge(user),
        "can_register_result": permissions.can_register_result(user),
        "is_expert": permissions.expert_profile(user) is not None,
    }


def header_context() -> dict[str, Any]:
    """The header's unread counts and menu flags, which every page reads."""
    # An error page must render with the database down: it shows no counts.
    if (
        not has_request_context()
        or g.get("error_page")
        or not permissions.is_logged_in(current_user)
    ):
        return {"unread_notifications": 0, "unread_messages": 0, "nav": NO_NAV}
    return {
        "unread_notifications": unread_notifications(current_user),
        "unread_messages": unread_messages(current_user),
        "nav": nav_flags(current_user),
    }


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(format_wan, "wan")
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(lambda kind: ORG_KIND_LABELS.get(kind, kind), "kind_label")
    app.jinja_env.globals.update(
        current_user=current_user,
        ORG_KIND_LABELS=ORG_KIND_LABELS,
    )
    app.context_processor(header_context)
    # One glossary for the states an audit event records (see glossary.py).
    app.jinja_env.globals["event_state"] = glossary.state_label
    app.jinja_env.globals["audit_action"] = glossary.action_label
