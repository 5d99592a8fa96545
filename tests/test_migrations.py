"""The Alembic migrations build exactly the schema the models describe.

Each test builds its own app on its own scratch database, so the shared test schema
(and the `app` fixture) is never touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

import marketplace.models  # noqa: F401  (every table registered on db.metadata)
from marketplace import create_app
from marketplace.config import normalise_database_url
from marketplace.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()

# A few tables named outright, so that a broken metadata import cannot make the
# "every model table exists" check vacuous.
CORE_TABLES = {
    "regions",
    "tech_fields",
    "organisations",
    "users",
    "challenges",
    "results",
    "proposals",
    "deals",
    "contracts",
    "payments",
    "audit_events",
    "search_outbox",
}


@pytest.fixture
def make_app(app_config, tmp_path, monkeypatch):
    """Build an app (from conftest's `app_config`) on a given database URL."""
    monkeypatch.setenv("MARKETPLACE_ENV", "testing")
    monkeypatch.setenv("MARKETPLACE_INSTANCE", str(tmp_path / "instance"))
    built = []

    def _make(database_url: str):
        config = dict(app_config, SQLALCHEMY_DATABASE_URI=database_url)
        application = create_app(config)
        built.append(application)
        return application

    yield _make
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _model_tables() -> set[str]:
    return set(db.metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _schema_facts(engine: Engine) -> dict:
    """What the database itself says about every table, in a comparable form.

    Alembic's compare_metadata does not look at CHECK constraints or at the WHERE
    clause of partial indexes, so those are compared here from reflection.
    """
    insp = inspect(engine)
    facts = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        facts[table] = {
            # Sorted: ALTER TABLE appends a column where create_all puts it in
            # model order, and the order means nothing to the application.
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"])
                for c in insp.get_columns(table)
            ),
            "pk": insp.get_pk_constraint(table),
            "fks": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    tuple(sorted(fk.get("options", {}).items())),
                )
                for fk in insp.get_foreign_keys(table)
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in insp.get_unique_constraints(table)
            ),
            "checks": sorted(
                (c["name"], c["sqltext"]) for c in insp.get_check_constraints(table)
            ),
            "indexes": sorted(
                (
                    i["name"],
                    tuple(i["column_names"]),
                    bool(i["unique"]),
                    tuple(
                        sorted(
                            (k, str(v))
                            for k, v in i.get("dialect_options", {}).items()
                            if k.endswith("_where")
                        )
                    ),
                )
                for i in insp.get_indexes(table)
            ),
        }
    return facts


def _assert_no_model_diff(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": conn.dialect.name == "sqlite",
            },
        )
        diff = compare_metadata(context, db.metadata)
    # Nothing is filtered: a model change without a migration must show up here.
    assert diff == [], (
        "models and migrations differ; write a migration with "
        "`flask --app wsgi db migrate -m '...'` and review it:\n"
        + "\n".join(map(repr, diff))
    )


def _head_revision() -> str:
    """The newest revision in migrations/, which an upgrade must reach."""
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _upgrade_check_downgrade(application, reference_engine: Engine) -> None:
    """Upgrade an empty database, compare it with create_all, downgrade to base."""
    with application.app_context():
        engine = db.engine
        assert _tables(engine) - {"alembic_version"} == set()

        flask_migrate.upgrade()
        tables = _tables(engine)
        assert tables >= CORE_TABLES
        assert tables == _model_tables() | {"alembic_version"}
        with engine.connect() as conn:
            heads = conn.execute(text("SELECT version_num FROM alembic_version"))
            assert [row[0] for row in heads] == [_head_revision()]
        _assert_no_model_diff(engine)

        db.metadata.create_all(reference_engine)
        migrated, reference = _schema_facts(engine), _schema_facts(reference_engine)
        assert migrated.keys() == reference.keys()
        for table in reference:
            assert migrated[table] == reference[table], table

        flask_migrate.downgrade(revision="base")
        assert _tables(engine) == {"alembic_version"}
        engine.dispose()


def test_migration_upgrades_empty_database_sqlite(make_app, tmp_path):
    """On a fresh SQLite file, upgrade builds every table and downgrade drops them."""
    application = make_app(f"sqlite:///{tmp_path / 'migrated.db'}")
    reference = create_engine(f"sqlite:///{tmp_path / 'create_all.db'}")
    try:
        _upgrade_check_downgrade(application, reference)
    finally:
        reference.dispose()


def test_models_match_migrations(make_app, tmp_path):
    """After `upgrade` on SQLite, autogenerate finds nothing left to migrate."""
    application = make_app(f"sqlite:///{tmp_path / 'compare.db'}")
    with application.app_context():
        flask_migrate.upgrade()
        _assert_no_model_diff(db.engine)


@contextmanager
def _scratch_postgres_database() -> Iterator[str]:
    """Create a throwaway database next to TEST_DATABASE_URL; drop it afterwards."""
    base_url = make_url(normalise_database_url(TEST_DATABASE_URL))
    name = f"mp_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="TEST_DATABASE_URL is not set: no PostgreSQL server to migrate",
)
def test_migration_upgrades_empty_database_postgres(make_app):
    """On a fresh PostgreSQL database, upgrade builds tables; downgrade drops them."""
    with (
        _scratch_postgres_database() as migrated_url,
        _scratch_postgres_database() as reference_url,
    ):
        reference = create_engine(reference_url)
        try:
            _upgrade_check_downgrade(make_app(migrated_url), reference)
        finally:
            reference.dispose()
