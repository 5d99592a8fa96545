"""Engine set-up: SQLite pragmas and write transactions begun with BEGIN IMMEDIATE."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An execution option: transactions on such a connection only read, so they
# begin deferred even inside a POST request (the search index's own reads).
READ_ONLY = "marketplace_read_only"
# Set on flask.g while a page view writes (page_write): its transaction begins
# IMMEDIATE like a POST's.
WRITE_NOW = "marketplace_write_now"


def read_only(engine: Engine) -> Engine:
    """The engine whose transactions begin without taking SQLite's write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and IMMEDIATE write transactions."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module so that the
        # "begin" hook below decides how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A deferred transaction that reads and then writes fails at once with
        # SQLITE_BUSY when another writer got in between; IMMEDIATE takes the write
        # lock up front and waits for it under the busy timeout instead. Page views
        # only read, so they stay deferred and never queue behind writers.
        reading = connection.get_execution_options().get(READ_ONLY)
        if has_request_context() and g.get(WRITE_NOW):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif reading or (has_request_context() and request.method in READ_METHODS):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def page_write(session: Session) -> Iterator[None]:
    """Write from a page view (GET) and commit, waiting for SQLite's lock if held.

    A GET's transaction begins deferred, and one that read and then writes fails
    at once with "database is locked" when another writer committed in between.
    Nothing was written in it, so it ends here and the write gets a transaction
    begun IMMEDIATE, which waits for the lock under the busy timeout instead.
    """
    session.rollback()
    g.setdefault(WRITE_NOW, True)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        g.pop(WRITE_NOW, None)
