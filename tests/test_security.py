"""The security baseline: CSRF, rate limits, cookies, headers, errors, settings."""

from __future__ import annotations

import re
import sqlite3

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from marketplace.cli import COMMANDS, _as_writer
from marketplace.config import ConfigError, build_config
from marketplace.database import begins_immediate, writing
from marketplace.models import AuditEvent
from tests.conftest import PASSWORD


@pytest.fixture
def csrf_app(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_post_without_csrf_token_is_refused(csrf_app, app, factory):
    client = app.test_client()
    user = factory.user(factory.org())
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_post_with_csrf_token_is_accepted(csrf_app, app, factory):
    client = app.test_client()
    user = factory.user(factory.org())
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302


def test_logout_without_csrf_token_is_refused(csrf_app, app, factory):
    client = app.test_client()
    user = factory.user(factory.org())
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert client.post("/auth/logout").status_code == 400


@pytest.fixture
def limited_app(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    # Flask-Limiter alone: the account lock (tests/test_login_throttle.py) waits.
    app_config["LOGIN_LOCK_AFTER"] = 100
    return app_config


def test_login_is_limited_after_ten_failures(limited_app, app, factory):
    client = app.test_client()
    user = factory.user(factory.org())
    for _ in range(10):
        response = client.post(
            "/auth/login", data={"email": user.email, "password": "wrong1234"}
        )
        assert response.status_code == 200
    blocked = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert "过于频繁" in blocked.get_data(as_text=True)
    # Counted per address and e-mail: another account's right password passes.
    other = factory.user(factory.org())
    allowed = client.post(
        "/auth/login", data={"email": other.email, "password": PASSWORD}
    )
    assert allowed.status_code == 302


def test_successful_logins_do_not_count_against_the_limit(limited_app, app, factory):
    user = factory.user(factory.org())
    for _ in range(12):
        client = app.test_client()
        response = client.post(
            "/auth/login", data={"email": user.email, "password": PASSWORD}
        )
        assert response.status_code == 302


def test_session_cookie_flags(app, factory):
    client = app.test_client()
    user = factory.user(factory.org())
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("mp_session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_need_a_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        build_config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "a-real-secret")
    config = build_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


def test_development_secret_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETPLACE_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = build_config(str(tmp_path))["SECRET_KEY"]
    second = build_config(str(tmp_path))["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_unknown_environment_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETPLACE_ENV", "staging")
    with pytest.raises(ConfigError):
        build_config(str(tmp_path))


def assert_security_headers(response):
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", ["/", "/auth/login", "/no-such-page", "/healthz"])
def test_security_headers_on_every_response(client, path):
    assert_security_headers(client.get(path))


def test_not_found_page_is_chinese_and_json_under_api(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "页面不存在" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.is_json and api.get_json()["status"] == 404


def test_forced_error_shows_no_traceback(app_config, app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "服务器出错" in body
    assert "Traceback" not in body and "secret internals" not in body
    assert_security_headers(response)


def test_oversize_body_is_refused(app_config, app, factory):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post(
        "/auth/login", data={"email": "a@example.cn", "password": "x" * 5000}
    )
    assert response.status_code == 413
    assert_security_headers(response)


def test_denial_is_audited(client, db, enterprise_client, factory):
    other = factory.org()
    response = enterprise_client.get(f"/orgs/{other.id}/members")
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "denied"))
    assert event.user_id == enterprise_client.user.id
    assert event.note == f"GET /orgs/{other.id}/members"


@pytest.mark.skipif(
    bool(__import__("os").environ.get("TEST_DATABASE_URL")), reason="SQLite only"
)
def test_sqlite_pragmas_and_explicit_writes(app, db):
    conn = db.session.connection()
    assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    path = db.engine.url.database
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    # Code that only reads begins deferred: another writer is not held up.
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    # A block that says it writes takes the write lock when it begins.
    with writing(), Session(db.engine) as session, session.begin():
        session.execute(text("SELECT 1"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()


def test_every_command_runs_as_a_writer(app):
    def leaves(command):
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                yield from leaves(sub)
        else:
            yield command

    ours = [leaf for command in COMMANDS for leaf in leaves(command)]
    assert len(ours) >= 16
    assert all(getattr(c.callback, "marketplace_writer", False) for c in ours)
    seen = []

    @click.command()
    def probe():
        seen.append(begins_immediate({}))

    _as_writer(probe)
    _as_writer(probe)  # registering twice wraps once
    assert CliRunner().invoke(probe).exit_code == 0
    assert seen == [True] and not begins_immediate({})


def test_error_page_renders_when_the_database_is_down(app, factory, login):
    client = login(factory.user(factory.org()))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        from marketplace.extensions import db

        db.engine.dispose()
    # Point the engine at a file that cannot be opened.
    app.extensions["sqlalchemy"]._app_engines[app][None] = __import__(
        "sqlalchemy"
    ).create_engine("sqlite:////nonexistent-dir/db.sqlite")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert_security_headers(response)
