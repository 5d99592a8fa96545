"""A demand's weighted terms: its own words, compound fragments and expansions.

The firm's own key terms (`terms.key_terms`) weigh most; fragments of its
compounds much less; research terms from the curated thesaurus and partners
learned from the catalogue (`associations`) are added below the firm's words,
each remembering the word it came from so an explanation can name it.
"""

from __future__ import annotations

from marketplace.search import associations, terms, thesaurus
from marketplace.search.terms import Term
from marketplace.search.tuning import TUNING, idf


def idf_lookup(searcher):
    """idf over the body field, 0 for a word no listing has (cached per call)."""
    seen: dict[str, float] = {}

    def idf_of(word: str) -> float:
        value = seen.get(word)
        if value is None:
            has = searcher.doc_frequency("body", word)
            value = idf(searcher, "body", word) if has else 0.0
            seen[word] = value
        return value

    return idf_of


def _as_terms(word: str, idf_of, pieces: bool = True) -> list[str]:
    """A term as index words: itself, or (if `pieces`) its fragments if unknown.

    Expansions are used whole or not at all: the fragments of a research term
    the catalogue lacks (储藏 + 品质 of 储藏品质) are generic words that would
    match anything.
    """
    word = word.strip().lower()
    if idf_of(word) > 0 and terms.is_term(word):
        return [word]
    if not pieces:
        return []
    return [part for part in terms.fragments(word) if idf_of(part) > 0]


def demand(
    searcher,
    text: str,
    extra: list[str] | None = None,
    table_path=None,
    expand: bool = True,
) -> list[Term]:
    """The weighted terms of a demand text (plus a listing's own keywords)."""
    t = TUNING
    idf_of = idf_lookup(searcher)
    found = terms.key_terms(
        text,
        idf_of,
        t.match_terms,
        t.fragment_weight,
        t.orphan_weight,
        t.headline_weight,
    )
    out = [term for term in found if term.kind != "missing"]
    missing = [
        Term(term.word, term.weight * t.missing_weight, "missing")
        for term in found
        if term.kind == "missing"
    ]
    known = {term.word for term in found}
    for keyword in extra or []:
        for word in _as_terms(keyword, idf_of):
            if word not in known:
                out.append(Term(word, t.keyword_weight))
                known.add(word)
    if not expand:
        return out + missing
    if t.thesaurus_weight:
        added = 0
        for research, source in thesaurus.expand(text, known):
            for word in _as_terms(research, idf_of, pieces=False):
                if word not in known and added < t.thesaurus_terms:
                    out.append(Term(word, t.thesaurus_weight, "thesaurus", source))
                    known.add(word)
                    added += 1
    if t.association_weight and table_path is not None:
        table = associations.read(table_path)
        added = 0
        for term in [x for x in out if x.kind == "user"]:
            for partner, npmi in table.get(term.word, ()):
                if partner in known or added >= t.association_terms:
                    continue
                weight = term.weight * t.association_weight * npmi
                out.append(Term(partner, weight, "association", term.word))
                known.add(partner)
                added += 1
    return out + missing


def query_words(text: str, searcher) -> list[Term]:
    """The terms of a short search query: whole words first, fragments below.

    A visitor's two words are all there is, so a word the term filter refuses
    is still searched when nothing else is left.
    """
    idf_of = idf_lookup(searcher)
    out = terms.key_terms(
        text[:500],
        idf_of,
        32,
        TUNING.fragment_weight,
        TUNING.orphan_weight,
    )
    out = [t for t in out if t.kind != "missing"]
    if out:
        return [Term(t.word, 1.0 if t.kind == "user" else t.weight) for t in out]
    words = [w.lower() for w, _ in terms.pos_words(text[:500])]
    return [Term(w, 1.0) for w in dict.fromkeys(words) if idf_of(w) > 0][:32]
