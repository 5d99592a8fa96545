"""Replica positions in the database, and pruning the outbox behind all of them.

Each node's index directory is a replica. After it applies outbox rows it
records the last id in `search_replicas`; rows every known replica has applied
are deleted, except the newest `keep`. The highest id ever deleted is kept
under PRUNED_MARK, so a replica below it (a new node, a restored backup, a node
whose row was removed) knows that it missed rows and rebuilds.
"""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from marketplace.models import PRUNED_MARK, SearchOutbox, SearchReplica


def replica_name(root: Path) -> str:
    """This host's name and the index directory: one replica."""
    return f"{socket.gethostname()}:{Path(root).resolve()}"


def head(session: Session) -> int:
    """The newest outbox id (0 when the outbox never had a row)."""
    newest = session.scalar(select(func.max(SearchOutbox.id))) or 0
    return max(newest, pruned_through(session))


def pruned_through(session: Session) -> int:
    """The highest outbox id deleted so far (0 when none)."""
    mark = session.scalar(
        select(SearchReplica.position).where(SearchReplica.name == PRUNED_MARK)
    )
    return mark or 0


def _row(session: Session, name: str) -> SearchReplica:
    row = session.scalar(select(SearchReplica).where(SearchReplica.name == name))
    if row is None:
        row = SearchReplica(name=name, position=0, generation="")
        session.add(row)
    return row


def record(
    session: Session, name: str, position: int, generation: str, keep: int
) -> int:
    """Store a replica's position and prune the outbox; returns rows deleted.

    The caller commits. `keep` is at least 1: SQLite hands out max(id) + 1, so
    an emptied outbox would reuse old ids and every replica would skip them.
    """
    row = _row(session, name)
    row.position, row.generation = position, generation
    session.flush()
    lowest = session.scalar(
        select(func.min(SearchReplica.position)).where(
            SearchReplica.name != PRUNED_MARK
        )
    )
    tail = session.scalar(
        select(SearchOutbox.id)
        .order_by(SearchOutbox.id.desc())
        .offset(max(keep, 1))
        .limit(1)
    )
    if not lowest or tail is None:
        return 0
    cut = min(lowest, tail)
    deleted = session.execute(delete(SearchOutbox).where(SearchOutbox.id <= cut))
    if deleted.rowcount:
        mark = _row(session, PRUNED_MARK)
        mark.position = max(mark.position or 0, cut)
    return deleted.rowcount or 0
