"""Chinese text analysis: jieba search-mode tokens, a domain dictionary, stop words."""

from __future__ import annotations

import logging
import threading
import unicodedata
from pathlib import Path

import jieba
from whoosh.analysis import LowercaseFilter, StopFilter, Token, Tokenizer

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
STOPWORDS = frozenset(
    line.strip()
    for line in (DATA_DIR / "stopwords_zh.txt").read_text(encoding="utf-8").splitlines()
    if line.strip()
)

_lock = threading.Lock()
_state: dict[str, object] = {"ready": False, "cache_dir": None, "userdict": None}

jieba.setLogLevel(logging.WARNING)


def configure(cache_dir: str | None = None, userdict: str | None = None) -> None:
    """Say where jieba keeps its cache and which user dictionary to load."""
    with _lock:
        _state["cache_dir"] = cache_dir
        _state["userdict"] = userdict
        _state["ready"] = False


def ensure_ready() -> None:
    """Initialise jieba once per process, with the cache and user dictionary."""
    if _state["ready"]:
        return
    with _lock:
        if _state["ready"]:
            return
        cache_dir = _state["cache_dir"]
        if cache_dir:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            # jieba would otherwise share one cache file in /tmp between users.
            jieba.dt.tmp_dir = str(cache_dir)
            jieba.dt.cache_file = str(Path(cache_dir) / "jieba.cache")
        jieba.initialize()
        userdict = _state["userdict"]
        if userdict and Path(str(userdict)).exists():
            jieba.load_userdict(str(userdict))
        _state["ready"] = True


def _is_word(text: str) -> bool:
    return any(unicodedata.category(c)[0] in {"L", "N"} for c in text)


def words(text: str) -> list[str]:
    """Search-mode tokens of a text, lower-cased, without stop words or punctuation."""
    ensure_ready()
    out = []
    for word in jieba.cut_for_search(text or ""):
        word = word.strip().lower()
        if word and _is_word(word) and word not in STOPWORDS:
            out.append(word)
    return out


class JiebaTokenizer(Tokenizer):
    """Whoosh tokenizer over jieba's search mode (overlapping words kept)."""

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        """Yield one Whoosh token per jieba word."""
        ensure_ready()
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for pos, (word, start, end) in enumerate(jieba.tokenize(value, mode="search")):
            if not word.strip() or not _is_word(word):
                continue
            token.original = token.text = word
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


def chinese_analyzer():
    """The analyzer every text field of the index uses."""
    return (
        JiebaTokenizer() | LowercaseFilter() | StopFilter(stoplist=STOPWORDS, minsize=1)
    )
