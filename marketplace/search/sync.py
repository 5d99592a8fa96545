"""Keeping the index in step: after each commit, from the CLI, and on a bad index."""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.search import analysis
from marketplace.search.index import SearchIndex
from marketplace.search.outbox import DIRTY

log = logging.getLogger(__name__)


def get_index() -> SearchIndex:
    """This process's replica, under SEARCH_INDEX_DIR."""
    return SearchIndex(current_app.config["SEARCH_INDEX_DIR"])


def sync_now() -> int:
    """Apply pending outbox rows in a session of its own; returns how many."""
    with Session(db.engine) as session:
        index = get_index()
        if not index.exists():
            index.reindex(session)
            return 0
        return index.apply_outbox(session)


@event.listens_for(Session, "after_commit")
def _follow(session: Session) -> None:
    # Releasing a SAVEPOINT fires after_commit too, while the outer transaction
    # still holds the database's write lock: a sync from a session of its own
    # would wait on that lock forever. Only the outermost commit syncs.
    if session.in_nested_transaction():
        return
    if not session.info.pop(DIRTY, False) or not has_app_context():
        return
    if not current_app.config.get("SEARCH_SYNC_ON_COMMIT", True):
        return
    try:
        sync_now()
    except Exception:  # the next sync repairs the index; the write stands
        log.exception("search index update failed after commit")


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(DIRTY, None)


def init_app(app: Flask) -> None:
    """Point jieba's cache and user dictionary at the instance folder."""
    analysis.configure(
        cache_dir=app.instance_path,
        userdict=str(app.config.get("SEARCH_USERDICT") or ""),
    )
