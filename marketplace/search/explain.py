"""The sentence of a listing that best shows why it matched, terms marked."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
MAX_CHARS = 160


def sentences(text: str) -> list[str]:
    """The sentences of a text (Chinese and Western end marks, line breaks)."""
    return [s.strip() for s in _SENTENCE.findall(text or "") if s.strip()]


def best_sentence(text: str, weights: dict[str, float]) -> Markup:
    """The sentence with the most weight of distinct terms, terms in <mark>.

    Everything but the marks is escaped, so a listing's own markup shows as
    text. Ties go to the earlier sentence; an empty Markup when no sentence
    has any of the terms.
    """
    terms = {t.lower(): w for t, w in weights.items() if t}
    best, best_value = "", 0.0
    for sentence in sentences(text):
        lower = sentence.lower()
        value = sum(w for t, w in terms.items() if t in lower)
        if value > best_value:
            best, best_value = sentence, value
    if not best:
        return Markup("")
    return mark(_window(best, terms), terms)


def _window(sentence: str, terms: dict[str, float]) -> str:
    """At most MAX_CHARS of a long sentence, around its first matched term."""
    if len(sentence) <= MAX_CHARS:
        return sentence
    lower = sentence.lower()
    first = min((lower.find(t) for t in terms if t in lower), default=0)
    start = max(0, min(first - 30, len(sentence) - MAX_CHARS))
    piece = sentence[start : start + MAX_CHARS]
    tail = "…" if start + MAX_CHARS < len(sentence) else ""
    return ("…" if start else "") + piece + tail


def mark(text: str, terms) -> Markup:
    """Escape a text and wrap every occurrence of the terms in <mark>."""
    found = sorted({t for t in terms if t}, key=len, reverse=True)
    if not found:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in found), re.IGNORECASE)
    out, last = [], 0
    for hit in pattern.finditer(text):
        out.append(escape(text[last : hit.start()]))
        out.append(Markup("<mark>{}</mark>").format(hit.group(0)))
        last = hit.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
