"""Session loading, security headers and safe redirects."""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from marketplace.clock import utcnow
from marketplace.extensions import db, login_manager
from marketplace.models import LoginSession, User

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def hash_token(token: str) -> str:
    """SHA-256 of a bearer secret; only this is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh unguessable secret."""
    return secrets.token_urlsafe(32)


def is_safe_next(target: str | None) -> bool:
    """Only local absolute paths are followed after login."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def load_user_for_token(token: str) -> User | None:
    """The active user whose unrevoked login session has this token."""
    row = db.session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(
            LoginSession.token_hash == hash_token(token),
            LoginSession.revoked_at.is_(None),
            User.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    user = row.User
    user.login_token = token
    return user


def start_login_session(user: User) -> str:
    """Open a server-side login session for the user and return its token."""
    token = new_token()
    db.session.add(
        LoginSession(
            user_id=user.id,
            token_hash=hash_token(token),
            ip=(request.remote_addr or "")[:45],
            user_agent=(request.user_agent.string or "")[:200],
        )
    )
    user.login_token = token
    return token


def revoke_login_session(token: str | None) -> None:
    """Revoke one login session so its cookie no longer logs anybody in."""
    if not token:
        return
    session_row = db.session.scalar(
        select(LoginSession).where(LoginSession.token_hash == hash_token(token))
    )
    if session_row is not None and session_row.revoked_at is None:
        session_row.revoked_at = utcnow()


def revoke_all_sessions(user: User) -> None:
    """Revoke every login session of a user (after a password change)."""
    for row in db.session.scalars(
        select(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
        )
    ):
        row.revoked_at = utcnow()


def _unauthorized():
    if request.path.startswith("/api/"):
        return jsonify(error="unauthorized", message="需要登录或有效的 API 令牌"), 401
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def _refuse_nul_bytes():
    # No legitimate input has NUL bytes, and PostgreSQL refuses them in text, so
    # they are turned away here rather than as a 500 deep inside a query.
    values = [*request.args.values(), *request.path]
    if request.method in {"POST", "PUT", "PATCH"} and request.mimetype in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        values.extend(request.form.values())
    if any("\x00" in value for value in values):
        abort(400)


def carries_credentials() -> bool:
    """Whether the request sends a session or remember cookie or an Authorization."""
    if request.authorization is not None or "Authorization" in request.headers:
        return True
    names = {
        current_app.config.get("SESSION_COOKIE_NAME", "session"),
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    }
    return not names.isdisjoint(request.cookies)


def _is_private() -> bool:
    # Read flask-login's loaded user from g rather than through current_user: an
    # error page must not load it (the database may be down). A logged-in user
    # always sends a cookie or a token, except on the answer to the login itself,
    # which is caught by the session about to be saved.
    if carries_credentials() or session.modified:
        return True
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def _no_store(response):
    # Pages and exports for a logged-in user (or anyone holding a session) may
    # show confidential terms, contacts and figures: no browser history, shared
    # proxy or back button may keep them. Static files stay cacheable.
    if (
        request.endpoint != "static"
        and not response.cache_control.no_store
        and _is_private()
    ):
        response.headers["Cache-Control"] = "no-store"
    return response


def _set_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response


def init_app(app: Flask) -> None:
    """Wire login loading and response headers into the app."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_for_token)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_refuse_nul_bytes)
    app.after_request(_set_headers)
    app.after_request(_no_store)
