"""Shared pieces of the benchmarks: a throwaway app, the catalogue, the baselines.

Nothing here touches the project's own database or index: every run builds an app
on a SQLite file and an index directory inside a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import unicodedata
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CSL_FILE = ROOT / "marketplace" / "data" / "csl" / "csl_2k.jsonl"
REGION = "411702"  # 驿城区, a region the reference data always has
IMPORT_BATCH = 5_000


def read_records(path: Path = CSL_FILE) -> list[dict]:
    """The CSL records in file order."""
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- the app -----------------------------------------------------------------------


def make_app(workdir: Path, sync_on_commit: bool = False, **extra):
    """An app on a SQLite database and an index directory under `workdir`."""
    workdir = Path(workdir)
    os.environ["MARKETPLACE_ENV"] = "testing"
    # jieba's cache and the secret key go into this instance folder.
    os.environ["MARKETPLACE_INSTANCE"] = str(workdir / "instance")
    from marketplace import create_app

    config = {
        "TESTING": True,
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
        "SEARCH_INDEX_DIR": str(workdir / "search_index"),
        "SEARCH_SYNC_ON_COMMIT": sync_on_commit,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(workdir / "uploads"),
    }
    config.update(extra)
    return create_app(config)


def create_schema() -> None:
    """Tables and reference data (inside an app context)."""
    from marketplace.extensions import db
    from marketplace.reference import load_reference_data

    db.create_all()
    load_reference_data()
    db.session.commit()


def make_institute(name: str, serial: int):
    """A verified research institute that may publish results."""
    from marketplace.auth.services import create_organisation
    from marketplace.creditcode import make_credit_code
    from marketplace.extensions import db
    from marketplace.models import OrgKind

    org = create_organisation(
        name=name,
        kind=OrgKind.INSTITUTE,
        region_code=REGION,
        credit_code=make_credit_code(REGION, 800_000_000 + serial),
        verified=True,
    )
    db.session.commit()
    return org


def field_code(record: dict) -> str:
    """The technology field of a CSL record, as the demo catalogue assigns it."""
    from marketplace.reference import field_code_for

    return field_code_for(record)


def import_records(
    org, records: Sequence[dict], progress: Callable[[int], object] | None = None
) -> list[int]:
    """Publish records as results through the project's importer; returns the ids.

    This is the same path as `flask import-listings` and `flask seed-demo`
    (marketplace.listings.importing.import_rows): rows are checked, inserted in
    batches and an outbox row is written for each in the same transaction.
    """
    from marketplace.extensions import db
    from marketplace.listings.importing import RawRow, import_rows

    ids: list[int] = []
    for start in range(0, len(records), IMPORT_BATCH):
        chunk = records[start : start + IMPORT_BATCH]
        rows = [
            RawRow(
                start + n + 1,
                {
                    "external_id": record["id"],
                    "title": record["title"][:200],
                    "description": record.get("abstract", ""),
                    "keywords": list(record.get("keywords") or [])[:30],
                    "discipline": record.get("discipline", "")[:60],
                    "field": field_code(record),
                },
            )
            for n, record in enumerate(chunk)
        ]
        report = import_rows(org, "result", rows, source="bench", progress=progress)
        db.session.commit()
        ids.extend(report.ids)
    return ids


# --- baselines ---------------------------------------------------------------------

_baseline_jieba = None


def _plain_jieba():
    """A jieba tokenizer of its own, so our user dictionary never reaches it."""
    global _baseline_jieba
    if _baseline_jieba is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        _baseline_jieba = jieba.Tokenizer()
        _baseline_jieba.initialize()
    return _baseline_jieba


def _is_word(text: str) -> bool:
    return any(unicodedata.category(c)[0] in {"L", "N"} for c in text)


def plain_tokens(text: str) -> list[str]:
    """jieba search-mode tokens, lower-cased; only whitespace/punctuation dropped."""
    out = []
    for word in _plain_jieba().cut_for_search(text or ""):
        word = word.strip().lower()
        if word and _is_word(word):
            out.append(word)
    return out


def record_text(record: dict) -> str:
    """Title + keywords + abstract: what both baselines index."""
    return "\n".join(
        [record["title"], " ".join(record.get("keywords") or []), record["abstract"]]
    )


class Bm25Baseline:
    """rank_bm25.BM25Okapi over jieba search-mode tokens."""

    name = "BM25 (rank_bm25)"

    def __init__(self, keys: Sequence[str], token_lists: Sequence[list[str]]):
        from rank_bm25 import BM25Okapi

        self.keys = list(keys)
        self.bm25 = BM25Okapi(list(token_lists))

    def top(self, tokens: list[str], k: int = 10, exclude: str | None = None):
        """The keys of the k best documents."""
        import numpy as np

        if not tokens:
            return []
        scores = self.bm25.get_scores(tokens)
        order = np.argsort(-scores, kind="stable")[: k + 1]
        keys = [self.keys[i] for i in order if scores[i] > 0]
        return [key for key in keys if key != exclude][:k]


_FTS_SAFE = re.compile(r'"')


def fts_query(tokens: Iterable[str]) -> str:
    """An OR of the distinct tokens, each quoted (a phrase if FTS5 splits it)."""
    seen = dict.fromkeys(t for t in tokens if t)
    return " OR ".join('"' + _FTS_SAFE.sub('""', t) + '"' for t in seen)


class Fts5Baseline:
    """SQLite FTS5 over the same space-joined tokens, an OR query, ORDER BY bm25."""

    name = "SQLite FTS5"

    def __init__(self, path: str | Path = ":memory:"):
        self.conn = sqlite3.connect(str(path), check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(key UNINDEXED, body)"
        )

    def add(self, rows: Iterable[tuple[str, list[str]]]) -> None:
        """Insert (key, tokens) rows and commit."""
        self.conn.executemany(
            "INSERT INTO docs(key, body) VALUES (?, ?)",
            ((key, " ".join(tokens)) for key, tokens in rows),
        )
        self.conn.commit()

    def top(self, tokens: list[str], k: int = 10, exclude: str | None = None):
        """The keys of the k best documents (bm25() is lower for better)."""
        query = fts_query(tokens)
        if not query:
            return []
        rows = self.conn.execute(
            "SELECT key FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
            (query, k + 1),
        ).fetchall()
        return [key for (key,) in rows if key != exclude][:k]

    def size_bytes(self) -> int:
        """Pages used by the database."""
        count = self.conn.execute("PRAGMA page_count").fetchone()[0]
        size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return count * size


# --- reporting -----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation."""
    if not values:
        return float("nan")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)
    ]
    line = (
        "| "
        + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
        + " |"
    )
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in rows
    ]
    return "\n".join([line, rule, *body])


class Timer:
    """A context manager that remembers how long its block took."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


# --- gunicorn ------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(app, workdir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    """gunicorn on the benchmark's database and index; waits until it answers."""
    port = free_port()
    # Served as in production (no testing shortcuts), over the benchmark's files.
    env = dict(
        os.environ,
        MARKETPLACE_ENV="production",
        MARKETPLACE_INSTANCE=str(workdir / "instance"),
        SECRET_KEY="bench",  # noqa: S106 - a throwaway app on 127.0.0.1
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SEARCH_INDEX_DIR=app.config["SEARCH_INDEX_DIR"],
        RATELIMIT_ENABLED="0",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-w", str(workers), "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()  # noqa: S310
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")
