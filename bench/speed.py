"""Speed benchmark at 10k and 100k listings (issue 4, point 7).

    .venv/bin/python bench/speed.py [--sizes 10000 100000] [--seed 7] [--queries 200]
                                    [--gunicorn]

For each size: synthetic listings grown from the CSL records (bench/generate.py)
are published through the project's importer into a throwaway SQLite database,
then measured:

- build: SearchIndex.reindex (what `flask search reindex` runs), listings/s;
- index size on disk (the generation directory);
- search latency, title-length queries (real CSL test titles), p50/p95:
  query.search in process, and GET /api/v1/search through the app;
- match latency, abstract-length texts (real CSL test abstracts), top 10, p50/p95:
  query.match(kind="result") in process, and POST /api/v1/match through the app;
- commit to searchable: a new result committed with SEARCH_SYNC_ON_COMMIT on,
  time until query.search finds it.

"Through the app" is Flask's test client (the full request path: routing, rate
limiter switched off, visibility re-check against the database, JSON); with
--gunicorn the same requests also go over HTTP to a real gunicorn on 127.0.0.1.

The same figures are taken for SQLite FTS5 used naively: one row per listing of
plain jieba search-mode tokens, an OR of every query token, ORDER BY bm25.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import generate
from tqdm import tqdm

WARMUP = 10


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def timed(call, inputs, label: str) -> list[float]:
    """Milliseconds per call, after a few unmeasured warm-up calls."""
    for item in inputs[:WARMUP]:
        call(item)
    out = []
    for item in tqdm(inputs, desc=label, leave=False):
        start = time.perf_counter()
        call(item)
        out.append(1000 * (time.perf_counter() - start))
    return out


def p50_p95(values: list[float]) -> str:
    return f"{common.percentile(values, 50):.1f} / {common.percentile(values, 95):.1f}"


# --- ours -----------------------------------------------------------------------------


def build_ours(workdir: Path, listings: list[dict], figures: dict) -> object:
    """Import, then reindex; returns the app (its context pushed)."""
    from marketplace.extensions import db
    from marketplace.search.sync import get_index

    app = common.make_app(workdir)
    ctx = app.app_context()
    ctx.push()
    common.create_schema()
    org = common.make_institute("速度基准研究院", 1)
    start = time.perf_counter()
    with tqdm(total=len(listings), desc="import (database)", unit="row") as bar:
        common.import_records(org, listings, progress=bar.update)
    figures["import_rate"] = len(listings) / (time.perf_counter() - start)
    index = get_index()
    from marketplace.search import analysis

    analysis.words("预热")  # jieba's dictionary loads once per process, not per build
    start = time.perf_counter()
    with tqdm(total=len(listings), desc="reindex", unit="doc") as bar:
        count = index.reindex(db.session, progress=bar.update)
    seconds = time.perf_counter() - start
    assert count == len(listings), (count, len(listings))
    figures["build_seconds"] = seconds
    figures["build_rate"] = count / seconds
    figures["size"] = dir_size(index.current.resolve())
    app.bench_context = ctx
    return app


def measure_ours(app, titles, abstracts, figures: dict) -> None:
    from marketplace.search import query
    from marketplace.search.sync import get_index

    index = get_index()
    figures["search"] = timed(lambda q: query.search(index, q), titles, "search")
    figures["match"] = timed(
        lambda t: query.match(index, t, kind="result", limit=10), abstracts, "match"
    )
    client = app.test_client()

    def api_search(q):
        response = client.get("/api/v1/search", query_string={"q": q, "limit": 10})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    def api_match(text):
        response = client.post(
            "/api/v1/match", json={"text": text, "kind": "result", "limit": 10}
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    figures["api_search"] = timed(api_search, titles, "API search")
    figures["api_match"] = timed(api_match, abstracts, "API match")


def commit_to_searchable(app, rounds: int, figures: dict) -> None:
    """Commit a new result with sync on; time until search finds it."""
    from datetime import timedelta

    from marketplace.clock import utcnow
    from marketplace.extensions import db
    from marketplace.models import Organisation, Result, ResultStatus
    from marketplace.search import query
    from marketplace.search.sync import get_index

    app.config["SEARCH_SYNC_ON_COMMIT"] = True
    index = get_index()
    org = db.session.scalar(
        db.select(Organisation).where(Organisation.name == "速度基准研究院")
    )
    out = []
    for n in tqdm(range(rounds), desc="commit→searchable", leave=False):
        probe = f"probe{n}x{random.randrange(10**9)}"
        now = utcnow()
        db.session.add(
            Result(
                org_id=org.id,
                title=f"基准探针成果 {probe}",
                abstract="用于测量提交到可检索所需时间的成果。",
                keywords=[probe],
                status=ResultStatus.PUBLISHED,
                published_at=now,
                valid_until=(now + timedelta(days=365)).date(),
            )
        )
        start = time.perf_counter()
        db.session.commit()
        while True:
            page = query.search(index, probe)
            if page.hits:
                break
            if time.perf_counter() - start > 30:
                raise RuntimeError("probe not searchable after 30 s")
            time.sleep(0.005)
        out.append(1000 * (time.perf_counter() - start))
    app.config["SEARCH_SYNC_ON_COMMIT"] = False
    figures["commit"] = out


# --- gunicorn -------------------------------------------------------------------------


def measure_gunicorn(
    app, workdir: Path, titles, abstracts, figures: dict, workers: int
):
    proc, root = common.start_gunicorn(app, workdir, workers)
    base = root + "/api/v1"
    try:

        def get(q):
            url = base + "/search?" + urllib.parse.urlencode({"q": q, "limit": 10})
            with urllib.request.urlopen(  # noqa: S310 - our own http:// URL
                url, timeout=30
            ) as response:
                json.load(response)

        def post(text):
            request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1
                base + "/match",
                data=json.dumps({"text": text, "kind": "result", "limit": 10}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(  # noqa: S310 - our own http:// URL
                request, timeout=30
            ) as response:
                json.load(response)

        # Every worker loads jieba and opens its searcher on its first requests.
        for q in titles[: 4 * workers]:
            get(q)
        for t in abstracts[: 4 * workers]:
            post(t)
        figures["http_search"] = timed(get, titles, "HTTP search")
        figures["http_match"] = timed(post, abstracts, "HTTP match")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


# --- FTS5 -----------------------------------------------------------------------------


def measure_fts(workdir: Path, listings, titles, abstracts, figures: dict) -> None:
    path = workdir / "fts5.db"
    fts = common.Fts5Baseline(path)
    common.plain_tokens("预热")
    start = time.perf_counter()
    batch = []
    for n, record in enumerate(tqdm(listings, desc="FTS5 build", unit="doc")):
        batch.append((f"result:{n}", common.plain_tokens(common.record_text(record))))
        if len(batch) >= 1000:
            fts.add(batch)
            batch = []
    fts.add(batch)
    seconds = time.perf_counter() - start
    figures["build_seconds"] = seconds
    figures["build_rate"] = len(listings) / seconds
    fts.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    figures["size"] = path.stat().st_size
    figures["search"] = timed(
        lambda q: fts.top(common.plain_tokens(q), 10), titles, "FTS5 search"
    )
    figures["match"] = timed(
        lambda t: fts.top(common.plain_tokens(t), 10), abstracts, "FTS5 match"
    )
    fts.conn.close()


# --- report ---------------------------------------------------------------------------


TARGETS = {
    "build_rate": (">=", 1000.0),
    "search_p95": ("<=", 50.0),
    "match_p95": ("<=", 100.0),
    "commit_p95": ("<=", 1000.0),
}


def verdict(name: str, value: float) -> str:
    op, bound = TARGETS[name]
    ok = value >= bound if op == ">=" else value <= bound
    return "met" if ok else "MISSED"


def report(size: int, ours: dict, fts: dict) -> str:
    rows = [
        ["import into the database (listings/s)", f"{ours['import_rate']:.0f}", "—"],
        [
            "index build (listings/s)",
            f"{ours['build_rate']:.0f} ({ours['build_seconds']:.0f} s)",
            f"{fts['build_rate']:.0f} ({fts['build_seconds']:.0f} s)",
        ],
        ["index size", mib(ours["size"]), mib(fts["size"])],
        [
            "search, in process p50 / p95 (ms)",
            p50_p95(ours["search"]),
            p50_p95(fts["search"]),
        ],
        ["search, API test client p50 / p95 (ms)", p50_p95(ours["api_search"]), "—"],
    ]
    if "http_search" in ours:
        rows.append(
            ["search, HTTP gunicorn p50 / p95 (ms)", p50_p95(ours["http_search"]), "—"]
        )
    rows += [
        [
            "match, in process p50 / p95 (ms)",
            p50_p95(ours["match"]),
            p50_p95(fts["match"]),
        ],
        ["match, API test client p50 / p95 (ms)", p50_p95(ours["api_match"]), "—"],
    ]
    if "http_match" in ours:
        rows.append(
            ["match, HTTP gunicorn p50 / p95 (ms)", p50_p95(ours["http_match"]), "—"]
        )
    rows.append(["commit → searchable p50 / p95 (ms)", p50_p95(ours["commit"]), "—"])
    lines = [
        f"### {size:,} listings",
        "",
        common.table(["", "ours", "SQLite FTS5 (naive)"], rows),
    ]
    checks = {
        "build_rate": ours["build_rate"],
        "search_p95": common.percentile(ours["search"], 95),
        "match_p95": common.percentile(ours["match"], 95),
        "commit_p95": common.percentile(ours["commit"], 95),
    }
    lines.append("")
    for name, value in checks.items():
        op, bound = TARGETS[name]
        lines.append(
            f"- {name}: {value:.1f} (target {op} {bound:g}): {verdict(name, value)}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7, help="the synthetic listings")
    parser.add_argument("--queries", type=int, default=200, help="per latency figure")
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--gunicorn", action="store_true", help="also over HTTP")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--no-fts", action="store_true")
    parser.add_argument("--workdir", help="keep databases and indexes here")
    args = parser.parse_args(argv)

    records = common.read_records()
    rng = random.Random(args.seed)
    tests = [r for r in records if r["split"] == "test"]
    titles = [r["title"] for r in rng.sample(tests, min(args.queries, len(tests)))]
    abstracts = [
        r["abstract"] for r in rng.sample(tests, min(args.queries, len(tests)))
    ]
    tmp = tempfile.TemporaryDirectory(prefix="bench-speed-")
    root = Path(args.workdir or tmp.name)
    print(
        f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}",
        file=sys.stderr,
    )
    outputs = []
    for size in args.sizes:
        workdir = root / f"n{size}"
        workdir.mkdir(parents=True, exist_ok=True)
        listings = list(
            tqdm(
                generate.synthetic(records, size, args.seed),
                total=size,
                desc=f"generate {size:,}",
                leave=False,
            )
        )
        ours: dict = {}
        app = build_ours(workdir, listings, ours)
        measure_ours(app, titles, abstracts, ours)
        commit_to_searchable(app, args.commits, ours)
        if args.gunicorn:
            measure_gunicorn(app, workdir, titles, abstracts, ours, args.workers)
        app.bench_context.pop()
        from marketplace.search import query

        query.forget_searchers()
        fts: dict = {
            "build_rate": float("nan"),
            "build_seconds": float("nan"),
            "size": 0,
            "search": [],
            "match": [],
        }
        if not args.no_fts:
            measure_fts(workdir, listings, titles, abstracts, fts)
        text = report(size, ours, fts)
        outputs.append(text)
        print(text, flush=True)
        print(flush=True)
    if not args.workdir:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
