"""The curated thesaurus: enterprise wording → the research terms for it.

Firms describe symptoms (臭味大, 电费太高, 面粉结块) where results use research
words (除臭, 节能, 防结块). `data/thesaurus/<field>.txt` maps one to the other,
one reviewable file per technology field (format in its README.md). Matching
adds the research terms to a demand at a lower weight than the firm's own
words and names each one with the word it came from ("除臭 ← 臭味").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "data" / "thesaurus"
_SPLIT = re.compile(r"[,，、;；]")


@dataclass(frozen=True)
class Entry:
    """Research terms for an everyday word, and the field file it came from."""

    terms: tuple[str, ...]
    field: str


def parse_line(line: str) -> tuple[list[str], list[str]] | None:
    """(everyday words, research terms) of one line, or None for a blank/comment."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    if "=>" not in line:
        raise ValueError(f"no '=>' in thesaurus line: {line!r}")
    left, right = line.split("=>", 1)
    words = [w.strip().lower() for w in _SPLIT.split(left) if w.strip()]
    terms = [t.strip().lower() for t in _SPLIT.split(right) if t.strip()]
    if not words or not terms:
        raise ValueError(f"empty side in thesaurus line: {line!r}")
    return words, terms


def read(folder: Path = FOLDER) -> dict[str, Entry]:
    """Every everyday word of every field file, with its research terms."""
    out: dict[str, Entry] = {}
    for path in sorted(folder.glob("*.txt")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            try:
                parsed = parse_line(line)
            except ValueError as error:
                raise ValueError(f"{path.name}:{number}: {error}") from error
            if parsed is None:
                continue
            words, terms = parsed
            for word in words:
                known = out.get(word)
                merged = (*known.terms, *terms) if known else tuple(terms)
                field = known.field if known else path.stem
                kept = tuple(t for t in dict.fromkeys(merged) if t != word)
                out[word] = Entry(kept, field)
    return out


@cache
def table() -> dict[str, Entry]:
    """The packaged thesaurus, read once per process."""
    return read() if FOLDER.is_dir() else {}


def research_terms() -> list[str]:
    """Every research term of the thesaurus, for the segmenter's dictionary.

    Everyday wording is not added: it is looked up in the raw text (see
    expand), and phrases such as 味道大 would only disturb how text is cut.
    """
    found: dict[str, None] = {}
    for entry in table().values():
        for term in entry.terms:
            found.setdefault(term, None)
    return list(found)


def expand(text: str, known: set[str]) -> list[tuple[str, str]]:
    """(research term, the demand's words it came from), in the demand's order.

    Everyday wording is looked up in the text itself, not in its tokens: a
    phrase such as 味道大 is rarely one word to the segmenter.
    """
    text = text.lower()
    found = []
    for word, entry in table().items():
        at = text.find(word)
        if at >= 0:
            found.append((at, -len(word), word, entry))
    found.sort()
    out: dict[str, str] = {}
    covered: list[tuple[int, int]] = []
    for at, length, word, entry in found:
        # 臭味 inside a matched 臭味大 adds nothing the longer phrase did not.
        end = at - length
        if any(s <= at and end <= e for s, e in covered):
            continue
        covered.append((at, end))
        for term in entry.terms:
            if term not in known and term not in out:
                out[term] = word
    return list(out.items())


def fields(text: str) -> dict[str, float]:
    """Each technology field's share of the thesaurus entries the text uses.

    The thesaurus files are per field, so the everyday words a firm uses say
    which field its demand belongs to (结块, 生虫 → agriculture).
    """
    text = text.lower()
    votes: dict[str, float] = {}
    for word, entry in table().items():
        if text.find(word) >= 0:
            votes[entry.field] = votes.get(entry.field, 0.0) + 1.0
    total = sum(votes.values())
    return {field: count / total for field, count in votes.items()} if total else {}
