"""Fixtures: an app per test on SQLite (or the shared PostgreSQL test database)."""

from __future__ import annotations

import contextvars
import copy
import gc
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from flask import has_app_context, session
from flask.testing import FlaskClient
from flask_login import login_user
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.routing import Rule

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.models import Base, OrgKind, User, UserRole
from marketplace.reference import load_reference_data
from marketplace.security import start_login_session
from tests.factories import Factory
from tests.live_server import QUICK_COMMITS

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
PASSWORD = "Passw0rd-test"


def _normalised_pg_url() -> str:
    from marketplace.config import normalise_database_url

    return normalise_database_url(TEST_DATABASE_URL)


def pytest_configure(config):
    """Collect garbage less often; each pytest-xdist worker gets its own database."""
    # Each test builds an app (thousands of objects) over a heap that holds
    # jieba's dictionary: at Python's default thresholds the collector's full
    # passes took a quarter of the run. Measured on 230 tests: 81 s -> 62 s,
    # peak memory 372 -> 534 MB.
    gc.set_threshold(50_000, 50, 1000)
    global TEST_DATABASE_URL
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not (worker and TEST_DATABASE_URL):
        return
    url = make_url(_normalised_pg_url())
    name = f"{url.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(QUICK_COMMITS.format(name=name)))
    engine.dispose()
    TEST_DATABASE_URL = url.set(database=name).render_as_string(hide_password=False)
    os.environ["TEST_DATABASE_URL"] = TEST_DATABASE_URL
    config.add_cleanup(lambda: _drop_worker_database(url, name))


def _drop_worker_database(url, name: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def pytest_sessionstart(session):
    """With REQUIRE_POSTGRES=1, refuse to run unless PostgreSQL is really there."""
    if os.environ.get("REQUIRE_POSTGRES", "").strip() != "1":
        return
    from sqlalchemy.engine import make_url

    if not TEST_DATABASE_URL:
        pytest.exit(
            "REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/marketplace_test)",
            returncode=1,
        )
    try:
        backend = make_url(_normalised_pg_url()).get_backend_name()
    except Exception as exc:  # an unparsable URL
        pytest.exit(
            f"REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is invalid: {exc}",
            returncode=1,
        )
    if backend != "postgresql":
        pytest.exit(
            f"REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is a {backend} URL, "
            "not a postgresql one",
            returncode=1,
        )
    engine = create_engine(_normalised_pg_url())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.exit(
            f"REQUIRE_POSTGRES=1 but PostgreSQL at TEST_DATABASE_URL cannot be "
            f"reached: {exc}",
            returncode=1,
        )
    finally:
        engine.dispose()


def pytest_collection_modifyitems(config, items):
    """Mark the slow kinds, so `-m "not browser and not live and not fuzz"` is fast."""
    for item in items:
        name = item.path.name
        if name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        if name.endswith("_live.py") or "live_server" in item.fixturenames:
            item.add_marker(pytest.mark.live)
        if name.startswith("test_fuzz_") or name == "test_schemathesis.py":
            item.add_marker(pytest.mark.fuzz)


def pytest_report_header(config):
    """Say which database the run uses."""
    engine = f"PostgreSQL {TEST_DATABASE_URL}" if TEST_DATABASE_URL else "SQLite"
    return f"database: {engine}"


class IsolatedClient(FlaskClient):
    """A test client whose requests run in a context of their own, as on a server.

    Without this, a request made while a test holds an app context would share
    that context's `g` (and so the logged-in user) and database session.
    """

    def open(self, *args, **kwargs):
        """End the test's own transaction, then run the request in a fresh context."""
        if has_app_context():
            # The request commits on a connection of its own: the test reads
            # what it committed in a new transaction after.
            _db.session.rollback()
        return contextvars.Context().run(self._open_and_read, *args, **kwargs)

    def _open_and_read(self, *args, **kwargs):
        # A streamed body (an export) is read in its request's context, as a
        # server reads it; a test may still ask for buffered=False.
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


class _SessionBytecode(BytecodeCache):
    """Compiled templates kept for the session, shared by every test's app.

    Each test builds its own app and so its own Jinja environment, which would
    otherwise parse and compile every template it renders again (about a quarter
    of a second a test). Jinja checks the source checksum, so an edited
    template is compiled afresh.
    """

    def __init__(self) -> None:
        self._codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        """Fill the bucket from the session's store."""
        code = self._codes.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        """Keep the bucket's code for later apps."""
        self._codes[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SessionBytecode()


def _memoise_url_builders() -> None:
    """Build each URL rule's builder function once per session, not once per app.

    Werkzeug turns every rule into Python source and compiles it whenever an app
    registers its blueprints (about 0.2 s for each test's app). The function
    depends only on the rule text, its parsed parts and its defaults; it reads
    the rule's converters through its `self` argument at call time, so one
    function serves every app's copy of the same rule.
    """
    compile_builder = Rule._compile_builder
    if getattr(compile_builder, "memoised", False):
        return
    builders: dict[tuple, object] = {}

    def memoised(self, append_unknown=True):
        key = (
            self.rule,
            self.host,
            self.subdomain,
            tuple(self._trace),
            tuple(sorted((k, repr(v)) for k, v in (self.defaults or {}).items())),
            append_unknown,
        )
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    memoised.memoised = True
    Rule._compile_builder = memoised


_memoise_url_builders()


def _memoise_rule_parsing() -> None:
    """Parse each URL rule once per session, not once per test's app.

    Werkzeug parses every rule into its parts when an app registers it (about
    half of building an app). The parts depend only on the rule text, the
    slash settings and the map's converter classes; the converters themselves
    are made afresh for each map, as Werkzeug would.
    """
    compile_rule = Rule.compile
    if getattr(compile_rule, "memoised", False):
        return
    parsed: dict[tuple, tuple] = {}

    def memoised(self) -> None:
        key = (
            self.rule,
            self.host if self.map.host_matching else self.subdomain,
            self.map.host_matching,
            self.merge_slashes,
            _converter_classes(self.map),
        )
        known = parsed.get(key)
        if known is None:
            compile_rule(self)
            parsed[key] = (list(self._parts), list(self._trace), self._converters)
            return
        parts, trace, converters = known
        self._parts = list(parts)
        self._trace = list(trace)
        self._converters = {
            name: _converter_for(self.map, original)
            for name, original in converters.items()
        }
        self.arguments |= set(self._converters)
        self._build = self._compile_builder(False).__get__(self, None)
        self._build_unknown = self._compile_builder(True).__get__(self, None)

    memoised.memoised = True
    Rule.compile = memoised


def _converter_for(map_, original):
    """A copy of a converter bound to another app's map."""
    converter = copy.copy(original)
    converter.map = map_
    return converter


def _converter_classes(map_) -> tuple:
    """The map's converters as a key, worked out again only when they change."""
    known = map_.__dict__.get("_converter_classes")
    if known is None or known[0] != map_.converters:
        known = (dict(map_.converters), tuple(map_.converters.items()))
        map_._converter_classes = known
    return known[1]


_memoise_rule_parsing()


@pytest.fixture(scope="session")
def pg_schema():
    """Create the schema once on the PostgreSQL test database."""
    if not TEST_DATABASE_URL:
        yield None
        return
    engine = create_engine(_normalised_pg_url())
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


# The reference rows (regions, technology fields) survive from test to test
# unless a test changed them; everything else is emptied.
_REFERENCE_TABLES = ("regions", "tech_fields")

# Every other sequence of the test schema back to 1, as TRUNCATE ... RESTART
# IDENTITY would.
_RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
    " AND c.oid <> pg_get_serial_sequence('tech_fields', 'id')::regclass"
)

# What the reference rows hold, to tell whether a test changed them.
_REFERENCE_FINGERPRINT = text(
    "SELECT (SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.code), ''))"
    " FROM regions r) || (SELECT md5(coalesce(string_agg(f::text, '|'"
    " ORDER BY f.id), '')) FROM tech_fields f)"
)


def _empty_tables(conn, names) -> None:
    # One round trip: DELETE, not TRUNCATE, because a test leaves a few rows,
    # which DELETE removes in milliseconds, while TRUNCATE of every table costs
    # about half a second a test.
    tables = Base.metadata.tables
    statements = (
        str(tables[name].delete().compile(dialect=conn.dialect)) for name in names
    )
    conn.exec_driver_sql(";".join(statements))


def _reset_postgres(engine) -> None:
    """Empty the tables and restart their sequences; reload changed reference rows."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        _empty_tables(conn, [n for n in names if n not in _REFERENCE_TABLES])
        conn.execute(_RESTART_SEQUENCES)
        if conn.execute(_REFERENCE_FINGERPRINT).scalar() == _TEMPLATE.get("pg"):
            return
        _empty_tables(conn, _REFERENCE_TABLES)
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('tech_fields', 'id'), 1, false)")
        )
    load_reference_data()
    _db.session.commit()
    with engine.connect() as conn:
        _TEMPLATE["pg"] = conn.execute(_REFERENCE_FINGERPRINT).scalar()


def settings_for(root) -> dict:
    """Settings for a test app whose files live under the folder `root`."""
    db_url = (
        _normalised_pg_url() if TEST_DATABASE_URL else f"sqlite:///{root / 'test.db'}"
    )
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "WTF_CSRF_ENABLED": False,
        # Still scrypt, at a cost that keeps hundreds of test logins fast.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SEARCH_INDEX_DIR": str(root / "search_index"),
        # Search tests switch this on; elsewhere the index is not needed.
        "SEARCH_SYNC_ON_COMMIT": False,
        "SEARCH_REBUILD_IN_BACKGROUND": False,
        "UPLOAD_DIR": str(root / "uploads"),
    }


def build_test_app(config: dict, pg_schema):
    """An app over an emptied schema with the reference data loaded.

    The caller sets MARKETPLACE_ENV=testing and MARKETPLACE_INSTANCE first.
    """
    path = _sqlite_path(config["SQLALCHEMY_DATABASE_URI"])
    copied = pg_schema is None and path is not None and _copy_template(path)
    application = create_app(config)
    application.test_client_class = IsolatedClient
    application.jinja_env.bytecode_cache = _BYTECODE
    if copied:
        return application
    with application.app_context():
        if pg_schema is not None:
            _reset_postgres(_db.engine)
            return application
        _db.create_all()
        load_reference_data()
        _db.session.commit()
        if path is not None:
            _save_template(_db.engine, path)
    return application


# The schema and reference data, built once per session (per pytest process)
# and copied into each test's SQLite file ("db"); on PostgreSQL, the fingerprint
# of the reference rows the last reset left ("pg").
_TEMPLATE: dict[str, Path | str] = {}


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _copy_template(path: Path) -> bool:
    template = _TEMPLATE.get("db")
    if template is None or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return True


def _save_template(engine, path: Path) -> None:
    if "db" in _TEMPLATE:
        return
    target = Path(tempfile.mkdtemp(prefix="marketplace-schema-")) / "template.db"
    with engine.connect() as conn:
        source = conn.connection.driver_connection
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    _TEMPLATE["db"] = target


@pytest.fixture
def app_config(tmp_path):
    """Settings for the test app; tests may change them before `app` is built."""
    return settings_for(tmp_path)


@pytest.fixture
def app(app_config, pg_schema, tmp_path, monkeypatch):
    """A fresh app with an empty schema and the reference data loaded."""
    monkeypatch.setenv("MARKETPLACE_ENV", "testing")
    monkeypatch.setenv("MARKETPLACE_INSTANCE", str(tmp_path / "instance"))
    application = build_test_app(app_config, pg_schema)
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database extension inside an app context."""
    with app.app_context():
        yield _db
        _db.session.rollback()


@pytest.fixture
def client(app):
    """An anonymous test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `flask` commands."""
    return app.test_cli_runner()


@pytest.fixture
def factory(app):
    """Make organisations and users (committed, returned detached)."""
    return Factory(app, PASSWORD)


def _login_with_form(app, email: str, password: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def _session_for(app, user_id: int) -> dict | None:
    """The cookie session a successful login gives the user, or None if it cannot."""
    # A POST, as the login form is: its transaction takes SQLite's write lock
    # up front (marketplace/database.py) instead of failing to upgrade a read.
    with app.test_request_context(method="POST"):
        row = _db.session.get(User, user_id)
        if row is None or not row.active or row.email_confirmed_at is None:
            return None
        start_login_session(row)
        login_user(row)
        _db.session.commit()
        return dict(session)


@pytest.fixture
def login(app):
    """Return a logged-in test client for a user.

    Without a password the client gets the session a login gives (a server-side
    login session and Flask-Login's cookie keys) without posting the login form,
    which the auth tests exercise; with one, it logs in through the form.
    """

    def _login(user, password: str | None = None):
        if password is not None:
            return _login_with_form(app, user.email, password)
        # Read before the rollback: reading an expired object afterwards would
        # begin a new transaction in the test's session.
        user_id, email = user.id, user.email
        if has_app_context():
            # As IsolatedClient.open does: the login commits elsewhere.
            _db.session.rollback()
        # A context of its own: the test's session and `g` are left alone.
        values = contextvars.Context().run(_session_for, app, user_id)
        if values is None:  # inactive or unconfirmed: let the form say why
            return _login_with_form(app, email, PASSWORD)
        client = app.test_client()
        with client.session_transaction() as cookie_session:
            cookie_session.update(values)
        return client

    return _login


def _role_client(factory, login, kind, role=UserRole.MEMBER, verified=True, **kw):
    org = factory.org(kind=kind, verified=verified)
    user = factory.user(org, role=role, **kw)
    client = login(user)
    client.user = user
    client.org = org
    return client


@pytest.fixture
def enterprise_client(factory, login):
    """A member of a verified enterprise."""
    return _role_client(factory, login, OrgKind.ENTERPRISE)


@pytest.fixture
def org_admin_client(factory, login):
    """The administrator of a verified enterprise."""
    return _role_client(factory, login, OrgKind.ENTERPRISE, UserRole.ORG_ADMIN)


@pytest.fixture
def university_client(factory, login):
    """A member of a verified university."""
    return _role_client(factory, login, OrgKind.UNIVERSITY)


@pytest.fixture
def institute_client(factory, login):
    """A member of a verified research institute."""
    return _role_client(factory, login, OrgKind.INSTITUTE)


@pytest.fixture
def agency_client(factory, login):
    """A member of a verified technology transfer agency."""
    return _role_client(factory, login, OrgKind.AGENCY)


@pytest.fixture
def bureau_client(factory, login):
    """Bureau staff."""
    return _role_client(factory, login, OrgKind.BUREAU)


@pytest.fixture
def sysadmin_client(factory, login):
    """A platform operator (member of the bureau organisation)."""
    return _role_client(factory, login, OrgKind.BUREAU, is_sysadmin=True)


@pytest.fixture
def unverified_client(factory, login):
    """The administrator of an enterprise the bureau has not verified yet."""
    return _role_client(
        factory, login, OrgKind.ENTERPRISE, UserRole.ORG_ADMIN, verified=False
    )


@pytest.fixture
def live_server(tmp_path):
    """Start gunicorn servers on databases of their own; all stopped afterwards.

    `live_server(workers=4, env={...}, database="sqlite"|"postgres")` returns a
    prepared, started tests.live_server.LiveServer. "postgres" needs
    TEST_DATABASE_URL and skips without it.
    """
    from tests.live_server import LiveServer, create_database, drop_database

    servers: list[LiveServer] = []
    databases: list[str] = []

    def start(workers: int = 4, env: dict | None = None, database: str = "sqlite"):
        root = tmp_path / f"live{len(servers)}"
        if database == "postgres":
            if not TEST_DATABASE_URL:
                pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL server")
            url = create_database(_normalised_pg_url())
            databases.append(url)
        else:
            if TEST_DATABASE_URL:
                # The same server on the same SQLite file runs in the SQLite pass;
                # the PostgreSQL pass keeps its time for what PostgreSQL changes.
                pytest.skip("a SQLite server: the SQLite pass runs it")
            root.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{root / 'live.db'}"
        server = LiveServer(root, url, workers=workers, env_extra=dict(env or {}))
        servers.append(server)
        return server.prepare().start()

    yield start
    for server in servers:
        server.stop()
    for url in databases:
        drop_database(url)
