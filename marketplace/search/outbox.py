"""The outbox: every change to an indexed row appends a row in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from marketplace.models import Challenge, Result, SearchOutbox

INDEXED = {Challenge: "challenge", Result: "result"}
# Set on a session whose transaction wrote outbox rows, so that its commit
# triggers an index update.
DIRTY = "search_outbox_dirty"


def enqueue(session: Session, kind: str, ids: Iterable[int]) -> None:
    """Append outbox rows for listings changed outside the ORM (bulk UPDATEs)."""
    rows = [{"doc_kind": kind, "doc_id": doc_id} for doc_id in ids]
    if rows:
        session.execute(insert(SearchOutbox), rows)
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
    # Ids exist after the flush; the insert runs on the flush's own connection,
    # so it commits or rolls back together with the change it describes.
    changed = _changed(session)
    if changed:
        session.info[DIRTY] = True
        session.connection().execute(
            insert(SearchOutbox),
            [{"doc_kind": kind, "doc_id": doc_id} for kind, doc_id in sorted(changed)],
        )
