"""The daily digest: one mail with each user's unread notifications since the last."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.mail.texts import send_digest
from marketplace.models import MailPreference, Notification, User

MAX_LINES = 50


def queue_digests(now: datetime | None = None) -> int:
    """Queue a digest for every user who chose one and has news; returns how many."""
    now = now or utcnow()
    users = db.session.scalars(
        select(User).where(
            User.mail_preference == MailPreference.DIGEST,
            User.active.is_(True),
            User.email_confirmed_at.is_not(None),
        )
    ).all()
    queued = 0
    for user in users:
        query = select(Notification).where(
            Notification.user_id == user.id,
            Notification.read_at.is_(None),
            Notification.created_at <= now,
        )
        if user.digest_sent_at is not None:
            query = query.where(Notification.created_at > user.digest_sent_at)
        news = db.session.scalars(
            query.order_by(Notification.id).limit(MAX_LINES)
        ).all()
        user.digest_sent_at = now
        if news:
            send_digest(user, [(n.message, n.link) for n in news])
            queued += 1
    return queued
