"""Stored explained matches: a listing page reads one row instead of matching.

A listing's matches depend on the whole index (idf, the learned associations,
the re-ranking), so a row is valid only at the exact index state it was
computed at (generation directory, Whoosh commit, outbox position) and only
while that state has applied every outbox row: the listing's own text and the
sentences quoted from the listings it names are then what the database says.
Every commit thus makes every row stale. Right after a sync the indexer
recomputes a bounded number of rows (SEARCH_STORED_MATCH_BATCH: the listings
the commit touched, then the most recently computed ones); a page that finds
no valid row matches live, as before, and stores the answer in a short
transaction of its own that waits at most a moment for a lock and whose
failure is ignored: the page's own session never writes. Each node's replica
keeps its own rows (one per listing per generation directory). The rows hold
index ids only: pages re-check every named listing against the database
(services._explain), so a withdrawn listing is gone at once.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, request
from markupsafe import Markup
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace import permissions
from marketplace.clock import utcnow
from marketplace.database import READ_METHODS, read_only
from marketplace.extensions import db
from marketplace.matching.texts import (
    best_sentence,
    challenge_text,
    result_text,
)
from marketplace.models import (
    Challenge,
    Result,
    SearchOutbox,
    SearchReplica,
    StoredMatch,
)
from marketplace.search import query as engine
from marketplace.search import sync
from marketplace.search.index import IndexState, SearchIndex, reading
from marketplace.search.tuning import TUNING

log = logging.getLogger(__name__)
FORMAT = 1  # bump when the payload changes: older rows are then recomputed
MODELS = {"challenge": Challenge, "result": Result}
PUBLIC_STATES = {
    "challenge": permissions.PUBLIC_CHALLENGE_STATES,
    "result": permissions.PUBLIC_RESULT_STATES,
}
# A page's save gives up after this long waiting for a lock (ms).
PAGE_LOCK_WAIT_MS = 200
_pruned_for: set[str] = set()  # generations whose older rows this process deleted


@dataclass
class StoredHit:
    """One ranked listing of a stored (or freshly computed) answer."""

    kind: str
    doc_id: int
    score: float
    matched_terms: list[str]
    expansions: list[tuple[str, str]]
    sentence: Markup

    def as_json(self) -> dict:
        """The payload entry."""
        return {
            "kind": self.kind,
            "id": self.doc_id,
            "score": self.score,
            "terms": self.matched_terms,
            "expansions": [list(pair) for pair in self.expansions],
            "sentence": str(self.sentence),
        }

    @classmethod
    def from_json(cls, item: dict) -> StoredHit:
        """A payload entry read back (its sentence was escaped when computed)."""
        return cls(
            kind=item["kind"],
            doc_id=int(item["id"]),
            score=float(item["score"]),
            matched_terms=list(item["terms"]),
            expansions=[(t, w) for t, w in item["expansions"]],
            sentence=Markup(item["sentence"]),  # noqa: S704  (escaped by explain)
        )


def enabled() -> bool:
    """Whether listing pages use stored matches (SEARCH_STORED_MATCHES)."""
    return bool(current_app.config.get("SEARCH_STORED_MATCHES", True))


def version() -> str:
    """The payload format and the ranking parameters a row was computed with."""
    return f"{FORMAT}:{zlib.crc32(repr(TUNING).encode()):08x}"


def depth() -> int:
    """Hits stored per listing: any shorter answer is a prefix (query.match)."""
    return TUNING.rerank_depth


def kind_of(listing: Challenge | Result) -> str:
    """The listing's kind as the index names it."""
    return "challenge" if isinstance(listing, Challenge) else "result"


def compute(
    index: SearchIndex, listing: Challenge | Result, session: Session, limit: int
) -> list[StoredHit]:
    """Match a listing's text live, with each hit's best sentence."""
    if isinstance(listing, Challenge):
        text, wanted = challenge_text(listing), "result"
    else:
        text, wanted = result_text(listing), "challenge"
    hits, _ = engine.match(
        index,
        text,
        kind=wanted,
        limit=limit,
        field_code=listing.field.code if listing.field else None,
        extra_terms=listing.keywords,
    )
    rows = _public(session, {(h.kind, h.doc_id) for h in hits})
    out = []
    for hit in hits:
        row = rows.get((hit.kind, hit.doc_id))
        out.append(
            StoredHit(
                kind=hit.kind,
                doc_id=hit.doc_id,
                score=hit.score,
                matched_terms=hit.matched_terms[:8],
                expansions=hit.expansions[:6],
                sentence=(
                    best_sentence(row, hit.matched_terms, hit.expansions)
                    if row is not None
                    else Markup()
                ),
            )
        )
    return out


def _public(session: Session, keys: set[tuple[str, int]]) -> dict[tuple, Any]:
    """The named listings that are public now, by (kind, id)."""
    found: dict[tuple, Any] = {}
    for kind, model in MODELS.items():
        ids = sorted(i for k, i in keys if k == kind)
        if ids:
            rows = session.scalars(
                select(model).where(
                    model.id.in_(ids), model.status.in_(PUBLIC_STATES[kind])
                )
            )
            found.update({(kind, row.id): row for row in rows})
    return found


def _caught_up(session: Session, state: IndexState) -> bool:
    head = session.scalar(select(func.max(SearchOutbox.id))) or 0
    return state.position >= head


def lookup(
    session: Session, kind: str, listing_id: int, state: IndexState
) -> list[StoredHit] | None:
    """The stored hits of a listing if computed at exactly `state`, else None."""
    row = session.scalar(
        select(StoredMatch).where(
            StoredMatch.listing_kind == kind,
            StoredMatch.listing_id == listing_id,
            StoredMatch.generation == state.directory,
        )
    )
    if (
        row is None
        or row.index_commit != state.generation
        or row.position != state.position
        or (row.payload or {}).get("v") != version()
    ):
        return None
    return [StoredHit.from_json(item) for item in row.payload["hits"]]


def hits_for(
    index: SearchIndex, listing: Challenge | Result, limit: int
) -> list[StoredHit]:
    """A published listing's ranked hits: its valid stored row, else live."""
    if not enabled() or limit > depth():
        return compute(index, listing, db.session, limit)
    kind = kind_of(listing)
    state = index.state()
    current = _caught_up(db.session, state)
    if current:
        found = lookup(db.session, kind, listing.id, state)
        if found is not None:
            return found[:limit]
    hits = compute(index, listing, db.session, depth())
    # Stored only if no commit moved the index while it was computed.
    if current and index.state() == state:
        save_quietly(state, [(kind, listing.id, hits)])
    return hits[:limit]


def _write(
    session: Session,
    state: IndexState,
    answers: list[tuple[str, int, list[StoredHit]]],
    gone: list[tuple[str, int]] = (),
) -> None:
    for kind, listing_id in [*((k, i) for k, i, _ in answers), *gone]:
        session.execute(
            delete(StoredMatch).where(
                StoredMatch.listing_kind == kind,
                StoredMatch.listing_id == listing_id,
                StoredMatch.generation == state.directory,
            )
        )
    session.add_all(
        StoredMatch(
            listing_kind=kind,
            listing_id=listing_id,
            generation=state.directory,
            index_commit=state.generation,
            position=state.position,
            computed_at=utcnow(),
            payload={"v": version(), "hits": [h.as_json() for h in hits]},
        )
        for kind, listing_id, hits in answers
    )


def _wait_briefly(connection) -> int | None:
    """Lower this transaction's lock wait; returns SQLite's old timeout."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {PAGE_LOCK_WAIT_MS}")
    elif connection.dialect.name == "sqlite":
        old = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {PAGE_LOCK_WAIT_MS}")
        return old
    return None


def _restore(connection, timeout: int) -> None:
    try:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {timeout}")
    except Exception:
        # Never hand a connection that gives up on locks back to the pool.
        connection.invalidate()
        raise


def save_quietly(
    state: IndexState, answers: list[tuple[str, int, list[StoredHit]]]
) -> bool:
    """Store answers computed for a page; a lock or a race only skips it."""
    if has_request_context() and request.method not in READ_METHODS:
        # The request's own transaction may hold SQLite's write lock.
        return False
    try:
        # Begun deferred (read_only only means that on SQLite), so the lock
        # is waited for by the first write, under the lowered timeout.
        with Session(read_only(db.engine)) as write, write.begin():
            connection = write.connection()
            old = _wait_briefly(connection)
            try:
                _write(write, state, answers)
                write.flush()
            finally:
                if old is not None:  # the pooled connection keeps its pragmas
                    _restore(connection, old)
        return True
    except Exception as error:  # another worker stored it, or a writer held on
        log.info("stored match not saved: %s", error)
        return False


def _wanted(read: Session, state: IndexState, start: int, batch: int) -> list:
    touched = read.execute(
        select(SearchOutbox.doc_kind, SearchOutbox.doc_id)
        .where(SearchOutbox.id > start, SearchOutbox.id <= state.position)
        .order_by(SearchOutbox.id.desc())
        .limit(batch)
    ).all()
    recent = read.execute(
        select(StoredMatch.listing_kind, StoredMatch.listing_id)
        .where(
            StoredMatch.generation == state.directory,
            StoredMatch.position != state.position,
        )
        .order_by(StoredMatch.computed_at.desc())
        .limit(batch)
    ).all()
    keys = [(k, i) for k, i in (*touched, *recent) if k in MODELS]
    return list(dict.fromkeys(keys))[:batch]


def refresh(index: SearchIndex, before: IndexState) -> int:
    """After a sync: recompute a bounded batch of stored matches; returns how many.

    At most SEARCH_STORED_MATCH_BATCH listings, and no new one is started
    after SEARCH_STORED_MATCH_SECONDS: the post-commit sync runs in the
    writer's request.
    """
    config = current_app.config
    batch = int(config.get("SEARCH_STORED_MATCH_BATCH", 20))
    budget = float(config.get("SEARCH_STORED_MATCH_SECONDS", 0.2))
    if not enabled() or batch <= 0:
        return 0
    started = time.monotonic()
    state = index.state()
    with reading(db.engine) as read:
        if not _caught_up(read, state):
            return 0  # the sync that catches up refreshes
        wanted = _wanted(read, state, before.position, batch)
        rows = _public(read, set(wanted))
        answers = []
        for key in wanted:
            if key in rows:
                if answers and time.monotonic() - started > budget:
                    break
                answers.append((*key, compute(index, rows[key], read, depth())))
        gone = [key for key in wanted if key not in rows]
    if index.state() != state:
        return 0  # moved meanwhile: the next sync's refresh does it
    try:
        _store(state, answers, gone)
    except IntegrityError:  # another process stored the same rows just now
        log.info("stored matches refreshed by another process meanwhile")
        return 0
    return len(answers)


def _store(state: IndexState, answers: list, gone: list) -> None:
    with Session(db.engine) as write, write.begin():
        _write(write, state, answers, gone)
        if state.directory not in _pruned_for:
            # A new generation: rows of generations no replica serves go.
            serving = select(SearchReplica.generation)
            write.execute(
                delete(StoredMatch).where(
                    StoredMatch.generation != state.directory,
                    StoredMatch.generation.not_in(serving),
                )
            )
            _pruned_for.add(state.directory)


sync.AFTER_SYNC.append(refresh)
