"""Fixtures: an app per test on SQLite (or the shared PostgreSQL test database)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.models import Base, OrgKind, UserRole
from marketplace.reference import load_reference_data
from tests.factories import Factory

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
PASSWORD = "Passw0rd-test"


def _normalised_pg_url() -> str:
    from marketplace.config import normalise_database_url

    return normalise_database_url(TEST_DATABASE_URL)


def pytest_report_header(config):
    """Say which database the run uses."""
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite'}"


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


def _truncate(engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app_config(tmp_path):
    """Settings for the test app; tests may change them before `app` is built."""
    db_url = _normalised_pg_url() if TEST_DATABASE_URL else (
        f"sqlite:///{tmp_path / 'test.db'}"
    )
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }


@pytest.fixture
def app(app_config, pg_schema, tmp_path, monkeypatch):
    """A fresh app with an empty schema and the reference data loaded."""
    monkeypatch.setenv("MARKETPLACE_ENV", "testing")
    monkeypatch.setenv("MARKETPLACE_INSTANCE", str(tmp_path / "instance"))
    application = create_app(app_config)
    with application.app_context():
        if pg_schema is not None:
            _truncate(_db.engine)
        else:
            _db.create_all()
        load_reference_data()
        _db.session.commit()
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


@pytest.fixture
def login(app):
    """Return a logged-in test client for a user."""

    def _login(user, password: str = PASSWORD):
        client = app.test_client()
        response = client.post(
            "/auth/login", data={"email": user.email, "password": password}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
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
