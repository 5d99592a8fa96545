"""Searching and matching: OR queries with field boosts, facets and explanations.

Whoosh stores the index (postings, stored fields, columns) and keeps it in step
with the database; ranking is done here, over whole posting lists at once with
numpy (see `arrays.Catalogue`). Whoosh's own query evaluation walks an OR of many
terms one document at a time in Python: on 100,000 listings a title query took
about 1.5 s at p95 and an abstract-length match 1.7 s, because every document
that shares any word is visited and block-max pruning rarely skips anything
when thirty terms are OR-ed. Reading a posting list as arrays costs about
0.2 µs a posting, and the same arrays give exact totals and facet counts.

The ranking is BM25 per field with the usual Robertson–Spärck Jones idf (see
`idf`), field boosts, and for matching a re-ranking by the discipline the first
hits agree on. Its parameters are in `tuning.TUNING`; bench/relevance.py measures them
(choose them with `--split dev`, report with `--split test`) and
bench/RESULTS.md records the figures they give.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import jieba.analyse
import numpy as np
from markupsafe import Markup
from whoosh import highlight, scoring

from marketplace.search import serving
from marketplace.search.analysis import STOPWORDS, ensure_ready, words
from marketplace.search.arrays import (
    catalogue_of,
    clear_caches,
    matched_terms,
    top,
)
from marketplace.search.index import SearchIndex
from marketplace.search.tuning import FACETS, TUNING, Tuning, idf

__all__ = ["FACETS", "TUNING", "Tuning", "match", "search", "suggest"]

MAX_QUERY_TERMS = 32
MATCH_TERMS = 24
# Calibrated match scores run 0–100; below this a match is not a strong one.
STRONG_MATCH = 0.0


def text_fields(for_match: bool = False) -> dict[str, float]:
    """The text fields queried and their boosts."""
    t = TUNING
    if for_match:
        boosts = {
            "title": t.match_title,
            "keywords": t.match_keywords,
            "body": t.match_body,
        }
    else:
        boosts = {"title": t.title, "keywords": t.keywords, "body": t.body}
    return {name: boost for name, boost in boosts.items() if boost}


class CatalogueBM25(scoring.BM25F):
    """Whoosh's per-field BM25 with `idf` above, for whoosh's own searches."""

    def __init__(self):
        super().__init__(
            B=TUNING.b,
            K1=TUNING.k1,
            title_B=TUNING.title_b,
            keywords_B=TUNING.keywords_b,
        )

    def idf(self, searcher, fieldname, text):
        return idf(searcher, fieldname, text)


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
    """The searcher of the index as it is on disk now (see search/serving.py)."""
    return serving.searcher(index, CatalogueBM25)


def forget_searchers() -> None:
    """Close the cached searchers and drop cached arrays (after TUNING changed)."""
    serving.forget()
    clear_caches()


# --- the text side ------------------------------------------------------------------


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


def demand_terms(
    searcher, text: str, limit: int | None = None
) -> list[tuple[str, float]]:
    """The words of a demand that best say what it is about, with query weights.

    jieba's bundled IDF table comes from general news text; ranked against it,
    a paper's commonest technical words (模型, 系统, 控制) look rare. The
    catalogue itself says which words are rare here, so words are ranked by
    tf × idf over the index and words no listing has are dropped (they cannot
    match anything). The query weight is the damped frequency only: BM25 applies
    the idf once more when it scores. (jieba's TF-IDF weights used directly as
    query weights scored nDCG@10 0.30/0.32 on the dev split; this 0.33/0.36.)
    """
    limit = limit or TUNING.match_terms
    counts = Counter(w for w in words(text[:5000]) if len(w) >= TUNING.min_term_len)
    ranked = []
    for term, tf in counts.items():
        if not searcher.doc_frequency("body", term):  # the body holds all the text
            continue
        weight = 1 + math.log(tf)
        ranked.append((weight * idf(searcher, "body", term), term, weight))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [(term, weight) for _, term, weight in ranked[:limit]]


def _whole_keywords(text: str) -> list[str]:
    """The space-separated parts of a query, as a listing's keyword list has them."""
    return list(dict.fromkeys(p.lower() for p in text[:500].split() if p))[:8]


def _highlight(searcher, title: str, terms: list[str]) -> Markup:
    if not terms or not title:
        return Markup("")
    # HtmlFormatter escapes the text around and inside each match, so a
    # listing's own markup is shown as text.
    marked = highlight.highlight(
        title,
        frozenset(terms),
        searcher.schema["title"].analyzer,
        highlight.ContextFragmenter(maxchars=120, surround=40),
        highlight.HtmlFormatter(tagname="mark", between=" … "),
    )
    return Markup(marked or "")  # noqa: S704 - escaped by HtmlFormatter


# --- the verbs ---------------------------------------------------------------------


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
    catalogue = catalogue_of(searcher)
    weighted = [
        (name, term, boost) for term in terms for name, boost in text_fields().items()
    ]
    if TUNING.tag:
        weighted += [("tags", part, TUNING.tag) for part in _whole_keywords(text)]
    scores, found = catalogue.score(weighted)
    scores[~catalogue.mask(filters or {})] = 0
    docs = np.flatnonzero(scores > 0)
    total = len(docs)
    pages = math.ceil(total / per_page) if per_page else 0
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page if page else 0
    ranked = top(scores, docs, start + per_page)[start:]
    hits = []
    for docnum in ranked.tolist():
        stored = searcher.stored_fields(docnum)
        matched = matched_terms(docnum, found, terms)
        hits.append(
            Hit(
                kind=stored["kind"],
                doc_id=stored["doc_id"],
                score=round(float(scores[docnum]), 4),
                matched_terms=matched,
                highlight=_highlight(searcher, stored.get("title", ""), matched),
                fields=dict(stored),
            )
        )
    suggestion = suggest(searcher, terms) if total == 0 else None
    return SearchPage(
        hits=hits,
        total=total,
        page=page,
        pages=pages,
        facets=catalogue.facet_counts(docs),
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


def _rerank(hits: list[tuple[int, float, dict]], field_code: str | None):
    """Scores of the hits after the catalogue's own grouping has had its say.

    The first hits of a demand say which discipline (学科, or technology field
    for listings without one) it belongs to: the share of their score that falls
    on each discipline is a vote. A hit gains that vote times prf_weight, on a
    scale where the best text score is 1, so a hit from the demand's evident
    discipline moves ahead of one that shares a stray word only; a much better
    text match still wins. The query listing's own technology field, when there
    is one, counts the same way. On the dev split this took nDCG@10 from 0.333
    to 0.383 for titles and from 0.371 to 0.427 for abstracts (prf_weight 0.5:
    0.371/0.412; 1.2: 0.392/0.438, where the vote starts to outweigh the text).
    """
    if not hits:
        return []
    top = max(score for _, score, _ in hits) or 1.0
    votes: Counter = Counter()

    def group(stored: dict) -> str:
        return stored.get("discipline") or stored.get("field") or ""

    for _, score, stored in hits[: TUNING.prf_docs]:
        votes[group(stored)] += score
    total = sum(votes.values()) or 1.0
    out = []
    for docnum, score, stored in hits:
        value = score / top
        if group(stored) and TUNING.prf_weight:
            value += TUNING.prf_weight * votes[group(stored)] / total
        if field_code and stored.get("field") == field_code:
            value += TUNING.field_weight
        out.append((value, docnum, stored))
    out.sort(key=lambda item: (-item[0], item[1]))
    return out


def _candidates(searcher, scores, depth: int, exclude_key: str | None):
    """(docnum, score, stored fields) of the best `depth` documents."""
    out = []
    docs = np.flatnonzero(scores > 0)
    for docnum in top(scores, docs, depth).tolist():
        stored = searcher.stored_fields(docnum)
        if stored.get("key") != exclude_key:
            out.append((docnum, float(scores[docnum]), stored))
    return out


def _expansion(searcher, candidates, known: set[str]) -> list[tuple[str, float]]:
    """Words the first hits' titles and keywords share, weighted by hit score."""
    top = candidates[0][1] or 1.0
    weights: Counter = Counter()
    for _, score, stored in candidates[: TUNING.prf_docs]:
        text = "\n".join([stored.get("title", ""), stored.get("keywords", "")])
        for word in set(words(text)):
            if len(word) >= TUNING.min_term_len and word not in known:
                weights[word] += score / top
    ranked = sorted(
        ((w * idf(searcher, "body", t), t) for t, w in weights.items() if w > 1.0),
        reverse=True,
    )[: TUNING.expand_terms]
    return [(t, TUNING.expand_weight) for _, t in ranked]


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
    catalogue = catalogue_of(searcher)
    fields = text_fields(for_match=True)
    scores, found = catalogue.score(
        [(name, t, boost * w) for t, w in weighted for name, boost in fields.items()]
    )
    allowed = catalogue.mask({"kind": kind or ""})
    scores[~allowed] = 0
    depth = max(limit, TUNING.rerank_depth) + 1
    candidates = _candidates(searcher, scores, depth, exclude_key)
    if TUNING.expand_terms and candidates:
        extra = _expansion(searcher, candidates, known)
        if extra:
            more, more_found = catalogue.score(
                [
                    (name, t, boost * w)
                    for t, w in extra
                    for name, boost in fields.items()
                ]
            )
            more[~allowed] = 0
            scores += more
            found.update(more_found)
            candidates = _candidates(searcher, scores, depth, exclude_key)
    order = [t for t, _ in weighted]
    hits = [
        Hit(
            kind=stored["kind"],
            doc_id=stored["doc_id"],
            score=round(value, 4),
            matched_terms=matched_terms(docnum, found, order),
            fields=dict(stored),
        )
        for value, docnum, stored in _rerank(candidates[: depth - 1], field_code)[
            :limit
        ]
    ]
    return hits, order
