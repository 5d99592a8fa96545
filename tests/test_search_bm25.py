"""The numpy ranker scores exactly as Whoosh's own BM25F does (issue 12, point 9).

Why this file exists: `marketplace/search/arrays.py` does not let Whoosh score.
For speed it reads internals of the pinned whoosh-reloaded 2.7.5 (the pickled
posting blocks of `W3LeafMatcher`, the one-byte lengths column of the whoosh3
codec) and computes BM25 per field with numpy. No public Whoosh API promises
those internals, and the code falls back silently when they change. So these
tests build a real index of CSL records with several segments and deleted
documents, and check the arrays against Whoosh's public interfaces: scores
against `searcher.search` with `CatalogueBM25`, lengths against
`doc_field_length`/`avg_field_length`, postings against the matcher interface,
and that the fast paths are really taken. A Whoosh upgrade, a codec or schema
change, or a ranker edit that makes the two disagree fails here, loudly,
instead of quietly re-ranking (or slowing down) the catalogue.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import select
from whoosh.matching import mcore
from whoosh.query import Or, Term
from whoosh.reading import SegmentReader

from marketplace.demo import read_records
from marketplace.extensions import db
from marketplace.models import OrgKind, Result, ResultStatus, UserRole
from marketplace.search import arrays
from marketplace.search.query import CatalogueBM25
from marketplace.search.sync import get_index
from marketplace.search.tuning import TEXT_FIELDS
from tests.conftest import PASSWORD, build_test_app, settings_for
from tests.factories import Factory

SAMPLE = 300  # CSL records, taken across the whole file
# float32 arrays against Whoosh's float64 arithmetic: a few ulps of float32.
RTOL = 2e-6


@pytest.fixture(scope="module")
def sample(pg_schema, tmp_path_factory):
    """A searcher over an index of three segments, two of them with deletions.

    Built once for the module (the `app` fixture's steps at module scope):
    CSL records are imported with `flask import-listings`, indexed with
    `SearchIndex.reindex`, then edited and withdrawn twice, each round applied
    from the outbox as the running site applies it (a new segment each time;
    Whoosh's MERGE_SMALL leaves fewer than five segments alone).
    """
    root = tmp_path_factory.mktemp("bm25")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARKETPLACE_ENV", "testing")
        patch.setenv("MARKETPLACE_INSTANCE", str(root / "instance"))
        app = build_test_app(settings_for(root), pg_schema)
        with app.app_context():
            records = read_records()[:: 2000 // SAMPLE][:SAMPLE]
            path = root / "csl.jsonl"
            path.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                encoding="utf-8",
            )
            factory = Factory(app, PASSWORD)
            org = factory.org(OrgKind.UNIVERSITY, name="排序核对大学")
            factory.user(org, role=UserRole.ORG_ADMIN)
            outcome = app.test_cli_runner().invoke(
                args=[
                    "import-listings",
                    "--kind",
                    "result",
                    "--org",
                    org.name,
                    str(path),
                ]
            )
            assert outcome.exit_code == 0, outcome.output
            index = get_index()
            assert index.reindex(db.session()) == SAMPLE
            results = db.session.scalars(select(Result).order_by(Result.id)).all()
            # Round 1: 20 edits (the title repeated in the abstract: term
            # frequencies above 1, other lengths) and 10 withdrawals.
            _edit(results[0:20], results[20:30])
            index.apply_outbox(db.session())
            # Round 2: edit again 5 listings edited in round 1 (deleting their
            # documents in the second segment), and withdraw 3 more.
            _edit(results[0:5], results[30:33])
            index.apply_outbox(db.session())
            searcher = index.open().searcher(weighting=CatalogueBM25())
            try:
                yield searcher
            finally:
                searcher.close()
                db.session.remove()
                db.engine.dispose()


def _edit(edited: list[Result], withdrawn: list[Result]) -> None:
    for result in edited:
        result.abstract = f"{result.abstract}\n{result.title}。{result.title}"
    for result in withdrawn:
        result.status = ResultStatus.WITHDRAWN
    db.session.commit()


def _leaves(searcher):
    return [(r, off) for r, off in searcher.reader().leaf_readers()]


def _deleted(searcher) -> list[int]:
    return [
        offset + docnum
        for reader, offset in _leaves(searcher)
        for docnum in (reader.deleted_docs_set if reader.has_deletions() else ())
    ]


def _frequencies(reader, field: str) -> dict[str, int]:
    """Document frequency of each term of a field, most documents first."""
    counts: Counter = Counter()
    for segment, _ in reader.leaf_readers():
        for text, info in segment.iter_field(field):
            counts[segment.schema[field].from_bytes(text)] += info.doc_frequency()
    return dict(sorted(counts.items(), key=lambda x: (-x[1], x[0])))


@pytest.fixture(scope="module")
def vocabulary(sample) -> dict[str, dict[str, int]]:
    """Each field's terms with their document frequency, most documents first."""
    return {f: _frequencies(sample.reader(), f) for f in (*TEXT_FIELDS, "tags")}


def _words(searcher, field: str, text: str) -> list[str]:
    """The terms the field's analyzer makes of a text, as the index has them."""
    seen = dict.fromkeys(t.text for t in searcher.schema[field].analyzer(text))
    return [t for t in seen if searcher.doc_frequency(field, t)]


def _stored_words(searcher, field: str, docnum: int) -> list[str]:
    """Indexed terms of a document's stored text (the body is not stored)."""
    stored = searcher.reader().stored_fields(docnum)
    text = stored.get(field, f"{stored['title']}\n{stored['keywords']}")
    return _words(searcher, field, text)


def _live_hits(searcher, field: str, term: str) -> int:
    return len(searcher.search(Term(field, term), limit=None, scored=False))


def _queries(searcher, field: str, df: dict[str, int]) -> dict[str, list[str]]:
    """Single- and multi-term queries over one field, each a list of terms."""
    terms = list(df)
    shared = [t for t in terms if df[t] > 1]
    rare = [t for t in terms if df[t] == 1]
    newest, _ = _leaves(searcher)[-1]
    in_newest = set(_frequencies(newest, field))
    fresh = [t for t in terms if t in in_newest]
    gone = [_stored_words(searcher, field, d) for d in _deleted(searcher)]
    middle = shared[len(shared) // 2 :]
    return {
        "commonest": terms[:1],
        "mid-frequency": [next(t for t in middle if _live_hits(searcher, field, t))],
        "rare": [next(t for t in rare if _live_hits(searcher, field, t))],
        "several": terms[0 : 5 * 9 : 9],
        "newest segment": fresh[:6],
        "deleted document": gone[0][:6],
        # Still counted by doc_frequency (so by the idf), found by nothing.
        "only in deleted documents": [
            next(t for ts in gone for t in ts if not _live_hits(searcher, field, t))
        ],
        "with an absent term": [*terms[3:5], "这个词不在索引里"],
    }


@pytest.fixture(scope="module")
def queries(sample, vocabulary) -> dict[str, dict[str, list[str]]]:
    """The queries of every text field, chosen once."""
    return {f: _queries(sample, f, vocabulary[f]) for f in TEXT_FIELDS}


def _whoosh_scores(searcher, triples) -> dict[int, float]:
    query = Or([Term(field, term, boost=boost) for field, term, boost in triples])
    hits = searcher.search(query, limit=None, scored=True)
    return {hit.docnum: hit.score for hit in hits}


def _assert_same_scores(searcher, triples) -> bool:
    catalogue = arrays.catalogue_of(searcher)
    scores, _ = catalogue.score(triples)
    expected = _whoosh_scores(searcher, triples)
    ours = np.flatnonzero((scores > 0) & catalogue.mask({}))
    assert set(ours.tolist()) == set(expected)
    docs = np.array(sorted(expected))
    want = np.array([expected[d] for d in docs])
    if len(docs):
        worst = np.max(np.abs(scores[docs] - want) / want)
        assert np.allclose(scores[docs], want, rtol=RTOL, atol=0), worst
    return bool(expected)


def test_sample_has_several_segments_and_deletions(sample, vocabulary):
    leaves = _leaves(sample)
    assert len(leaves) == 3
    assert [r.has_deletions() for r, _ in leaves] == [True, True, False]
    assert len(_deleted(sample)) == 10 + 3 + 20 + 5
    assert sample.doc_count() == SAMPLE - 13
    # A term whose postings span several blocks (Whoosh writes 128 a block).
    commonest = next(iter(vocabulary["body"]))
    assert max(r.doc_frequency("body", commonest) for r, _ in leaves) > 128


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_lengths_and_live_documents_are_whooshs(sample, field):
    catalogue = arrays.catalogue_of(sample)
    n = sample.doc_count_all()
    whoosh_lengths = [sample.doc_field_length(d, field, 0) or 0 for d in range(n)]
    assert catalogue.lengths[field].tolist() == whoosh_lengths
    assert catalogue.avg[field] == sample.avg_field_length(field)
    reader = sample.reader()
    assert catalogue.live.tolist() == [not reader.is_deleted(d) for d in range(n)]
    assert catalogue.mask({}).tolist() == catalogue.live.tolist()


QUERY_KINDS = [
    "commonest",
    "mid-frequency",
    "rare",
    "several",
    "newest segment",
    "deleted document",
    "only in deleted documents",
    "with an absent term",
]


@pytest.mark.parametrize("kind", QUERY_KINDS)
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_scores_equal_whoosh_bm25f(sample, queries, field, kind):
    terms = queries[field][kind]
    assert terms
    found = _assert_same_scores(sample, [(field, t, 1.0) for t in terms])
    assert found == (kind != "only in deleted documents")


def test_boosted_query_over_every_field_equals_whoosh(sample, vocabulary):
    """As search() asks: each word in title, keywords and body, plus whole tags."""
    words = list(vocabulary["body"])[2:60:6]
    boosts = {"title": 0.5, "keywords": 0.7, "body": 1.0}
    triples = [(f, w, b) for w in words for f, b in boosts.items()]
    triples += [("tags", t, 2.0) for t in list(vocabulary["tags"])[:4]]
    _assert_same_scores(sample, triples)


def _sampled_terms(reader, field: str) -> list[str]:
    """A segment's longest posting lists, then every tenth of the rest."""
    terms = list(_frequencies(reader, field))
    return terms[:20] + terms[20::10]


@pytest.mark.parametrize("field", [*TEXT_FIELDS, "tags"])
def test_read_postings_equals_the_matcher_interface(sample, field):
    for reader, _ in _leaves(sample):
        deleted = np.array(sorted(reader.deleted_docs_set), dtype=np.int64)
        for term in _sampled_terms(reader, field):
            ids, weights = arrays._read_postings(reader, field, term)
            # The public matcher skips deleted documents; the arrays leave
            # them to Catalogue.live.
            keep = ~np.isin(ids, deleted)
            pairs = list(reader.postings(field, term).items_as("weight"))
            assert ids[keep].tolist() == [p[0] for p in pairs], (field, term)
            assert weights[keep].tolist() == [p[1] for p in pairs], (field, term)


@pytest.fixture
def internals_only(monkeypatch):
    """Whoosh's public one-at-a-time readers, made to fail if they are used."""

    def refuse(*args, **kwargs):
        raise AssertionError("the fast path fell back to Whoosh's public API")

    monkeypatch.setattr(mcore.Matcher, "items_as", refuse)
    monkeypatch.setattr(SegmentReader, "doc_field_length", refuse)


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_lengths_are_read_from_the_column(sample, internals_only, segment):
    """An upgrade that renames the internals must fail here, not just get slow."""
    reader, _ = _leaves(sample)[segment]
    for field in TEXT_FIELDS:
        lengths = arrays._field_lengths(reader, field, reader.doc_count_all())
        assert len(lengths) == reader.doc_count_all() and lengths.max() > 0


def _read_from_blocks(reader) -> None:
    for term in _sampled_terms(reader, "body"):
        assert len(arrays._read_postings(reader, "body", term)[0])


def test_postings_are_read_from_blocks_on_a_segment_without_deletions(
    sample, internals_only
):
    reader, _ = _leaves(sample)[-1]
    assert not reader.has_deletions()
    _read_from_blocks(reader)


def test_postings_are_read_from_blocks_on_a_segment_with_deletions(
    sample, internals_only
):
    reader, _ = _leaves(sample)[0]
    assert reader.has_deletions()
    _read_from_blocks(reader)
