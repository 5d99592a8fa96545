"""Jinja filters and globals: money in 万元, times in Asia/Shanghai, labels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, g, has_request_context
from flask_login import current_user
from sqlalchemy import Select, func, select

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


def _unread_notifications(user_id: int) -> Select:
    return select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )


def _unread_messages(user_id: int) -> Select:
    return select(func.coalesce(func.sum(ThreadRead.unread_count), 0)).where(
        ThreadRead.user_id == user_id
    )


NO_NAV = {
    "is_sysadmin": False,
    "is_bureau": False,
    "can_post_challenge": False,
    "can_register_result": False,
    "is_expert": False,
}


def nav_flags(user: Any, is_expert: bool) -> dict[str, bool]:
    """Which menus and menu entries the header shows to a logged-in user."""
    return {
        "is_sysadmin": permissions.is_sysadmin(user),
        "is_bureau": permissions.is_bureau(user),
        "can_post_challenge": permissions.can_post_challenge(user),
        "can_register_result": permissions.can_register_result(user),
        "is_expert": is_expert,
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
    # Every page pays for this: one round trip, not one per figure.
    user_id = current_user.id
    notifications, messages, is_expert = db.session.execute(
        select(
            _unread_notifications(user_id).scalar_subquery(),
            _unread_messages(user_id).scalar_subquery(),
            permissions.active_expert_profile(user_id).exists(),
        )
    ).one()
    return {
        "unread_notifications": notifications,
        "unread_messages": messages,
        "nav": nav_flags(current_user, bool(is_expert)),
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
