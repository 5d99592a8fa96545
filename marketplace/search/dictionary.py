"""The catalogue's own words for jieba, written into each index generation.

The packaged part of the domain dictionary (the 11 technology fields and
`data/tech_terms.txt`, see analysis.packaged_words) loads in every process.
The catalogue's keywords are written into each generation by
`SearchIndex.reindex` and loaded by every process that opens the generation, so
the documents and the queries of one generation are cut with the same words.
jieba can add words but not drop them: a long-running process keeps a retired
keyword until it restarts, which only ever keeps a term whole.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.models import Challenge, Result
from marketplace.permissions import PUBLIC_CHALLENGE_STATES, PUBLIC_RESULT_STATES
from marketplace.search.analysis import is_dictionary_word

FILENAME = "userdict.txt"


def catalogue_words(session: Session) -> list[str]:
    """Distinct keywords of every public listing, in a stable order."""
    found: set[str] = set()
    for model, states in (
        (Challenge, PUBLIC_CHALLENGE_STATES),
        (Result, PUBLIC_RESULT_STATES),
    ):
        query = select(model.keywords).where(model.status.in_(states))
        for keywords in session.scalars(query.execution_options(yield_per=2000)):
            stripped = (k.strip() for k in keywords or ())
            found.update(k for k in stripped if is_dictionary_word(k))
    return sorted(found)


def write(path: Path, words: Iterable[str]) -> Path:
    """Write a jieba user dictionary (one word a line) atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_text("".join(f"{word}\n" for word in words), encoding="utf-8")
    os.replace(tmp, path)
    return path
