"""Signed links in mails: reset a password, accept an invitation, confirm an e-mail."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.models import User

# How long each kind of link stays good.
LIFETIMES = {
    "reset": timedelta(hours=1),
    "invite": timedelta(days=7),
    "confirm": timedelta(days=7),
}
LIFETIME_WORDS = {"reset": "1 小时", "invite": "7 天", "confirm": "7 天"}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"mail-{purpose}"
    )


def _fingerprint(user: User) -> str:
    # Single use: a new password or the confirmation itself changes what the
    # link was bound to, so a used (or older) link no longer matches.
    state = f"{user.password_hash}|{user.email}|{bool(user.email_confirmed_at)}"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def make_token(user: User, purpose: str) -> str:
    """A signed token for this user and purpose, bound to the account's state."""
    return _serializer(purpose).dumps([user.id, _fingerprint(user)])


def read_token(token: str, purpose: str) -> User | None:
    """The user a token is good for now, or None (forged, used, expired, inactive)."""
    try:
        payload, signed_at = _serializer(purpose).loads(token, return_timestamp=True)
        user_id, fingerprint = payload
    except (BadSignature, TypeError, ValueError):
        return None
    if utcnow() - signed_at > LIFETIMES[purpose]:
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or _fingerprint(user) != fingerprint:
        return None
    return user


def site_url(path: str) -> str:
    """An absolute link for a mail (mails are read outside the site)."""
    return current_app.config["SITE_URL"] + path
