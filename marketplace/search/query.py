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

import numpy as np
from markupsafe import Markup
from whoosh import highlight, scoring

from marketplace.search import associations, serving, thesaurus, understanding
from marketplace.search.analysis import words
from marketplace.search.arrays import (
    catalogue_of,
    clear_caches,
    matched_terms,
    top,
)
from marketplace.search.index import SearchIndex
from marketplace.search.terms import Term, demand_words
from marketplace.search.tuning import FACETS, TUNING, Tuning, calibrated, idf

__all__ = ["FACETS", "TUNING", "Tuning", "match", "search", "suggest"]

# Calibrated match scores run 0–100 (tuning.calibrated); below 50 a match is
# more likely than not to be judged unhelpful, so it is not a strong one. On
# the enterprise demands, hits at or above it were judged clearly relevant 61%
# of the time, against 20% for all first-ten hits (bench/RESULTS.md).
STRONG_MATCH = 50.0


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
    # (expansion term that matched, the demand's word it came from)
    expansions: list[tuple[str, str]] = field(default_factory=list)


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


def demand_terms(
    searcher, text: str, limit: int | None = None
) -> list[tuple[str, float]]:
    """The words of a demand that best say what it is about, with query weights.

    jieba's bundled IDF table comes from general news text; the catalogue
    itself says which words are rare here, so the demand's acceptable words
    (terms.is_term: no units, numbers, boilerplate or junk n-grams) are ranked
    by tf × idf over the index, and words no listing has are dropped. The
    query weight is the damped frequency only: BM25 applies the idf once more.
    """
    found = understanding.demand(searcher, text, expand=False)
    found = [t for t in found if t.kind == "user"][: limit or TUNING.match_terms]
    return [(t.word, t.weight) for t in found]


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


def _ideal(searcher, weighted: list[tuple[str, str, float]]) -> float:
    """The score of a listing of average length that has every term once.

    BM25 gives such a listing idf · boost per term, so the sum is what a
    listing that fully covers the query scores; a listing's share of it is
    comparable across queries, which raw BM25 sums are not.
    """
    total = 0.0
    for fieldname, term, boost in weighted:
        if searcher.schema[fieldname].scorable:
            total += boost * idf(searcher, fieldname, term)
    return total or 1.0


def search(
    index: SearchIndex,
    text: str,
    filters: dict[str, str] | None = None,
    page: int = 1,
    per_page: int = 10,
) -> SearchPage:
    """Search public listings; OR semantics over title, keywords and body."""
    searcher = searcher_for(index)
    found_terms = understanding.query_words(text, searcher)
    terms = [t.word for t in found_terms]
    if not terms:
        # Nothing the catalogue knows: offer the nearest words it does know.
        typed = [w for w in words(text[:200]) if len(w) >= 2][:8]
        return SearchPage([], 0, 1, 0, {}, [], suggest(searcher, typed))
    catalogue = catalogue_of(searcher)
    weighted = [
        (name, t.word, boost * t.weight)
        for t in found_terms
        for name, boost in text_fields().items()
    ]
    ideal = _ideal(searcher, weighted)
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
                score=calibrated(float(scores[docnum]) / ideal),
                matched_terms=matched,
                highlight=_highlight(searcher, stored.get("title", ""), matched),
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


def _group(stored: dict) -> str:
    return stored.get("discipline") or stored.get("field") or ""


def _rerank(
    hits: list[tuple[int, float, dict]],
    field_code: str | None,
    field_votes: dict[str, float] | None = None,
):
    """(value, docnum, stored) after the catalogue's own grouping has had its say.

    `hits` carry each listing's share of the demand it covers (see _ideal).
    The first hits say which discipline (学科, or technology field for
    listings without one) the demand belongs to: the share of their score on
    each discipline is a vote. A hit gains prf_weight times its discipline's
    vote, on the scale of the best hit's share, so a hit from the demand's
    evident discipline moves ahead of one that shares a stray word; a much
    better text match still wins. The query listing's own technology field,
    when there is one, adds field_weight the same way (for a free text, the
    fields its thesaurus words belong to). On the best hit's scale, the value
    stays an absolute share a threshold can judge.
    """
    if not hits:
        return []
    best = max(score for _, score, _ in hits) or 1.0
    votes: Counter = Counter()
    for _, score, stored in hits[: TUNING.prf_docs]:
        votes[_group(stored)] += score
    total = sum(votes.values()) or 1.0
    out = []
    for docnum, score, stored in hits:
        bonus = 0.0
        if _group(stored) and TUNING.prf_weight:
            bonus += TUNING.prf_weight * votes[_group(stored)] / total
        if field_code and stored.get("field") == field_code:
            bonus += TUNING.field_weight
        elif field_votes:
            bonus += TUNING.thesaurus_field_weight * field_votes.get(
                stored.get("field", ""), 0.0
            )
        out.append((score + best * bonus, docnum, stored))
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


def _feedback(candidates, known: set[str]) -> list[Term]:
    """Terms the first hits' titles and keywords share, weighted by hit score."""
    best = candidates[0][1] or 1.0
    weights: Counter = Counter()
    for _, score, stored in candidates[: TUNING.prf_docs]:
        text = "\n".join([stored.get("title", ""), stored.get("keywords", "")])
        for word in set(demand_words(text)):
            if word not in known:
                weights[word] += score / best
    ranked = sorted(((w, t) for t, w in weights.items() if w > 1.0), reverse=True)
    return [
        Term(t, TUNING.expand_weight, "feedback")
        for _, t in ranked[: TUNING.expand_terms]
    ]


def match(
    index: SearchIndex,
    text: str,
    kind: str | None = None,
    limit: int = 10,
    exclude_key: str | None = None,
    field_code: str | None = None,
    extra_terms: list[str] | None = None,
) -> tuple[list[Hit], list[str]]:
    """Listings that fit a free text, with the shared key terms of each.

    Each hit's score is calibrated 0–100 (see tuning.calibrated); its
    `expansions` name the thesaurus and catalogue terms that matched with the
    demand's word each came from.
    """
    searcher = searcher_for(index)
    table = index.current / associations.FILENAME
    wanted = understanding.demand(searcher, text, extra_terms, table)
    if not [t for t in wanted if t.kind != "missing"]:
        return [], []
    catalogue = catalogue_of(searcher)
    fields = text_fields(for_match=True)

    def weighted(group: list[Term]):
        return [(f, t.word, b * t.weight) for t in group for f, b in fields.items()]

    own = [t for t in wanted if t.kind in ("user", "fragment")]
    # Every term counts towards the ideal at its own weight: a listing that
    # matches only expansions reaches a small share of it.
    ideal = _ideal(searcher, weighted(wanted))
    tagged = weighted(wanted)
    if TUNING.match_tag:
        tagged += [("tags", t.word, TUNING.match_tag * t.weight) for t in own]
    scores, found = catalogue.score(tagged)
    allowed = catalogue.mask({"kind": kind or ""})
    scores[~allowed] = 0
    depth = max(limit, TUNING.rerank_depth) + 1
    candidates = _candidates(searcher, scores, depth, exclude_key)
    if TUNING.expand_terms and candidates:
        extra = _feedback(candidates, {t.word for t in wanted})
        if extra:
            more, _ = catalogue.score(weighted(extra))
            more[~allowed] = 0
            scores += more
            candidates = _candidates(searcher, scores, depth, exclude_key)
    shown = [t.word for t in own]
    expansions = [
        (t.word, t.source) for t in wanted if t.source and t.kind != "fragment"
    ]
    hits = []
    ranked = _rerank(
        [(d, s / ideal, stored) for d, s, stored in candidates[: depth - 1]],
        field_code,
        None if field_code else thesaurus.fields(text),
    )
    for value, docnum, stored in ranked[:limit]:
        hits.append(
            Hit(
                kind=stored["kind"],
                doc_id=stored["doc_id"],
                score=calibrated(value),
                matched_terms=matched_terms(docnum, found, shown),
                expansions=[
                    (w, src)
                    for w, src in expansions
                    if matched_terms(docnum, found, [w])
                ],
            )
        )
    return hits, shown
