"""Real users over HTTP for the live-server tests, and checks on the server's data.

`HttpUser` is a browser without a browser: a `requests` session that keeps its
cookies, reads the CSRF token of every page it fetches and sends it back with
each form. `server_app` builds an app on a live server's database, so tests can
make accounts (nothing else is set up behind the application's back) and read
the rows afterwards.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
ALERT = re.compile(r'class="alert alert-(\w+)[^"]*"[^>]*>\s*(.*?)\s*<button', re.S)
LOGIN_PAGE = "/auth/login"


def skip_other_pass(database: str) -> None:
    """Each CI pass runs the variant of its own database (the suite's time budget)."""
    on_postgres = bool(os.environ.get("TEST_DATABASE_URL", "").strip())
    if (database == "postgres") != on_postgres:
        pytest.skip(f"the {database} variant runs in the {database} CI pass")


class ServerError(AssertionError):
    """The server answered 5xx (or not at all where an answer was due)."""


@dataclass
class Outcome:
    """What a form submission came to, as the user saw it."""

    status: int
    ok: bool
    location: str = ""
    message: str = ""


class HttpUser:
    """One logged-in (or anonymous) user talking to a live server."""

    def __init__(self, base_url: str, email: str | None = None, timeout: float = 60):
        self.base_url = base_url
        self.email = email
        self.timeout = timeout
        self.session = requests.Session()
        self.token: str | None = None
        self.requests = 0

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", self.timeout)
        self.requests += 1
        response = self.session.request(method, self.url(path), **kw)
        if response.status_code >= 500:
            raise ServerError(f"{method} {path} -> {response.status_code}")
        return response

    def get(self, path: str, **kw) -> requests.Response:
        """GET a page and remember the CSRF token it carries."""
        response = self.request("GET", path, **kw)
        found = TOKEN.search(response.text)
        if found:
            self.token = html.unescape(found.group(1))
        return response

    def post(self, path: str, data: dict | None = None, **kw) -> requests.Response:
        """POST a form with the current CSRF token."""
        payload = dict(data or {})
        if self.token is not None:
            payload.setdefault("csrf_token", self.token)
        return self.request("POST", path, data=payload, **kw)

    def login(self, email: str | None = None, password: str = PASSWORD) -> HttpUser:
        """Log in through the login form; raises unless it redirects."""
        self.email = email or self.email
        self.get(LOGIN_PAGE)
        response = self.post(
            LOGIN_PAGE, {"email": self.email, "password": password, "remember": ""}
        )
        if response.status_code != 302:
            raise AssertionError(f"login of {self.email}: {response.status_code}")
        self.token = None
        return self

    def submit(self, path: str, data: dict | None = None, *, form: str = "") -> Outcome:
        """Fetch `form` (for its token), POST, and read the flashed outcome.

        A redirect whose next page flashes success (or flashes nothing) is an
        acknowledged write; a re-rendered form (200), a flashed warning or error,
        or any 4xx is a refusal. A 5xx raises ServerError.
        """
        if form or self.token is None:
            self.get(form or "/")
        response = self.post(path, data)
        if response.status_code == 302:
            location = response.headers["Location"]
            page = self.get(location)
            alerts = ALERT.findall(page.text)
            bad = [m for level, m in alerts if level in ("danger", "warning")]
            return Outcome(
                302,
                not bad and LOGIN_PAGE not in location,
                location,
                "；".join(m for _, m in alerts),
            )
        return Outcome(response.status_code, False, "", response.text[:200])


def form_errors(page: str) -> list[str]:
    """The invalid-feedback messages of a re-rendered form."""
    return re.findall(r'class="invalid-feedback[^"]*"[^>]*>\s*([^<]+)', page)


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def server_app(server):
    """An app on the live server's database and index (for accounts and checks)."""
    from marketplace import create_app

    with _environ(
        MARKETPLACE_ENV="testing",
        MARKETPLACE_INSTANCE=str(server.root / "instance-tests"),
    ):
        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": server.database_url,
                "SEARCH_INDEX_DIR": str(server.index_dir),
                "SEARCH_SYNC_ON_COMMIT": False,
                "SEARCH_REBUILD_IN_BACKGROUND": False,
                "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
                "SECRET_KEY": "tests-only",
            }
        )


def make_people(app, spec: dict[str, tuple[str, int]]) -> dict[str, dict]:
    """Organisations with users: {"label": (kind, users)} -> {"label": {...}}."""
    from tests.factories import Factory

    factory = Factory(app, PASSWORD)
    people = {}
    for label, (kind, count) in spec.items():
        org = factory.org(kind)
        users = [factory.user(org, role="org_admin") for _ in range(count)]
        people[label] = {
            "org_id": org.id,
            "kind": kind,
            "emails": [u.email for u in users],
        }
    return people


class Rows:
    """Plain SQL on a live server's database."""

    def __init__(self, server):
        self.engine = create_engine(server.database_url)

    def all(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def execute(self, sql: str, **params) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def close(self) -> None:
        self.engine.dispose()


def index_position(server) -> int:
    """The last outbox id the server's index replica applied."""
    from marketplace.search.index import SearchIndex

    return SearchIndex(server.index_dir).position()


def wait_for_drained_outbox(server, rows: Rows, timeout: float = 30) -> tuple:
    """Wait until the index position reaches the outbox head; returns both."""
    deadline = time.monotonic() + timeout
    while True:
        head = rows.scalar("SELECT coalesce(max(id), 0) FROM search_outbox")
        position = index_position(server)
        if position == head or time.monotonic() > deadline:
            return position, head
        time.sleep(0.2)


def search_verify(server):
    """`flask search verify` on the server's database and index."""
    return server.flask("search", "verify", check=False)


def log_problems(server) -> list[str]:
    """What the server log must never show under load, each with its context."""
    lines = server.log_path.read_text(errors="replace").splitlines()
    bad = ("database is locked", "LockError", "Traceback", "deadlock detected")
    return [
        "\n".join(lines[max(0, n - 2) : n + 40])
        for n, line in enumerate(lines)
        if any(b in line for b in bad)
    ]
