"""Ranking parameters and the idf that every scorer of the catalogue shares."""

from __future__ import annotations

import math
from dataclasses import dataclass

FACETS = ("kind", "field", "region", "status")
TEXT_FIELDS = ("title", "keywords", "body")


@dataclass
class Tuning:
    """Ranking parameters, chosen on the CSL dev split (bench/relevance.py)."""

    # Field boosts, applied at query time; 0 leaves the field out of the query.
    # The body holds all the text, title and keywords included (see
    # documents.document_for), so it alone scores the listing as a whole. On
    # the dev split, boosting title or keywords on top of it did not help known
    # items (MRR@10 0.994 body alone, 0.989 with title 0.5, 0.991 with title
    # and keywords 1), and each boosted field adds its own posting lists to
    # every query.
    title: float = 0.0
    keywords: float = 0.0
    body: float = 1.0
    match_title: float = 0.0
    match_keywords: float = 0.0
    match_body: float = 1.0
    # BM25. Sweeps of k1 (0.9–1.6) and b (0.5–0.9) moved nDCG by < 0.005.
    k1: float = 1.2
    b: float = 0.75
    title_b: float = 0.75
    keywords_b: float = 0.75
    # search(): a query part typed exactly as one of a listing's own keywords
    # (钙钛矿太阳能电池) is strong evidence that jieba's pieces alone cannot
    # tell from a text that merely mentions 太阳能 and 电池. +0.008 MRR@10.
    tag: float = 2.0
    # match(): how many key terms a demand text is reduced to (by tf × idf over
    # the catalogue). 24 → 32 terms: +0.010 nDCG@10 for abstracts; each term is
    # one more posting list to read.
    match_terms: int = 32
    # match(): re-rank the first `rerank_depth` hits by how much of the score of
    # the first `prf_docs` hits falls on their discipline (see _rerank).
    rerank_depth: int = 30
    prf_docs: int = 10
    # Enterprise demands (bench/demands): 0.5 over 0.8, nDCG@10 exp 1.099 →
    # 1.121 × BM25; CSL titles keep most of the vote's gain.
    prf_weight: float = 0.5
    # match() for a listing: agreement on the technology field, same scale.
    field_weight: float = 0.1
    # match(): pseudo-relevance feedback on the text. The words that the titles
    # and keywords of the first `prf_docs` hits share, weighted by the hits'
    # scores, are added to the demand (up to `expand_terms`, each at
    # `expand_weight`): a demand put in its own words also reaches listings
    # that use the field's usual terms for it. Dev split, text only: nDCG@10
    # 0.333 → 0.347 (titles), 0.364 → 0.373 (abstracts); with the discipline
    # vote 0.383 → 0.393 and 0.427 → 0.433. Weight 0.3 and 0.8, or 5 and 20
    # terms: within 0.004 of these. It costs a second scoring pass.
    expand_terms: int = 10
    expand_weight: float = 0.5
    # Query understanding (search/terms.py, understanding.py). A compound's
    # fragments (黄曲霉 + 毒素 of 黄曲霉毒素) count at fragment_weight of the
    # whole word; when the catalogue lacks the whole word they stand in for it
    # at orphan_weight. A listing's own keywords count at keyword_weight.
    # Enterprise demands: orphan 0.6 → 1.0 gains 1.7% nDCG@10 (the fragments
    # are all a firm's word 冷藏车 has to match with); fragment 0.3 → 1.0 would
    # gain 2% more, but lets 黄曲霉 of 黄曲霉毒素 outrank the toxin itself.
    fragment_weight: float = 0.3
    orphan_weight: float = 1.0
    keyword_weight: float = 1.0
    # match() of a free text: the technology fields of the thesaurus entries
    # the text uses vote like a listing's own field (scaled by their share).
    thesaurus_field_weight: float = 0.3
    # A word of a demand's title line (a challenge text starts with its title).
    headline_weight: float = 1.0
    # A demand's word that is exactly one of a listing's keywords.
    match_tag: float = 0.0
    # A word of the demand that no listing has counts against every match's
    # coverage at this weight (see query._ideal), as if it were rare.
    missing_weight: float = 0.5
    # Expansions, below the firm's own words: research terms of the curated
    # thesaurus, and partners learned from the catalogue (weight × NPMI).
    thesaurus_weight: float = 0.5
    thesaurus_terms: int = 12
    association_weight: float = 0.3
    association_terms: int = 8
    # The calibrated score: 100 / (1 + exp(-(calib_a + calib_b · ln share))),
    # where share is the part of the demand's ideal score a listing reaches
    # (query._ideal), after re-ranking. Fitted by logistic regression on the
    # graded enterprise demands (bench/demands: 662 judged hits of the first
    # ten, grade ≥ 2 as the event, 20% of them), so a score reads as the chance
    # in 100 that a reader would grade the listing clearly relevant. At 50 and
    # over (query.STRONG_MATCH): 19 hits, 74% of them clearly relevant.
    calib_a: float = 0.08
    calib_b: float = 1.37
    # Posting arrays kept in memory between queries (ids + weights, 8 bytes a
    # posting): the long lists of common words are read once, not per query.
    posting_cache: int = 4_000_000


TUNING = Tuning()


def calibrated(share: float) -> float:
    """A listing's share of the demand's ideal score as a 0–100 match score."""
    if share <= 0:
        return 0.0
    x = TUNING.calib_a + TUNING.calib_b * math.log(share)
    return round(100.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0))), 1)


def idf(searcher, fieldname: str, text: str) -> float:
    """Robertson–Spärck Jones idf, always positive (Lucene's BM25 idf).

    Whoosh's default idf, log(N / (df + 1)) + 1, never falls below 1, so a
    word found in half the catalogue (方法, 研究, 技术) still counts about a
    third as much as a rare one and long demand texts drown in them; this one
    drops such words to almost nothing. Together with scoring the body as one
    field it took known-item MRR@10 on the dev split from 0.964 to 0.991.
    """
    parent = searcher.get_parent()
    df = parent.doc_frequency(fieldname, text)
    n = parent.doc_count_all()
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
