"""Engine set-up: SQLite pragmas, and which transactions take the write lock.

A SQLite transaction that reads and then writes fails at once with "database is
locked" when another writer committed in between; one begun IMMEDIATE takes the
write lock up front and waits for it under the busy timeout instead. Only the
code that writes says so, in one of three explicit forms:

- a request that changes state (POST, PUT, PATCH, DELETE): its one commit;
- `writing()`: a block whose transactions write (a `flask` command, a page
  view's deliberate write through `page_write`, a worker thread's own writes);
- everything else (page views, tests, searches) begins deferred and never holds
  the lock while it only reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An execution option: transactions on such a connection only read, so they
# begin deferred even inside a POST request (the search index's own reads).
READ_ONLY = "marketplace_read_only"
_writing: ContextVar[bool] = ContextVar("marketplace_writing", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside this block write: on SQLite they begin IMMEDIATE."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def begins_immediate(options: dict) -> bool:
    """Whether a transaction begun now, with these execution options, writes."""
    if options.get(READ_ONLY):
        return False
    if _writing.get():
        return True
    return has_request_context() and request.method not in READ_METHODS


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
        if begins_immediate(connection.get_execution_options()):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@contextmanager
def page_write(session: Session) -> Iterator[None]:
    """Write from a page view (GET) and commit, waiting for SQLite's lock if held.

    The page's read transaction ends here (nothing was written in it) and the
    write gets a transaction of its own, begun IMMEDIATE.
    """
    session.rollback()
    with writing():
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
