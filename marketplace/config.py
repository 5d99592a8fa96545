"""Settings read from the environment, with SQLite defaults for development."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENVIRONMENTS = ("development", "production", "testing")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a runnable configuration."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def normalise_database_url(url: str) -> str:
    """Point bare postgres URLs at the psycopg 3 driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(env: str, instance_path: Path) -> str:
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY must be set when MARKETPLACE_ENV=production")
    # Kept in the instance folder so logins survive restarts and every
    # gunicorn worker signs cookies with the same key.
    path = instance_path / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        key = secrets.token_hex(32)
        handle.write(key)
    return key


DEFAULT_MAIL_FROM = "技术转移撮合平台 <noreply@localhost>"


def _mail_settings() -> dict:
    # No MAIL_SERVER: mails stay queued, logged and shown on the 发信箱 page.
    use_ssl = _flag(os.environ.get("MAIL_USE_SSL"), False)
    return {
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "465" if use_ssl else "25")),
        "MAIL_USE_TLS": _flag(os.environ.get("MAIL_USE_TLS"), False),
        "MAIL_USE_SSL": use_ssl,
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", DEFAULT_MAIL_FROM),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        "MAIL_RETRY_SECONDS": int(os.environ.get("MAIL_RETRY_SECONDS", "60")),
        "MAIL_SEND_ON_COMMIT": _flag(os.environ.get("MAIL_SEND_ON_COMMIT"), True),
        # Links in mails: commands run outside a request, so the site's address.
        "SITE_URL": os.environ.get("SITE_URL", "http://127.0.0.1:5000").rstrip("/"),
    }


def build_config(instance_path: str) -> dict:
    """Return the settings for the environment this process runs in."""
    env = os.environ.get("MARKETPLACE_ENV", "development").strip() or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"MARKETPLACE_ENV must be one of {', '.join(ENVIRONMENTS)}")
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    default_db = f"sqlite:///{instance / 'marketplace.db'}"
    secure_cookies = env == "production"
    return {
        "MARKETPLACE_ENV": env,
        "SECRET_KEY": _secret_key(env, instance),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL", default_db)
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SEARCH_INDEX_DIR": os.environ.get(
            "SEARCH_INDEX_DIR", str(PROJECT_ROOT / "search_index")
        ),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR", str(instance / "uploads")),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _flag(os.environ.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Failed login POSTs per address and e-mail (Flask-Limiter, per worker
        # with memory://); guessing is stopped by the locks below, in the database.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_LOCK_AFTER": int(os.environ.get("LOGIN_LOCK_AFTER", "5")),
        "LOGIN_ADDRESS_LOCK_AFTER": int(
            os.environ.get("LOGIN_ADDRESS_LOCK_AFTER", "20")
        ),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(
            os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", "15")
        ),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        "LOGIN_LOCK_MAX_MINUTES": int(
            os.environ.get("LOGIN_LOCK_MAX_MINUTES", "1440")
        ),
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "120 per minute"),
        "MAX_ATTACHMENT_BYTES": int(os.environ.get("MAX_ATTACHMENT_BYTES", 20 * 2**20)),
        # Apply the outbox to this node's index right after each commit; turn off
        # when a separate `flask search sync` process follows the outbox instead.
        "SEARCH_SYNC_ON_COMMIT": _flag(os.environ.get("SEARCH_SYNC_ON_COMMIT"), True),
        "SEARCH_REBUILD_IN_BACKGROUND": True,
        # Outbox rows every replica has applied are deleted, except this many
        # newest ones (search/replicas.py).
        "SEARCH_OUTBOX_KEEP": int(os.environ.get("SEARCH_OUTBOX_KEEP", "1000")),
        # Listing pages read stored explained matches (matching/stored.py); after
        # each sync the indexer recomputes at most this many, starting none after
        # this many seconds; the rest are matched (and stored) when next read.
        "SEARCH_STORED_MATCHES": _flag(os.environ.get("SEARCH_STORED_MATCHES"), True),
        "SEARCH_STORED_MATCH_BATCH": int(
            os.environ.get("SEARCH_STORED_MATCH_BATCH", "20")
        ),
        "SEARCH_STORED_MATCH_SECONDS": float(
            os.environ.get("SEARCH_STORED_MATCH_SECONDS", "0.2")
        ),
        "SEARCH_USERDICT": os.environ.get(
            "SEARCH_USERDICT", str(instance / "search_userdict.txt")
        ),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 64 * 2**20)),
        # Anonymous visitors' public pages are kept this many seconds per worker
        # (marketplace/pagecache.py); 0 turns the cache off, as tests do.
        "PAGE_CACHE_SECONDS": float(
            os.environ.get("PAGE_CACHE_SECONDS", "0" if env == "testing" else "10")
        ),
        "PROXY_FIX_X_FOR": int(os.environ.get("PROXY_FIX_X_FOR", "0")),
        "SESSION_COOKIE_NAME": "mp_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "PREFERRED_URL_SCHEME": "https" if secure_cookies else "http",
        "WTF_CSRF_TIME_LIMIT": None,
        # WTForms ships Chinese messages; use them without Flask-Babel.
        "WTF_I18N_ENABLED": False,
        "DISPLAY_TIMEZONE": os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai"),
        **_mail_settings(),
        "TESTING": env == "testing",
    }
