"""Keeping the index in step: after each commit, from the CLI, and on a bad index."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.search import analysis, outbox, query, replicas, serving
from marketplace.search.index import KEEP, IndexState, SearchIndex, reading
from marketplace.search.outbox import DIRTY

log = logging.getLogger(__name__)
# Set in a session's info by a caller that applies the outbox itself after
# its commit (a bulk import, with a progress bar): the commit does not sync.
SYNC_DEFERRED = "search_sync_deferred"
# Called as hook(index, state before) after a sync moved this replica, in an
# app context (matching/stored.py refreshes stored matches); failures are logged.
AFTER_SYNC: list[Callable[[SearchIndex, IndexState], object]] = []


def get_index() -> SearchIndex:
    """This process's replica, under SEARCH_INDEX_DIR."""
    config = current_app.config
    return SearchIndex(
        config["SEARCH_INDEX_DIR"], keep=int(config.get("SEARCH_OUTBOX_KEEP", KEEP))
    )


def served_state() -> dict:
    """This worker's index state and digest, against the database's outbox head."""
    index = get_index()
    mine = serving.served(index, query.CatalogueBM25)
    with reading(db.engine) as read:
        head = replicas.head(read)
    return {
        "pid": os.getpid(),
        "generation": mine.state.directory,
        "commit": mine.state.generation,
        "position": mine.state.position,
        "head": head,
        "documents": mine.documents,
        "digest": mine.digest,
    }


def moved(index: SearchIndex, before: IndexState) -> None:
    """Run the AFTER_SYNC hooks if the replica is no longer at `before`."""
    if index.state() == before:
        return
    for hook in AFTER_SYNC:
        try:
            hook(index, before)
        except Exception:  # the index is right; a stale cache is only slower
            log.exception("after-sync hook %r failed", hook)


def sync_now() -> int:
    """Apply pending outbox rows in a session of its own; returns how many."""
    index = get_index()
    before = index.state()
    with Session(db.engine) as session:
        if not index.exists() and index.ensure(session):
            applied = 0
        else:
            applied = index.apply_outbox(session)
    moved(index, before)
    return applied


def follow(
    stop: threading.Event,
    interval: float = 0.5,
    report: Callable[[int, int], None] | None = None,
) -> None:
    """Apply the outbox to this node's index every `interval` seconds until `stop`.

    Other nodes' writes reach this node's index only through here: the
    post-commit sync of a web worker sees its own node's commits only.
    """
    index = get_index()
    broken = True  # check the index before the first round
    while not stop.is_set():
        try:
            before = index.state()
            with Session(db.engine) as session:
                if broken and index.ensure(session):
                    log.warning("search index at %s was rebuilt", index.root)
                broken = False
                applied = index.apply_outbox(session)
            moved(index, before)
            if applied and report:
                report(applied, index.position())
        except Exception:
            # The database or the index may be away for a moment (a restart,
            # a failover): keep following, and look at the index again.
            log.exception("following the search outbox failed; retrying")
            broken = True
        stop.wait(interval)


def _follow(session: Session) -> None:
    # Releasing a SAVEPOINT fires after_commit too, while the outer transaction
    # still holds the database's write lock: a sync from a session of its own
    # would wait on that lock forever. Only the outermost commit syncs.
    if session.in_nested_transaction():
        return
    if not session.info.pop(DIRTY, False) or not has_app_context():
        return
    if session.info.get(SYNC_DEFERRED):
        return
    if not current_app.config.get("SEARCH_SYNC_ON_COMMIT", True):
        return
    try:
        sync_now()
    except Exception:  # the next sync repairs the index; the write stands
        log.exception("search index update failed after commit")


def _forget(session: Session) -> None:
    # DIRTY is only set by the outermost commit (outbox._write_outbox), so this
    # drops it only when that commit failed, never for a savepoint's rollback.
    session.info.pop(DIRTY, None)


def listen() -> None:
    """Attach the outbox and post-commit sync hooks to every session, once."""
    outbox.listen()
    for name, hook in (("after_commit", _follow), ("after_rollback", _forget)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


def init_app(app: Flask) -> None:
    """Register the session hooks; point jieba's cache and dictionary there."""
    listen()
    analysis.configure(
        cache_dir=app.instance_path,
        userdict=str(app.config.get("SEARCH_USERDICT") or ""),
    )
