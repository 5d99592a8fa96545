"""Term associations learned from the catalogue at each reindex.

Words that keep company in the catalogue's listings (臭味 with 除臭 and 恶臭,
保鲜 with 贮藏 and 货架期) are related for this catalogue whatever a general
dictionary says. At reindex the terms of each public listing (precise-mode
words that `terms.is_term` accepts) are counted in pairs, and each term keeps
the few partners with the highest normalised pointwise mutual information.
Matching adds them to a demand below the curated thesaurus and the firm's own
words, and names them with the word they came from.

The table is written into the index generation beside the dictionary, so a
worker uses the associations of the generation it searches.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path

import jieba
import numpy as np

from marketplace.search.analysis import ensure_ready
from marketplace.search.terms import is_term

FILENAME = "associations.tsv"
# A listing contributes at most this many terms (its most specific ones):
# pairs grow with its square.
PER_DOC = 32
MIN_DF = 3
MAX_DF_SHARE = 0.05
MIN_PAIR = 3
MIN_NPMI = 0.45
PARTNERS = 3
# Statistics, not bookkeeping: a sample of this many listings is enough.
MAX_DOCS = 20_000


def _doc_terms(text: str) -> set[str]:
    return {w.lower() for w in jieba.cut(text[:3000]) if is_term(w)}


def learn(
    docs_in: Iterable[tuple[str, Iterable[str]]],
) -> dict[str, list[tuple[str, float]]]:
    """Each frequent term's closest partners by NPMI over (text, keywords) pairs.

    A partner must be a word of some listing's keywords: the catalogue's own
    research terms, not whatever words happen to share its abstracts.
    """
    ensure_ready()
    docs = []
    research: set[str] = set()
    for i, (text, keywords) in enumerate(docs_in):
        if i >= MAX_DOCS:
            break
        docs.append(_doc_terms(text))
        for keyword in keywords:
            research.update(_doc_terms(keyword))
    n = len(docs)
    if n < 20:
        return {}
    df: dict[str, int] = {}
    for terms in docs:
        for term in terms:
            df[term] = df.get(term, 0) + 1
    cap = max(MIN_DF, int(MAX_DF_SHARE * n))
    vocab = sorted(t for t, c in df.items() if MIN_DF <= c <= cap)
    ids = {t: i for i, t in enumerate(vocab)}
    size = len(vocab)
    if size < 2:
        return {}
    codes = []
    for terms in docs:
        # The rarest terms say most about a listing.
        kept = sorted((t for t in terms if t in ids), key=lambda t: (df[t], t))
        row = np.array(sorted(ids[t] for t in kept[:PER_DOC]), dtype=np.int64)
        if len(row) > 1:
            a, b = np.triu_indices(len(row), k=1)
            codes.append(row[a] * size + row[b])
    if not codes:
        return {}
    pairs, counts = np.unique(np.concatenate(codes), return_counts=True)
    keep = counts >= MIN_PAIR
    pairs, counts = pairs[keep], counts[keep]
    a, b = pairs // size, pairs % size
    dfs = np.array([df[t] for t in vocab], dtype=np.float64)
    p_ab = counts / n
    pmi = np.log(p_ab / ((dfs[a] / n) * (dfs[b] / n)))
    npmi = pmi / -np.log(p_ab)
    good = npmi >= MIN_NPMI
    out: dict[str, list[tuple[str, float]]] = {}
    for x, y, value in zip(a[good], b[good], npmi[good], strict=True):
        if vocab[y] in research:
            out.setdefault(vocab[x], []).append((vocab[y], float(value)))
        if vocab[x] in research:
            out.setdefault(vocab[y], []).append((vocab[x], float(value)))
    return {
        term: sorted(partners, key=lambda p: (-p[1], p[0]))[:PARTNERS]
        for term, partners in out.items()
    }


def write(path: Path, table: dict[str, list[tuple[str, float]]]) -> Path:
    """Write the table atomically (term, then partner:npmi pairs, tab-separated)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    lines = (
        "\t".join([term, *(f"{p}:{v:.3f}" for p, v in partners)]) + "\n"
        for term, partners in sorted(table.items())
    )
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path


_cache: dict[str, dict[str, list[tuple[str, float]]]] = {}
_lock = threading.Lock()


def read(path: Path) -> dict[str, list[tuple[str, float]]]:
    """The table of a generation, read once per process (keyed by its path)."""
    key = str(path.resolve())
    with _lock:
        table = _cache.get(key)
    if table is not None:
        return table
    table = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    for line in text.splitlines():
        term, *partners = line.split("\t")
        pairs = []
        for item in partners:
            word, _, value = item.rpartition(":")
            if word and not math.isnan(float(value)):
                pairs.append((word, float(value)))
        table[term] = pairs
    with _lock:
        _cache.clear()  # one generation at a time is in use
        _cache[key] = table
    return table
