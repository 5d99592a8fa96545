"""What a worker keeps between requests: one searcher per replica, keyed by its state.

A searcher is reused while the index on disk is at the generation, Whoosh
commit and outbox position it was opened on, and replaced by a freshly opened
one as soon as any of them moves. Whoosh's own `Searcher.refresh()` is never
used: in whoosh-reloaded 2.7.5 it reuses the old segment readers with their old
deletion sets and keeps segments a merge removed, so a worker that refreshed
after another process's commits served replaced and deleted documents next to
the new ones (tests/test_search_truth.py shows it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marketplace.search.index import (
    IndexState,
    IndexUnavailable,
    SearchIndex,
    digest,
    stored_names,
)

# The attribute of a searcher that holds the IndexState it serves.
STATE = "marketplace_state"

_searchers: dict[str, Any] = {}
_digests: dict[IndexState, tuple[int, str]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Served:
    """What one worker answers from: its state, document count and digest."""

    state: IndexState
    documents: int
    digest: str


def state_of(searcher) -> IndexState | None:
    """The IndexState a searcher was opened on (None: not one of ours)."""
    return getattr(searcher, STATE, None)


def _open(index: SearchIndex, weighting: Callable[[], Any]):
    for attempt in range(3):
        state = index.state()
        try:
            ix = index.open(index.root / state.directory)
            searcher = ix.searcher(weighting=weighting())
        except IndexUnavailable:
            # The generation was swapped out between reading the link and
            # opening it; the next look finds the new one.
            if attempt == 2:
                raise
            continue
        generation = searcher.reader().generation()
        if generation is None:  # an empty index has no segment reader
            generation = ix.latest_generation()
        setattr(
            searcher,
            STATE,
            IndexState(state.directory, generation, state.position),
        )
        return searcher
    raise AssertionError("unreachable")


def searcher(index: SearchIndex, weighting: Callable[[], Any]):
    """The searcher of this replica's current state, opened once per state."""
    state = index.state()
    key = str(index.root.resolve())
    with _lock:
        cached = _searchers.get(key)
        if cached is not None and state_of(cached) == state:
            return cached
        fresh = _open(index, weighting)
        for old in _searchers.values():
            old.close()
        _searchers.clear()
        _digests.clear()
        _searchers[key] = fresh
        return fresh


def forget() -> None:
    """Close every cached searcher."""
    with _lock:
        for old in _searchers.values():
            old.close()
        _searchers.clear()
        _digests.clear()


def served(index: SearchIndex, weighting: Callable[[], Any]) -> Served:
    """This worker's state and a digest of the live documents it serves."""
    current = searcher(index, weighting)
    state = state_of(current)
    with _lock:
        found = _digests.get(state)
    if found is None:
        names = stored_names(current.schema)
        documents = list(current.all_stored_fields())
        found = (len(documents), digest(documents, names))
        with _lock:
            _digests[state] = found
    return Served(state, *found)
