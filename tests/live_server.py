"""A real gunicorn server over a database of its own, for end-to-end tests.

Browser journeys, concurrent writers and crash tests need the product as it
runs in production: several worker processes, a migrated database, its own
search index and instance folder. `LiveServer` prepares all of that under a
temporary directory, starts `gunicorn wsgi:app` and stops it again. On
PostgreSQL (when TEST_DATABASE_URL is set) each server gets a fresh database,
created next to the test database and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask.cli import FlaskGroup
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from marketplace import create_app
from marketplace.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ replaced by `values` for the block, then put back."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _admin_engine(test_url: str):
    url = make_url(test_url).set(database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


# Test databases commit without waiting for the disk: a crash of the test
# server could lose the last commits, which no test relies on (about 5% off the
# PostgreSQL pass). The per-worker databases (tests/conftest.py) and CI's own
# database say the same.
QUICK_COMMITS = 'ALTER DATABASE "{name}" SET synchronous_commit = off'


def create_database(test_url: str) -> str:
    """A new, empty PostgreSQL database on the test server; returns its URL."""
    name = f"marketplace_live_{secrets.token_hex(4)}"
    engine = _admin_engine(test_url)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(QUICK_COMMITS.format(name=name)))
    engine.dispose()
    return make_url(test_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by create_database, whoever is still connected."""
    name = make_url(url).database
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class LiveServer:
    """gunicorn serving the app from a directory of its own."""

    root: Path
    database_url: str
    workers: int = 4
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def index_dir(self) -> Path:
        """This server's search index (SEARCH_INDEX_DIR)."""
        return self.root / "search_index"

    @property
    def log_path(self) -> Path:
        """gunicorn's error log and the access log."""
        return self.root / "gunicorn.log"

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return self.base_url + path

    def env(self) -> dict[str, str]:
        """The process environment of the server and of its `flask` commands."""
        env = dict(os.environ)
        for name in ("TEST_DATABASE_URL", "REQUIRE_POSTGRES"):
            env.pop(name, None)
        env.update(
            MARKETPLACE_ENV="development",
            MARKETPLACE_INSTANCE=str(self.root / "instance"),
            DATABASE_URL=self.database_url,
            SEARCH_INDEX_DIR=str(self.index_dir),
            UPLOAD_DIR=str(self.root / "uploads"),
            RATELIMIT_ENABLED="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env_extra)
        return env

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `flask --app wsgi ARGS` against this server's database and index.

        The command runs in this process, under the server's environment, as
        `flask` would run it: an app made by the factory, the same command group
        (the app's commands and Flask-Migrate's `db`). That spares a Python start
        and the app's imports (about two seconds) for each command.
        """
        with _environment(self.env()):
            application = create_app()
            group = FlaskGroup(create_app=lambda: application)
            result = application.test_cli_runner().invoke(group, list(args))
            with application.app_context():
                db.engine.dispose()
        stderr = result.stderr
        if result.exception is not None and not isinstance(
            result.exception, SystemExit
        ):
            stderr += "".join(traceback.format_exception(result.exception))
        done = subprocess.CompletedProcess(
            ["flask", *args], result.exit_code, result.stdout, stderr
        )
        if check:
            done.check_returncode()
        return done

    def prepare(self) -> LiveServer:
        """Migrate the database and load the reference data."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.flask("db", "upgrade")
        self.flask("load-reference")
        return self

    def start(self, timeout: float = 60) -> LiveServer:
        """Start gunicorn and wait until /healthz answers."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed by the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--no-control-socket",
                "--graceful-timeout",
                "5",
                # As `make run`: no gunicorn cap on the request line, so an
                # overlong URL gets the app's own 414 page (marketplace/errors.py).
                "--limit-request-line",
                "0",
                "--access-logfile",
                "-",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:
                # An http:// URL we built ourselves.
                health = self.url("/healthz")
                with urllib.request.urlopen(health, timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer: {self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The process ids of gunicorn's workers (children of the master)."""
        if self.process is None:
            return []
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in children.read_text().split()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop gunicorn (SIGTERM: gracefully; SIGKILL: a crash) and wait."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        try:
            text_ = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text_.splitlines()[-lines:])
