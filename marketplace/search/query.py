"""Searching and matching: OR queries with field boosts, facets and explanations.

The ranking parameters are in `TUNING`; bench/relevance.py measures them (choose
them with `--split dev`, report with `--split test`) and bench/RESULTS.md records
the figures they give.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jieba.analyse
from markupsafe import Markup
from whoosh import highlight, scoring, sorting
from whoosh.query import And, Or, Term

from marketplace.search.analysis import STOPWORDS, ensure_ready, words
from marketplace.search.index import SearchIndex

FACETS = ("kind", "field", "region", "status")
MAX_QUERY_TERMS = 32
MATCH_TERMS = 24


@dataclass
class Tuning:
    """Ranking parameters, chosen on the CSL dev split (bench/relevance.py)."""

    # Field boosts, applied at query time. Titles and the owner's keywords say
    # what a listing is about; the body mostly says how.
    title: float = 3.0
    keywords: float = 2.0
    body: float = 1.0
    # BM25 per field. Titles and keyword lists are short and of similar length,
    # so length normalisation there mostly adds noise.
    k1: float = 1.2
    b: float = 0.75
    title_b: float = 0.75
    keywords_b: float = 0.75
    # search(): a query word equal to one of a listing's own keywords.
    tag: float = 2.0
    # match(): how many key terms a demand text is reduced to, and the shortest.
    match_terms: int = MATCH_TERMS
    min_term_len: int = 2
    # match(): re-rank the first `rerank_depth` hits by how much of the score of
    # the first `prf_docs` hits falls on their discipline (see _rerank).
    rerank_depth: int = 0
    prf_docs: int = 10
    prf_weight: float = 0.0
    # match() for a listing: agreement on the technology field, same scale.
    field_weight: float = 0.1


TUNING = Tuning()

_searchers: dict[str, Any] = {}
_lock = threading.Lock()


def text_fields() -> dict[str, float]:
    """The text fields and their query-time boosts."""
    return {"title": TUNING.title, "keywords": TUNING.keywords, "body": TUNING.body}


TEXT_FIELDS = ("title", "keywords", "body")


class CatalogueBM25(scoring.BM25F):
    """Whoosh's per-field BM25 with the usual BM25 idf.

    Whoosh's default idf, log(N / (df + 1)) + 1, never falls below 1, so a
    word found in half the catalogue (方法, 研究, 技术) still counts about a
    third as much as a rare one and long demand texts drown in them. This is
    Robertson–Spärck Jones idf, floored at a small positive value as Lucene
    does, which drops such words to almost nothing.
    """

    def __init__(self):
        super().__init__(
            B=TUNING.b,
            K1=TUNING.k1,
            title_B=TUNING.title_b,
            keywords_B=TUNING.keywords_b,
        )

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        df = parent.doc_frequency(fieldname, text)
        n = parent.doc_count_all()
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


@dataclass
class Hit:
    """One ranked listing with why it matched."""

    kind: str
    doc_id: int
    score: float
    matched_terms: list[str]
    highlight: Markup = field(default_factory=Markup)
    fields: dict = field(default_factory=dict)


@dataclass
class SearchPage:
    """A page of hits, the total and facet counts."""

    hits: list[Hit]
    total: int
    page: int
    pages: int
    facets: dict[str, dict[str, int]]
    terms: list[str]
    suggestion: str | None = None


def searcher_for(index: SearchIndex):
    """A long-lived searcher per index, refreshed when the index has changed."""
    key = str(index.current.resolve())
    with _lock:
        searcher = _searchers.get(key)
        if searcher is None:
            for old in _searchers.values():
                old.close()
            _searchers.clear()
            searcher = index.open().searcher(weighting=CatalogueBM25())
        else:
            searcher = searcher.refresh()
        _searchers[key] = searcher
        return searcher


def forget_searchers() -> None:
    """Close the cached searchers (after TUNING changed, or in tests)."""
    with _lock:
        for old in _searchers.values():
            old.close()
        _searchers.clear()


def query_terms(text: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """Distinct search-mode words of a user query, in order."""
    seen: dict[str, None] = {}
    for word in words(text[:500]):
        seen.setdefault(word, None)
    return list(seen)[:limit]


def key_terms(text: str, limit: int = MATCH_TERMS) -> list[tuple[str, float]]:
    """Weighted key terms of a long text (jieba TF-IDF), stop words removed."""
    ensure_ready()
    terms = []
    for word, weight in jieba.analyse.extract_tags(
        text[:5000], topK=limit * 2, withWeight=True
    ):
        word = word.strip().lower()
        if word and word not in STOPWORDS and len(word) > 1:
            terms.append((word, float(weight)))
    return terms[:limit]


def _catalogue_idf(searcher, term: str) -> float:
    """How rare a word is in the catalogue (0 when no listing has it)."""
    df = max(searcher.doc_frequency(name, term) for name in TEXT_FIELDS)
    if not df:
        return 0.0
    n = searcher.doc_count_all()
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def demand_terms(
    searcher, text: str, limit: int | None = None
) -> list[tuple[str, float]]:
    """The words of a demand that best say what it is about, with query weights.

    jieba's bundled IDF table comes from general news text; ranked against it,
    a paper's commonest technical words (模型, 系统, 控制) look rare. The
    catalogue itself says which words are rare here, so words are ranked by
    tf × idf over the index and words no listing has are dropped (they cannot
    match anything). The query weight is the damped frequency only: BM25 applies
    the idf once more when it scores.
    """
    limit = limit or TUNING.match_terms
    counts = Counter(w for w in words(text[:5000]) if len(w) >= TUNING.min_term_len)
    ranked = []
    for term, tf in counts.items():
        idf = _catalogue_idf(searcher, term)
        if idf > 0:
            weight = 1 + math.log(tf)
            ranked.append((weight * idf, term, weight))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [(term, weight) for _, term, weight in ranked[:limit]]


def _text_query(weighted: list[tuple[str, float]]) -> Or:
    return Or(
        [
            Term(name, term, boost=boost * weight)
            for term, weight in weighted
            for name, boost in text_fields().items()
        ]
    )


def _filter(filters: dict[str, str]) -> And | None:
    terms = [Term(name, value) for name, value in filters.items() if value]
    return And(terms) if terms else None


def _matched(hit) -> list[str]:
    seen: dict[str, None] = {}
    for fieldname, value in hit.matched_terms():
        if fieldname in TEXT_FIELDS:
            text = value.decode("utf-8") if isinstance(value, bytes) else value
            seen.setdefault(text, None)
    return list(seen)


def _highlighter() -> highlight.Highlighter:
    # HtmlFormatter escapes the text around and inside each match, so a
    # listing's own markup is shown as text.
    return highlight.Highlighter(
        fragmenter=highlight.ContextFragmenter(maxchars=120, surround=40),
        formatter=highlight.HtmlFormatter(tagname="mark", between=" … "),
    )


def _whole_keywords(text: str) -> list[str]:
    """The space-separated parts of a query, as a listing's keyword list has them."""
    return list(dict.fromkeys(p.lower() for p in text[:500].split() if p))[:8]


def search(
    index: SearchIndex,
    text: str,
    filters: dict[str, str] | None = None,
    page: int = 1,
    per_page: int = 10,
    bodies: dict[str, str] | None = None,
) -> SearchPage:
    """Search public listings; OR semantics over title, keywords and body."""
    terms = query_terms(text)
    searcher = searcher_for(index)
    if not terms:
        return SearchPage([], 0, 1, 0, {}, [])
    query = _text_query([(t, 1.0) for t in terms])
    if TUNING.tag:
        # A word typed exactly as a listing's own keyword (钙钛矿太阳能电池) is
        # strong evidence; the jieba pieces alone cannot tell it from a text
        # that merely mentions 太阳能 and 电池 somewhere.
        tags = [Term("tags", t, boost=TUNING.tag) for t in _whole_keywords(text)]
        if tags:
            query = Or([query, *tags])
    facets = sorting.Facets()
    for name in FACETS:
        facets.add_field(name, maptype=sorting.Count)
    results = searcher.search_page(
        query,
        max(page, 1),
        pagelen=per_page,
        filter=_filter(filters or {}),
        groupedby=facets,
        terms=True,
    )
    results.results.highlighter = _highlighter()
    hits = [
        Hit(
            kind=hit["kind"],
            doc_id=hit["doc_id"],
            score=round(hit.score, 4),
            matched_terms=_matched(hit),
            # Whoosh escapes the fragments itself (see _highlighter).
            highlight=Markup(hit.highlights("title") or ""),  # noqa: S704
            fields=dict(hit.fields()),
        )
        for hit in results
    ]
    counts = {name: dict(results.results.groups(name)) for name in FACETS}
    suggestion = None
    if results.total == 0:
        suggestion = suggest(searcher, terms)
    return SearchPage(
        hits=hits,
        total=results.total,
        page=results.pagenum,
        pages=results.pagecount,
        facets=counts,
        terms=terms,
        suggestion=suggestion,
    )


def suggest(searcher, terms: list[str]) -> str | None:
    """A nearby spelling of the query built from words the index knows."""
    changed = False
    out = []
    for term in terms:
        if searcher.doc_frequency("title", term) or searcher.doc_frequency(
            "body", term
        ):
            out.append(term)
            continue
        options = searcher.suggest("title", term, limit=1, maxdist=1)
        if options:
            out.append(options[0])
            changed = True
    return " ".join(out) if changed and out else None


def _rerank(hits: list, field_code: str | None) -> list[tuple[float, Any]]:
    """Scores of the hits after the catalogue's own grouping has had its say.

    The first hits of a demand say which discipline (学科, or technology field
    for listings without one) it belongs to: the share of their score that falls
    on each discipline is a vote. A hit gains that vote times prf_weight, on a
    scale where the best text score is 1, so a hit from the demand's evident
    discipline moves ahead of one that shares a stray word only. The query
    listing's own technology field, when there is one, counts the same way.
    """
    if not hits:
        return []
    top = max(hit.score for hit in hits) or 1.0
    votes: Counter = Counter()
    for hit in hits[: TUNING.prf_docs]:
        votes[hit.get("discipline") or hit.get("field") or ""] += hit.score
    total = sum(votes.values()) or 1.0
    out = []
    for hit in hits:
        group = hit.get("discipline") or hit.get("field") or ""
        score = hit.score / top
        if group and TUNING.prf_weight:
            score += TUNING.prf_weight * votes[group] / total
        if field_code and hit.get("field") == field_code:
            score += TUNING.field_weight
        out.append((score, hit))
    out.sort(key=lambda item: -item[0])
    return out


def match(
    index: SearchIndex,
    text: str,
    kind: str | None = None,
    limit: int = 10,
    exclude_key: str | None = None,
    field_code: str | None = None,
    extra_terms: list[str] | None = None,
) -> tuple[list[Hit], list[str]]:
    """Listings that fit a free text, with the shared key terms of each."""
    searcher = searcher_for(index)
    weighted = demand_terms(searcher, text)
    known = {t for t, _ in weighted}
    for term in extra_terms or []:
        term = term.strip().lower()
        if term and term not in STOPWORDS and term not in known:
            weighted.append((term, 1.0))
            known.add(term)
    if not weighted:
        return [], []
    query = _text_query(weighted)
    depth = max(limit + 1, TUNING.rerank_depth)
    results = searcher.search(
        query,
        limit=depth,
        filter=_filter({"kind": kind or ""}),
        terms=True,
    )
    hits = []
    ranked = [hit for hit in results if hit["key"] != exclude_key]
    for score, hit in _rerank(ranked, field_code)[:limit]:
        hits.append(
            Hit(
                kind=hit["kind"],
                doc_id=hit["doc_id"],
                score=round(score, 4),
                matched_terms=_matched(hit),
                fields=dict(hit.fields()),
            )
        )
    return hits, [t for t, _ in weighted]
