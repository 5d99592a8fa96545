"""The outbox: every change to an indexed row appends a row in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.orm import Session

from marketplace.models import Challenge, Organisation, Result, SearchOutbox, TechField

INDEXED = {Challenge: "challenge", Result: "result"}
# What an index document is built from besides its listing's own columns
# (documents.document_for): the organisation's region (a result's region) and
# name, the technology field's code and name. Changing one of these attributes
# enqueues every listing that points at the row through the named column.
DEPENDENCIES = {
    Organisation: (("name", "region_code"), "org_id"),
    TechField: (("code", "name"), "field_id"),
}
# Set on a session whose commit wrote outbox rows, so that the commit triggers
# an index update. It is set at the outermost commit, from what is pending
# then, so a savepoint's rollback cannot drop it.
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


def _dependants(session: Session, obj) -> set[tuple[str, int]]:
    names, column = DEPENDENCIES[type(obj)]
    state = inspect(obj)
    if obj in session.dirty and not any(
        state.attrs[name].history.has_changes() for name in names
    ):
        return set()
    found = set()
    connection = session.connection()
    for model, kind in INDEXED.items():
        ids = connection.scalars(
            select(model.id).where(getattr(model, column) == obj.id)
        )
        found.update((kind, doc_id) for doc_id in ids)
    return found


def _changed(session: Session) -> set[tuple[str, int]]:
    changed = set()
    for obj in (*session.dirty, *session.deleted):
        if type(obj) in DEPENDENCIES and obj.id is not None:
            changed |= _dependants(session, obj)
    for obj in (*session.new, *session.dirty, *session.deleted):
        kind = INDEXED.get(type(obj))
        if kind is None or obj.id is None:
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        changed.add((kind, obj.id))
    return changed


def _record_changes(session: Session, flush_context) -> None:
    # Ids exist after the flush; the rows are written when the transaction commits.
    changed = _changed(session)
    if changed:
        session.info.setdefault(PENDING, set()).update(changed)


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
    session.info[DIRTY] = True


def _forget(session: Session, transaction) -> None:
    # A rolled-back transaction leaves nothing behind; a savepoint's end does not
    # drop what the enclosing transaction still has to write (rows recorded in a
    # savepoint that rolled back only make the index re-read those listings).
    if transaction.parent is None:
        session.info.pop(PENDING, None)


LISTENERS = (
    ("after_flush", _record_changes),
    ("before_commit", _write_outbox),
    ("after_transaction_end", _forget),
)


def listen() -> None:
    """Attach the outbox hooks to every session, once however often called."""
    for name, hook in LISTENERS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
