"""API tokens: stored as SHA-256 only, loaded from `Authorization: Bearer …`."""

from __future__ import annotations

from flask import Flask, Request
from sqlalchemy import select

from marketplace import audit
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError
from marketplace.extensions import db, login_manager
from marketplace.models import ApiToken, User
from marketplace.security import hash_token, new_token

MAX_LIVE_TOKENS = 20
# Tokens authenticate API calls only; pages keep using the session cookie.
API_PREFIX = "/api/"


def create_token(user: User, name: str = "") -> str:
    """Make a token for the user and return its secret (shown once, never stored)."""
    live = db.session.scalar(
        select(db.func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if live >= MAX_LIVE_TOKENS:
        raise ServiceError(f"每人最多 {MAX_LIVE_TOKENS} 个有效令牌，请先撤销不用的。")
    secret = new_token()
    token = ApiToken(user_id=user.id, name=name[:60], token_hash=hash_token(secret))
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", user=user, obj=token, note=token.name)
    return secret


def user_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise ServiceError("没有这个令牌。")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", user=user, obj=token, note=token.name)
    return token


def load_user_from_bearer(request: Request) -> User | None:
    """The active user owning a live token in the Authorization header, if any."""
    if not request.path.startswith(API_PREFIX):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 200:
        return None
    token = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None)
        )
    )
    if token is None or not token.user.active:
        return None
    token.last_used_at = utcnow()
    db.session.commit()
    return token.user


def init_app(app: Flask) -> None:
    """Let Flask-Login fall back to a bearer token when there is no session."""
    login_manager.request_loader(load_user_from_bearer)
