"""What a demand is about: its key terms, whole compounds first, never noise.

An enterprise writes "我们是一家食品加工企业，想提高小麦粉的保鲜期，减少防腐剂使用".
jieba's search mode cuts every dictionary n-gram out of a long word (霉毒 out of
黄曲霉毒素, 效成 out of 有效成分) and keeps numbers, units and boilerplate; as
match terms those found papers on fish pathogens and 综合征. Here a demand is
cut in precise mode with parts of speech, and a word becomes a term only when
it can say what technology is needed:

- function words, numbers, measure words, pronouns, time and place words go
  (by part of speech), and so do units, anything with a digit and single
  characters;
- company boilerplate and generic verbs, adjectives and nouns (提高, 减少, 希望,
  解决, 我们, 公司, 生产 …) go: `data/generic_words.txt`, reviewable;
- a compound (黄曲霉毒素, 秸秆综合利用) stays whole; its fragments are the words
  jieba's best segmentation of the compound without itself gives (黄曲霉 +
  毒素, never 霉毒), and they count with a much smaller weight.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import jieba
import jieba.posseg

from marketplace.search.analysis import DATA_DIR, DOMAIN, STOPWORDS, ensure_ready

# Parts of speech that never name a technology (jieba's tag set): numerals,
# measure words, pronouns, prepositions, conjunctions, particles, adverbs,
# time, direction and place words, interjections, idioms and punctuation.
DROP_POS = frozenset({
    "m", "mq", "q", "r", "rr", "rz", "p", "c", "u", "uj", "ul", "uz", "ud", "ug",
    "uv", "d", "dg", "y", "e", "o", "t", "tg", "f", "s", "k", "h", "i",
    "nrt",
})  # fmt: skip
# Units typed with numbers (also dropped alone: 60 kg → neither).
UNITS = frozenset({
    "kg", "g", "mg", "ug", "t", "kt", "mt", "km", "m", "cm", "mm", "um", "nm", "l",
    "ml", "kw", "kwh", "w", "mw", "gw", "v", "kv", "a", "ma", "mpa", "kpa", "pa",
    "h", "min", "s", "hz", "khz", "mhz", "db", "ppm", "ppb", "pcs", "rpm",
})  # fmt: skip
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"^[a-z][a-z\-]*[a-z]$")
_DIGIT = re.compile(r"[0-9０-９]")
# A formula, grade or model (tio2, h2o2, q235, pm2.5 → pm2): letters first, then
# digits somewhere; a number with a unit (60kg) starts with its digits.
_FORMULA = re.compile(r"^[a-z][a-z0-9]*[0-9][a-z0-9]*$")
# 每吨, 每天, 每亩: a rate, not a subject.
_RATE_PREFIX = frozenset("每")


def _load_generic() -> frozenset[str]:
    words = set()
    text = (DATA_DIR / "generic_words.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        words.update(w for w in line.split() if w)
    # Where the firm is says nothing about the technology it needs (jieba's
    # place-name tag is too unreliable to drop them by: it tags 保鲜 a place).
    regions = json.loads((DATA_DIR / "regions.json").read_text(encoding="utf-8"))
    for name in [regions.get("city", ""), *_names(regions)]:
        words.add(name)
        words.add(re.sub(r"(省|市|县|区)$", "", name))
    return frozenset(w for w in words if len(w) >= 2)


def _names(node) -> list[str]:
    """Every "name" value in the regions reference data, however nested."""
    if isinstance(node, dict):
        found = [node["name"]] if isinstance(node.get("name"), str) else []
        return found + [n for v in node.values() for n in _names(v)]
    if isinstance(node, list):
        return [n for v in node for n in _names(v)]
    return []


GENERIC = _load_generic()


@dataclass(frozen=True)
class Term:
    """A key term of a demand: the word, its weight, and where it came from."""

    word: str
    weight: float
    # "user": the demand's own word; "fragment": a piece of a compound the
    # demand used; "missing": a word of the demand no listing has (it only
    # counts against coverage); "thesaurus" / "association": an expansion of
    # `source`.
    kind: str = "user"
    source: str = ""


def is_term(word: str, pos: str = "") -> bool:
    """Whether a word may be a match or explanation term at all."""
    word = word.strip().lower()
    if not word or word in STOPWORDS or word in GENERIC:
        return False
    if pos in DROP_POS and word not in DOMAIN:
        return False
    if word[0] in _RATE_PREFIX:
        return False
    if _DIGIT.search(word):
        return bool(_FORMULA.match(word))
    if _HAN.search(word):
        return len(word) >= 2 and all(_HAN.match(ch) for ch in word)
    # Latin words: technical abbreviations and terms (COD, PLC, LED), not units.
    return bool(_LATIN.match(word)) and word not in UNITS


def pos_words(text: str) -> list[tuple[str, str]]:
    """(word, part of speech) of a text in jieba's precise mode."""
    ensure_ready()
    return [(p.word, p.flag) for p in jieba.posseg.cut(text)]


@lru_cache(maxsize=8192)
def fragments(word: str) -> tuple[str, ...]:
    """The words of a compound's best segmentation without the compound itself.

    jieba's dictionary also holds junk n-grams (霉毒, 效成); only words of the
    most probable split of the compound into smaller dictionary words are
    fragments, so a fragment never straddles two of its words.
    """
    ensure_ready()
    n = len(word)
    if n < 3 or not _HAN.search(word):
        return ()
    dt = jieba.dt
    dag = dt.get_DAG(word)
    dag[0] = [end for end in dag[0] if end != n - 1] or [0]
    route: dict[int, tuple[float, int]] = {}
    dt.calc(word, dag, route)
    out, start = [], 0
    while start < n:
        end = route[start][1] + 1
        out.append(word[start:end])
        start = end
    if len(out) < 2:
        return ()
    return tuple(dict.fromkeys(w for w in out if is_term(w, _dict_pos(w))))


def _dict_pos(word: str) -> str:
    return jieba.posseg.dt.word_tag_tab.get(word, "")


def demand_words(text: str) -> Counter:
    """How often each acceptable word of a demand occurs (precise mode)."""
    counts: Counter = Counter()
    for word, pos in pos_words(text[:5000]):
        lower = word.strip().lower()
        if is_term(lower, pos):
            counts[lower] += 1
    return counts


def headline(text: str) -> set[str]:
    """The words of a text's title line, when it has one above a body."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) < 2 or len(lines[0]) > 60:
        return set()
    return set(demand_words(lines[0]))


def key_terms(
    text: str,
    idf_of,
    limit: int,
    fragment_weight: float,
    orphan_weight: float,
    headline_weight: float = 1.0,
) -> list[Term]:
    """The demand's best terms by tf × idf, then the fragments of its compounds.

    `idf_of(word)` is the catalogue's idf, 0 for a word no listing has: such a
    word cannot match and is dropped, but its fragments stand in for it at
    `orphan_weight` (保鲜期 → 保鲜); the fragments of a word that does match
    count at `fragment_weight`, well below the whole word. A word of the
    title line (a challenge's own title) counts `headline_weight` times.
    """
    users, orphans = [], []
    title = headline(text)
    for word, tf in demand_words(text).items():
        weight = (1 + math.log(tf)) * (headline_weight if word in title else 1.0)
        idf = idf_of(word)
        if idf > 0:
            users.append((weight * idf, word, weight))
        else:
            orphans.append((weight, word))
    users.sort(key=lambda item: (-item[0], item[1]))
    out = {word: Term(word, weight) for _, word, weight in users[:limit]}
    wholes = [(w, word, fragment_weight) for _, word, w in users[:limit]]
    wholes += [(w, word, orphan_weight) for w, word in orphans]
    for weight, word, share in wholes:
        for part in fragments(word):
            if part not in out and idf_of(part) > 0:
                out[part] = Term(part, weight * share, "fragment", word)
    # What the demand asks for but no listing has still counts against a
    # match's coverage: a demand about 芝麻油 is not strongly met by 毒素.
    missing = [Term(word, w, "missing") for w, word in orphans if word not in out]
    return list(out.values()) + missing[:limit]
