"""Chinese text analysis: jieba search-mode tokens, a domain dictionary, stop words."""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path

import jieba
from whoosh.analysis import Token, Tokenizer

from marketplace.search import thesaurus

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
STOPWORDS = frozenset(
    line.strip()
    for line in (DATA_DIR / "stopwords_zh.txt").read_text(encoding="utf-8").splitlines()
    if line.strip()
)

# A keyword becomes a dictionary word when it is a short run of Chinese
# characters, letters and digits. Longer phrases (a whole sentence typed as a
# keyword) and anything with a space would only confuse the segmenter; jieba's
# dictionary format also splits a line on spaces.
_DICT_WORD = re.compile(r"^(?=.*[\u4e00-\u9fff])[\u4e00-\u9fffA-Za-z0-9]{2,16}$")


def is_dictionary_word(text: str) -> bool:
    """Whether a keyword may go into the segmenter's dictionary."""
    return bool(_DICT_WORD.match(text or ""))


def packaged_words() -> list[str]:
    """The technology field names, common technical terms and thesaurus terms."""
    fields = json.loads((DATA_DIR / "tech_fields.json").read_text(encoding="utf-8"))
    terms = (DATA_DIR / "tech_terms.txt").read_text(encoding="utf-8").splitlines()
    out = [field["name"] for field in fields]
    out += [t.strip() for t in terms if t.strip() and not t.startswith("#")]
    out += thesaurus.research_terms()
    return [word for word in dict.fromkeys(out) if is_dictionary_word(word)]


# Every word of the domain dictionary this process loaded (technology
# fields, technical terms, thesaurus terms, the catalogue's keywords): a term
# whatever part of speech jieba's general tagger gives it (喷涂 is tagged a
# "state word", 实时 an adverb).
DOMAIN: set[str] = set()
_lock = threading.Lock()
_state: dict[str, object] = {"ready": False, "cache_dir": None, "userdict": None}
# Dictionary files already loaded into jieba, by (path, size, mtime): jieba can
# add words but never drop them, so each file is loaded once per version.
_loaded: set[tuple[str, int, int]] = set()

jieba.setLogLevel(logging.WARNING)


def configure(cache_dir: str | None = None, userdict: str | None = None) -> None:
    """Say where jieba keeps its cache and which user dictionary to load."""
    with _lock:
        _state["cache_dir"] = cache_dir
        _state["userdict"] = userdict
        _state["ready"] = False
        _line_cache.clear()  # tokens cut with the previous dictionary


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
        _add_words(packaged_words())
        _state["ready"] = True
    if _state["userdict"]:
        load_words(Path(str(_state["userdict"])))


def _add_words(new_words) -> None:
    """Add words to jieba, keeping the short tokens they were cut into before.

    jieba's search mode yields the two- and three-character pieces of a long
    word only when they are dictionary words themselves. Before 冷链物流 was
    added, the hidden Markov model cut it into 冷链 and 物流; once added, a
    query for 冷链 would no longer find it. So the pieces go in too, at the
    lowest frequency, which changes nothing else in how text is cut.
    """
    freq = jieba.dt.FREQ
    for word in new_words:
        if not is_dictionary_word(word):
            continue
        DOMAIN.add(word.lower())
        if freq.get(word):
            continue
        before = jieba.lcut_for_search(word, HMM=HMM)
        jieba.add_word(word)
        for piece in before:
            if 2 <= len(piece) <= 3 and not freq.get(piece):
                jieba.add_word(piece, freq=1)


def load_words(path: Path) -> bool:
    """Add a user dictionary file's words to jieba; True if it was new."""
    try:
        stat = path.stat()
    except OSError:
        return False
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _loaded:
        return False
    ensure_ready()
    with _lock:
        if key in _loaded:
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
        _add_words(line.split()[0] for line in text.splitlines() if line.strip())
        _loaded.add(key)
        _line_cache.clear()  # lines cut before these words existed
        return True


# A token is a word when it has a letter or a digit (not punctuation or space).
_WORD = re.compile(r"[^\W_]")
# jieba's hidden Markov model guesses words missing from the dictionary (new
# technical terms such as 镇定控制器 come out whole instead of as characters).
HMM = True
# Tokens of recently seen lines. A document's title and keyword lines are
# analysed for their own fields and again as the first lines of the body;
# about a tenth of the analysis time of a build.
_CACHE_LINES = 256
_line_cache: dict[str, tuple[tuple[str, str, int, int], ...]] = {}


def _line_tokens(line: str) -> tuple[tuple[str, str, int, int], ...]:
    """(word, lower-cased word, start, end) of one line, punctuation dropped."""
    cached = _line_cache.get(line)
    if cached is not None:
        return cached
    out = tuple(
        (word, word.lower(), start, end)
        for word, start, end in jieba.tokenize(line, mode="search", HMM=HMM)
        if word.isalnum() or _WORD.search(word) is not None
    )
    if len(_line_cache) >= _CACHE_LINES:
        _line_cache.clear()
    _line_cache[line] = out
    return out


def tokens(text: str):
    """Search-mode tokens of a text as (word, lower-cased, start, end).

    jieba treats a line break as a separator, so line by line gives the same
    tokens as the whole text at once.
    """
    ensure_ready()
    offset = 0
    for line in (text or "").split("\n"):
        if line:
            for word, lower, start, end in _line_tokens(line):
                yield word, lower, offset + start, offset + end
        offset += len(line) + 1


def words(text: str) -> list[str]:
    """Search-mode tokens of a text, lower-cased, without stop words or punctuation."""
    return [lower for _, lower, _, _ in tokens(text) if lower not in STOPWORDS]


class JiebaTokenizer(Tokenizer):
    """Whoosh analyzer over jieba's search mode (overlapping words kept).

    Lower-casing and stop words are done here rather than by whoosh's
    LowercaseFilter and StopFilter: one generator instead of three is about a
    fifth less analysis time, with the same tokens.
    """

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
        """Yield one Whoosh token per jieba word (stop words removed or marked)."""
        ensure_ready()
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = value
            token.text = value.lower()
            token.boost = 1.0
            token.stopped = token.text in STOPWORDS
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            if not (token.stopped and removestops):
                yield token
            return
        pos = start_pos
        for word, lower, start, end in tokens(value):
            stopped = lower in STOPWORDS
            if stopped and removestops:
                continue
            token.original = word
            token.text = lower
            token.boost = 1.0
            token.stopped = stopped
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


def chinese_analyzer():
    """The analyzer every text field of the index uses."""
    return JiebaTokenizer()
