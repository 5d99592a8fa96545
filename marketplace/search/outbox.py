"""The outbox: every change to an indexed row appends a row in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from marketplace.models import Challenge, Result, SearchOutbox

INDEXED = {Challenge: "challenge", Result: "result"}
# Set on a session whose transaction wrote outbox rows, so that its commit
# triggers an index update.
DIRTY = "search_outbox_dirty"
# The (kind, id) pairs a transaction changed; written to the outbox at commit.
PENDING = "search_outbox_pending"
# A transaction-scoped PostgreSQL advisory lock that orders outbox writers.
ORDER_LOCK = 0x6F7574626F78  # "outbox"


def enqueue(session: Session, kind: str, ids: Iterable[int]) -> None:
    """Append outbox rows for listings changed outside the ORM (bulk UPDATEs)."""
    rows = {(kind, doc_id) for doc_id in ids}
    if rows:
        session.info.setdefault(PENDING, set()).update(rows)
        session.info[DIRTY] = True


def _changed(session: Session) -> set[tuple[str, int]]:
    changed = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        kind = INDEXED.get(type(obj))
        if kind is None or obj.id is None:
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        changed.add((kind, obj.id))
    return changed


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context) -> None:
    # Ids exist after the flush; the rows are written when the transaction commits.
    changed = _changed(session)
    if changed:
        session.info.setdefault(PENDING, set()).update(changed)
        session.info[DIRTY] = True


@event.listens_for(Session, "before_commit")
def _write_outbox(session: Session) -> None:
    # The outbox rows go in last, on the transaction's own connection, so they
    # commit or roll back with the changes they describe. Their ids must also be
    # taken in commit order: an index follows the outbox by "last id applied",
    # and on PostgreSQL a sequence hands out ids when rows are inserted, so a
    # transaction that took id 10 but committed after the one with id 11 would be
    # skipped for good. The advisory lock, held from here to the commit, makes
    # writers take their ids one at a time; nothing else is waited for while it
    # is held, so it cannot deadlock. (SQLite writers are serialised already.)
    if session.in_nested_transaction():
        return
    session.flush()
    rows = session.info.pop(PENDING, None)
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": ORDER_LOCK}
        )
    connection.execute(
        insert(SearchOutbox),
        [{"doc_kind": kind, "doc_id": doc_id} for kind, doc_id in sorted(rows)],
    )


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # A rolled-back transaction leaves nothing behind; a savepoint's end does not
    # drop what the enclosing transaction still has to write.
    if transaction.parent is None:
        session.info.pop(PENDING, None)
