"""Audit events and in-app notifications: written by services, committed by callers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select

from marketplace import glossary
from marketplace.extensions import db
from marketplace.mail.texts import send_notification
from marketplace.models import AuditEvent, MailPreference, Notification, User


def _client_ip() -> str:
    return (request.remote_addr or "")[:45] if has_request_context() else ""


def _actor() -> Any:
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user
    return None


def record(
    action: str,
    *,
    user: Any = None,
    org_id: int | None = None,
    obj: Any = None,
    object_type: str | None = None,
    object_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason_code: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the session; the caller commits it with its change."""
    if not glossary.is_action(action):
        # Every action is defined, with its label, by a feature's registered enum.
        raise ValueError(f"audit action {action!r} is not defined by any enum")
    actor = user if user is not None else _actor()
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        org_id=org_id if org_id is not None else getattr(actor, "org_id", None),
        action=str(action),
        object_type=obj.__tablename__ if obj is not None else object_type,
        object_id=obj.id if obj is not None else object_id,
        from_state=str(from_state) if from_state is not None else None,
        to_state=str(to_state) if to_state is not None else None,
        reason_code=reason_code,
        note=note[:2000],
        ip=_client_ip(),
        path=request.path[:200] if has_request_context() else "",
    )
    if at is not None:
        # A verb acting at a given moment (seed-demo's past) dates its event then.
        event.created_at = at
    db.session.add(event)
    return event


def record_alone(action: str, **kwargs: Any) -> None:
    """Write an audit event in a transaction of its own (denials, failed logins)."""
    if not glossary.is_action(action):
        raise ValueError(f"audit action {action!r} is not defined by any enum")
    # Whatever the failed request had pending must not be committed with it.
    db.session.rollback()
    record(action, **kwargs)
    db.session.commit()


def notify(users: Iterable[User], message: str, link: str = "") -> None:
    """Queue an in-app notification for each user (and a mail if they chose so)."""
    for user in users:
        db.session.add(Notification(user_id=user.id, message=message[:300], link=link))
        if (
            user.mail_preference == MailPreference.EACH
            and user.active
            and user.email_confirmed_at is not None
        ):
            send_notification(user, message, link)


def notify_org(org_id: int, message: str, link: str = "") -> None:
    """Notify every active member of an organisation."""
    members = db.session.scalars(
        select(User).where(User.org_id == org_id, User.active.is_(True))
    )
    notify(members, message, link)
