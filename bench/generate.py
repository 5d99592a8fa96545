"""Grow the 2,000 CSL records into any number of synthetic listings.

    .venv/bin/python bench/generate.py 100000 --seed 7 > /tmp/syn.jsonl

Each synthetic listing belongs to one discipline of the real records and is made
only of that discipline's material: its abstract is real sentences of the
discipline's abstracts recombined (as many sentences as a real abstract of it
has), its title joins the head of one real title to the tail of another at a word
boundary, its keywords are drawn from the discipline's keywords. Disciplines keep
their real proportions. The same seed gives the same listings.

The vocabulary stays that of the 2,000 records, so at 100k listings every word's
posting list is about 50 times longer than in the real sample: for query latency
that is the hard case (common words are as common as in a real catalogue, and
nothing is rare); for index size and build rate it flatters a little (fewer
distinct terms than 100k real records would bring).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

# A sentence ends at a Chinese full stop, semicolon, ! or ?, or at a "." not
# followed by a digit (CSL abstracts mix both styles).
SENTENCE_END = re.compile(r"(?<=[。；;！？!?])|(?<=\.)(?!\d)")


def sentences(text: str) -> list[str]:
    """The sentences of an abstract, punctuation kept."""
    return [s for s in SENTENCE_END.split(text or "") if s.strip()]


class Discipline:
    """The material of one discipline that synthetic listings are made of."""

    def __init__(self, name: str, category: str):
        self.name, self.category = name, category
        self.sentences: list[str] = []
        self.lengths: list[int] = []
        self.titles: list[list[str]] = []
        self.keywords: list[str] = []

    def add(self, record: dict, cut) -> None:
        parts = sentences(record["abstract"])
        self.sentences.extend(parts)
        self.lengths.append(max(1, len(parts)))
        self.titles.append(cut(record["title"]))
        self.keywords.extend(record.get("keywords") or [])

    def title(self, rng: random.Random) -> str:
        head, tail = rng.choice(self.titles), rng.choice(self.titles)
        if len(head) < 2 or len(tail) < 2:
            return "".join(head or tail)
        i = rng.randint(1, len(head) - 1)
        j = rng.randint(1, len(tail) - 1)
        return ("".join(head[:i]) + "".join(tail[j:]))[:200]

    def make(self, rng: random.Random, serial: int) -> dict:
        count = rng.choice(self.lengths)
        abstract = "".join(rng.choice(self.sentences) for _ in range(count))
        pool = list(dict.fromkeys(self.keywords))
        keywords = rng.sample(pool, min(len(pool), rng.randint(3, 6)))
        return {
            "id": f"syn-{serial:07d}",
            "split": "synthetic",
            "title": self.title(rng),
            "abstract": abstract[:20_000],
            "keywords": keywords,
            "category": self.category,
            "discipline": self.name,
        }


def synthetic(records: list[dict], count: int, seed: int = 7) -> Iterator[dict]:
    """`count` synthetic listings, disciplines in their real proportions."""
    import jieba

    cut = lambda text: list(jieba.cut(text))  # noqa: E731 - plain word boundaries
    groups: dict[str, Discipline] = {}
    weights: dict[str, int] = defaultdict(int)
    for record in records:
        name = record["discipline"]
        if name not in groups:
            groups[name] = Discipline(name, record["category"])
        groups[name].add(record, cut)
        weights[name] += 1
    names = sorted(groups)
    rng = random.Random(seed)
    for serial in range(1, count + 1):
        name = rng.choices(names, weights=[weights[n] for n in names])[0]
        yield groups[name].make(rng, serial)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print synthetic listings as JSONL.")
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=common.CSL_FILE)
    args = parser.parse_args(argv)
    for record in synthetic(common.read_records(args.data), args.count, args.seed):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
