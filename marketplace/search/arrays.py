"""The catalogue as numpy arrays: posting lists, field lengths, facets, BM25.

Whoosh's own query evaluation walks an OR of many terms one document at a time
in Python; reading whole posting lists as arrays costs about 0.2 µs a posting
and gives exact totals and facet counts (bench/RESULTS.md has the figures).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from marketplace.search.serving import state_of
from marketplace.search.tuning import FACETS, TEXT_FIELDS, TUNING, idf

_lock = threading.Lock()

_LENGTHS = np.array([byte_to_length(b) or 0 for b in range(256)], dtype=np.float32)


class _PostingCache:
    """A least-recently-used cache of posting arrays, bounded in postings."""

    def __init__(self):
        self._items: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        size = len(value[0])
        with self._lock:
            if key in self._items or size > TUNING.posting_cache:
                return
            self._items[key] = value
            self._size += size
            while self._size > TUNING.posting_cache and self._items:
                _, old = self._items.popitem(last=False)
                self._size -= len(old[0])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def retain(self, segments: set[tuple[str, str]]) -> None:
        """Drop the postings of segments no longer in the served generation."""
        with self._lock:
            for key in [k for k in self._items if k[:2] not in segments]:
                self._size -= len(self._items.pop(key)[0])


_postings = _PostingCache()
# A segment reader seeks and reads one shared file; threads of one process
# (the development server, a threaded worker) take turns reading postings.
_read_lock = threading.Lock()
_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def _read_postings(reader, fieldname: str, text: str):
    """The doc numbers and weights of a term in one segment, as arrays."""
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return _EMPTY
    # A segment with deletions wraps its matcher in a FilterMatcher that skips
    # them one posting at a time; read the wrapped blocks whole instead; the
    # Catalogue's `live` mask drops the deleted documents. The wrapper has
    # already stepped over leading deletions, so rewind the child first.
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
        matcher.reset()
    ids, weights = [], []
    try:
        # Whole blocks at a time (whoosh-reloaded 2.7.5's W3LeafMatcher: each
        # block is a pickled tuple of delta-coded ids, weights and values).
        if matcher._byteids:
            raise AttributeError("byte ids")
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            data = matcher._data
            count = matcher._blocklength
            ids.append(np.cumsum(np.asarray(data[0], dtype=np.int64)))
            w = data[1]
            if w is None or isinstance(w, float):
                weights.append(np.full(count, 1.0 if w is None else w, np.float32))
            else:
                weights.append(np.asarray(w, dtype=np.float32))
            matcher._next_block()
    except AttributeError:
        # Another codec: the public, slower, one-posting-at-a-time interface.
        matcher = reader.postings(fieldname, text)
        pairs = list(matcher.items_as("weight"))
        return (
            np.array([p[0] for p in pairs], dtype=np.int64),
            np.array([p[1] for p in pairs], dtype=np.float32),
        )
    if not ids:
        return _EMPTY
    return np.concatenate(ids), np.concatenate(weights)


def _field_lengths(reader, name: str, size: int) -> np.ndarray:
    """The (byte-coded) lengths of a field in every document of a segment."""
    try:
        # One read of the whole lengths column (whoosh3: one byte a document).
        column = reader._perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
        raw = np.zeros(size, dtype=np.uint8)
        if column is not None and column._count:
            data = column._dbfile.get(column._basepos, column._count)
            raw[: len(data)] = np.frombuffer(data, dtype=np.uint8)[:size]
        return _LENGTHS[raw]
    except AttributeError:  # another codec: ask document by document
        return np.array(
            [reader.doc_field_length(i, name, 0) or 0 for i in range(size)],
            dtype=np.float32,
        )


@dataclass
class _SegmentArrays:
    """Per-document arrays of one immutable segment (deletions excepted)."""

    size: int
    lengths: dict[str, np.ndarray]
    # facet name -> (the segment's distinct values, each document's value index)
    facets: dict[str, tuple[list[str], np.ndarray]]


_segments: dict[tuple, _SegmentArrays] = {}


def _segment_arrays(reader, directory: str) -> _SegmentArrays:
    # A segment's files never change once written (deletions are kept apart,
    # in the table of contents), so its arrays hold for as long as the
    # generation directory serves it; the segment id alone is random per
    # segment, the directory makes the key unique across rebuilds too.
    key = (directory, reader.segment().segment_id(), reader.doc_count_all())
    arrays = _segments.get(key)
    if arrays is not None:
        return arrays
    size = reader.doc_count_all()
    lengths = {name: _field_lengths(reader, name, size) for name in TEXT_FIELDS}
    facets = {}
    for name in FACETS:
        if name in reader.schema and reader.schema[name].column_type:
            column = reader.column_reader(name)
            values = np.array([column[i] for i in range(size)] or [""], dtype=object)
        else:
            values = np.array([""], dtype=object)
        labels, codes = np.unique(values, return_inverse=True)
        if not size:
            codes = codes[:0]
        elif len(codes) != size:  # no column: every document has no value
            codes = np.zeros(size, dtype=np.int64)
        facets[name] = ([str(label) for label in labels], codes.astype(np.int32))
    arrays = _SegmentArrays(size, lengths, facets)
    with _lock:
        _segments[key] = arrays
    return arrays


class Catalogue:
    """Every document of one searcher as arrays: live, lengths, facets; scoring."""

    def __init__(self, searcher, directory: str = ""):
        self.searcher = searcher
        self.n = searcher.doc_count_all()
        self.leaves = []
        live, lengths, parts = [], {n: [] for n in TEXT_FIELDS}, []
        for reader, offset in searcher.reader().leaf_readers():
            if reader.segment() is None or not reader.doc_count_all():
                continue  # an empty index has a reader without a segment
            arrays = _segment_arrays(reader, directory)
            segment = (directory, reader.segment().segment_id())
            self.leaves.append((reader, offset, segment))
            alive = np.ones(arrays.size, dtype=bool)
            deleted = list(reader.deleted_docs_set) if reader.has_deletions() else []
            if deleted:
                alive[np.array(deleted, dtype=np.int64)] = False
            live.append(alive)
            for name in TEXT_FIELDS:
                lengths[name].append(arrays.lengths[name])
            parts.append(arrays.facets)
        self.live = np.concatenate(live) if live else np.zeros(0, dtype=bool)
        self.lengths = {
            name: np.concatenate(arrs) if arrs else np.zeros(0, dtype=np.float32)
            for name, arrs in lengths.items()
        }
        self.avg = {
            name: searcher.avg_field_length(name) or 1.0 for name in TEXT_FIELDS
        }
        # Facet values as one code array per facet over every segment: each
        # segment's own codes are mapped onto the sorted union of the values.
        self.labels: dict[str, list[str]] = {}
        self.codes: dict[str, np.ndarray] = {}
        for name in FACETS:
            labels = sorted({label for facets in parts for label in facets[name][0]})
            position = {label: i for i, label in enumerate(labels)}
            codes = [
                np.array([position[x] for x in facets[name][0]], dtype=np.int32)[
                    facets[name][1]
                ]
                for facets in parts
            ]
            self.labels[name] = labels
            self.codes[name] = (
                np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
            )

    def postings(self, fieldname: str, text: str):
        """Global doc numbers (ascending) and weights of a term."""
        ids, weights = [], []
        for reader, offset, segment in self.leaves:
            key = (*segment, fieldname, text)
            found = _postings.get(key)
            if found is None:
                with _read_lock:
                    found = _read_postings(reader, fieldname, text)
                _postings.put(key, found)
            if len(found[0]):
                ids.append(found[0] + offset)
                weights.append(found[1])
        if not ids:
            return _EMPTY
        if len(ids) == 1:
            return ids[0], weights[0]
        return np.concatenate(ids), np.concatenate(weights)

    def score(self, weighted: list[tuple[str, str, float]]):
        """BM25 per field, summed with boosts; plus which terms hit which docs.

        `weighted` holds (field, term, boost) triples. A scorable field scores
        idf · tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen)), as whoosh's BM25F
        does; a keyword field (tags) scores its weight.
        """
        scores = np.zeros(self.n, dtype=np.float32)
        found: dict[str, list[np.ndarray]] = {}
        t = TUNING
        schema = self.searcher.schema
        for fieldname, term, boost in weighted:
            ids, tf = self.postings(fieldname, term)
            if not len(ids):
                continue
            if schema[fieldname].scorable:
                b = {"title": t.title_b, "keywords": t.keywords_b}.get(fieldname, t.b)
                norm = (1 - b) + b * self.lengths[fieldname][ids] / self.avg[fieldname]
                part = idf(self.searcher, fieldname, term) * tf * (t.k1 + 1)
                part /= tf + t.k1 * norm
            else:
                part = tf
            scores[ids] += boost * part
            found.setdefault(term, []).append(ids)
        # One ascending array per term (a term found in several fields is
        # merged), for matched_terms' binary search.
        scores[~self.live] = 0
        return scores, {
            term: parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))
            for term, parts in found.items()
        }

    def mask(self, filters: dict[str, str]) -> np.ndarray:
        """Live documents that pass the facet filters."""
        keep = self.live.copy()
        for name, value in filters.items():
            if not value:
                continue
            labels = self.labels.get(name, [])
            if value not in labels:
                return np.zeros(self.n, dtype=bool)
            keep &= self.codes[name] == labels.index(value)
        return keep

    def facet_counts(self, docs: np.ndarray) -> dict[str, dict[str, int]]:
        """How many of the documents fall on each value of each facet."""
        out = {}
        for name in FACETS:
            counts = np.bincount(
                self.codes[name][docs], minlength=len(self.labels[name])
            )
            # A listing without a value (no technology field) counts under none.
            out[name] = {
                self.labels[name][i]: int(counts[i])
                for i in np.flatnonzero(counts)
                if self.labels[name][i]
            }
        return out


# The one catalogue of the searcher being served, with the state it reflects.
_catalogue: tuple[Any, Any, Catalogue] | None = None


def catalogue_of(searcher) -> Catalogue:
    """The arrays of a searcher, built once per index state it serves.

    The key is the searcher and its (generation directory, Whoosh commit,
    outbox position) (search/serving.py): when either moves the arrays of the
    old state, and those of segments it no longer has, are dropped.
    """
    global _catalogue
    state = state_of(searcher)
    with _lock:
        entry = _catalogue
        if entry is not None and entry[0] is searcher and entry[1] == state:
            return entry[2]
    catalogue = Catalogue(searcher, state.directory if state else "")
    live = {segment for _, _, segment in catalogue.leaves}
    with _lock:
        _catalogue = (searcher, state, catalogue)
        for key in [k for k in _segments if k[:2] not in live]:
            del _segments[key]
    _postings.retain(live)
    return catalogue


def top(scores: np.ndarray, docs: np.ndarray, count: int) -> np.ndarray:
    """The `count` best of `docs` by score, best first (ties: lower doc first)."""
    if count <= 0 or not len(docs):
        return docs[:0]
    if count < len(docs):
        part = np.argpartition(-scores[docs], count - 1)[:count]
        docs = docs[part]
    order = np.lexsort((docs, -scores[docs]))
    return docs[order]


def matched_terms(
    docnum: int, found: dict[str, np.ndarray], order: list[str]
) -> list[str]:
    """The query terms present in a document, in query order."""
    out = []
    for term in order:
        ids = found.get(term)
        if ids is None:
            continue
        i = np.searchsorted(ids, docnum)
        if i < len(ids) and ids[i] == docnum:
            out.append(term)
    return out


def clear_caches() -> None:
    """Drop every cached array (after the index or TUNING changed)."""
    global _catalogue
    with _lock:
        _catalogue = None
        _segments.clear()
    _postings.clear()
