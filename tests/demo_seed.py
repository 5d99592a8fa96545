"""`seed-demo` run once per test module; each test gets the seeded rows cheaply.

Seeding the demo takes seconds (about 3 s a test on PostgreSQL), and the demo
modules read the same seeded world in every test. The first test of a module
runs the command for real in its own database; the rows it left are kept with
the command's output (on SQLite a copy of the database file, on PostgreSQL
every table's rows as COPY writes them), and each later test of the module gets
them put back in its own freshly built database. Tests still write as they
please: the next test starts again from the seeded copy.

The seed writes nothing outside the database in tests (SEARCH_SYNC_ON_COMMIT is
off, so no search index is built; it stores no uploads), so only the database
is copied; `seed_once` checks that and fails if that ever changes.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Table, func, select, text

from marketplace.clock import local_today
from marketplace.extensions import db as _db
from marketplace.models import Base
from tests.conftest import _REFERENCE_FINGERPRINT, _REFERENCE_TABLES, _sqlite_path


@dataclass
class _Seeded:
    """What one real run of the command left: its output and its rows."""

    output: str
    day: date
    sqlite_file: Path | None = None
    # PostgreSQL: each table's rows as COPY wrote them, the highest id of each
    # table with an id sequence, and the reference rows' fingerprint.
    tables: dict[str, bytes] | None = None
    top_ids: dict[str, tuple[str, int]] | None = None
    reference: str | None = None


# (module, command arguments) -> the seeded state, for the session.
_SEEDED: dict[tuple[str, tuple[str, ...]], _Seeded] = {}


def seed_once(
    app: Flask,
    runner: FlaskCliRunner,
    args: list[str],
    module: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """Give the test's database the state `flask <args>` leaves; its output.

    The first call for a module (and again after the city's midnight, since the
    demo dates its history from today) runs the command; later calls restore
    what it left. The SQLite copy is kept under the session's temporary folder.
    """
    key = (module, tuple(args))
    day = local_today()
    seeded = _SEEDED.get(key)
    if seeded is not None and seeded.day == day:
        _restore(app, seeded)
        return seeded.output
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    _check_nothing_outside_the_database(app)
    target = tmp_path_factory.mktemp("seeded") / "seeded.db"
    _SEEDED[key] = _save(app, result.output, day, target)
    return result.output


def _check_nothing_outside_the_database(app: Flask) -> None:
    for setting in ("SEARCH_INDEX_DIR", "UPLOAD_DIR"):
        folder = Path(app.config[setting])
        assert not folder.exists() or not any(folder.iterdir()), (
            f"seed-demo wrote to {setting}: copy it too in tests/demo_seed.py"
        )


def _save(app: Flask, output: str, day: date, target: Path) -> _Seeded:
    with app.app_context():
        engine = _db.engine
        path = _sqlite_path(str(engine.url))
        if path is not None:
            _db.session.remove()
            engine.dispose()
            source = sqlite3.connect(path)
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
            return _Seeded(output, day, sqlite_file=target)
        return _dump_postgres(output, day)


def _copy_sql(table: Table, direction: str) -> str:
    name = _db.engine.dialect.identifier_preparer.format_table(table)
    return f"COPY {name} {direction}"


def _dump_postgres(output: str, day: date) -> _Seeded:
    """Every table's rows in COPY's own format: put back byte for byte."""
    tables, top_ids = {}, {}
    with _db.engine.connect() as conn:  # a read of its own, ended on leaving
        cursor = conn.connection.driver_connection.cursor()
        for table in Base.metadata.sorted_tables:
            with cursor.copy(_copy_sql(table, "TO STDOUT")) as copy:
                tables[table.name] = b"".join(bytes(chunk) for chunk in copy)
            column = table.autoincrement_column
            if column is not None:
                top = conn.execute(select(func.max(column))).scalar() or 0
                top_ids[table.name] = (column.name, top)
        reference = conn.execute(_REFERENCE_FINGERPRINT).scalar()
    return _Seeded(output, day, tables=tables, top_ids=top_ids, reference=reference)


def _restore(app: Flask, seeded: _Seeded) -> None:
    with app.app_context():
        if seeded.sqlite_file is not None:
            _restore_sqlite(seeded.sqlite_file)
        else:
            _restore_postgres(seeded)
    cache = app.extensions.get("page_cache")
    if cache is not None:
        cache.clear()


def _restore_sqlite(snapshot: Path) -> None:
    """Put the seeded file in place of the test's (its schema template copy)."""
    path = _sqlite_path(str(_db.engine.url))
    _db.session.remove()
    _db.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(snapshot, path)


def _restore_postgres(seeded: _Seeded) -> None:
    """Copy the seeded rows into the emptied tables, ids and all.

    The test's reset left the reference rows; they are replaced only if the
    seed changed them. Each id sequence then moves past the restored ids, so
    the test's own inserts do not collide with them.
    """
    conn = _db.session.connection()
    keep = set()
    if conn.execute(_REFERENCE_FINGERPRINT).scalar() == seeded.reference:
        keep = set(_REFERENCE_TABLES)
    targets = [t for t in Base.metadata.sorted_tables if t.name not in keep]
    # The test's reset emptied every other table; only the reference rows it
    # kept must go before the seeded ones come back.
    for table in reversed(targets):
        if table.name in _REFERENCE_TABLES:
            conn.execute(table.delete())
    cursor = conn.connection.driver_connection.cursor()
    for table in targets:
        if seeded.tables[table.name]:
            with cursor.copy(_copy_sql(table, "FROM STDIN")) as copy:
                copy.write(seeded.tables[table.name])
    tops = [(name, *seeded.top_ids[name]) for name in seeded.top_ids]
    tops = [row for row in tops if row[0] not in keep]
    if tops:
        names, columns, ids = zip(*tops, strict=True)
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(t, c), greatest(v, 1), v > 0)"
                " FROM unnest(CAST(:t AS text[]), CAST(:c AS text[]),"
                " CAST(:v AS bigint[])) AS s(t, c, v)"
                " WHERE pg_get_serial_sequence(t, c) IS NOT NULL"
            ),
            {"t": list(names), "c": list(columns), "v": list(ids)},
        )
    _db.session.commit()
    _db.session.remove()
