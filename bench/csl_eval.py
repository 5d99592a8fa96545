"""The CSL title/abstract tasks of bench/relevance.py (issue 4, point 6).

(a) known item: two of a record's keywords → that record; MRR@10 over all 2,000.
(b) a title as a demand → results; nDCG@10 (same discipline 2, same category 1,
    else 0; log2 discount, ideal ranking over the whole collection) and P@10
    (relevant = grade ≥ 1), with linear and exponential gain.
(c) the same with an abstract as a long demand text.

The project is run twice on (b)/(c): as configured, and with the discipline
re-ranking off (TUNING.prf_weight = field_weight = 0), the text-only figures.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from tqdm import tqdm

K = 10


@dataclass
class Scores:
    """Per-query figures of one system on one task."""

    values: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def mean(self, name: str) -> float:
        data = self.values.get(name) or []
        return sum(data) / len(data) if data else float("nan")


def grade(query: dict, doc: dict) -> int:
    """Graded relevance: same discipline 2, same category 1, else 0."""
    if query["discipline"] and query["discipline"] == doc["discipline"]:
        return 2
    if query["category"] and query["category"] == doc["category"]:
        return 1
    return 0


GAIN = {"exp": lambda g: 2**g - 1, "linear": lambda g: g}


def dcg(grades: list[int], gain: str = "exp") -> float:
    """Discounted cumulative gain of the first K grades."""
    f = GAIN[gain]
    return sum(f(g) / math.log2(i + 2) for i, g in enumerate(grades[:K]))


def judge(query: dict, ranked: list[dict], pool: list[dict], scores: Scores) -> None:
    """nDCG@10 and P@10 of one ranking against every record of the pool."""
    got = [grade(query, doc) for doc in ranked[:K]]
    ideal = sorted(
        (grade(query, doc) for doc in pool if doc["id"] != query["id"]), reverse=True
    )
    for gain in GAIN:
        best = dcg(ideal, gain)
        name = "ndcg" if gain == "exp" else f"ndcg_{gain}"
        scores.add(name, dcg(got, gain) / best if best else 0.0)
    scores.add("p", sum(1 for g in got if g >= 1) / K)


def reciprocal_rank(target: str, ranked: list[str]) -> float:
    for rank, key in enumerate(ranked[:K], start=1):
        if key == target:
            return 1.0 / rank
    return 0.0


# --- building ----------------------------------------------------------------------


def build(workdir: Path, records: list[dict]):
    """Import every record, then index all of them and the dev split alone."""
    from sqlalchemy import update

    from marketplace.extensions import db
    from marketplace.models import Result, ResultStatus
    from marketplace.search.index import SearchIndex

    app = common.make_app(workdir)
    ctx = app.app_context()
    ctx.push()
    common.create_schema()
    dev_org = common.make_institute("基准测试研究院（dev）", 1)
    test_org = common.make_institute("基准测试研究院（test）", 2)
    by_split = {"dev": [], "test": []}
    for record in records:
        by_split[record["split"]].append(record)
    started = time.perf_counter()
    with tqdm(total=len(records), desc="import", unit="row", leave=False) as bar:
        common.import_records(dev_org, by_split["dev"], progress=bar.update)
        common.import_records(test_org, by_split["test"], progress=bar.update)
    rows = db.session.execute(db.select(Result.external_id, Result.id)).all()
    key_of = {ext: f"result:{rid}" for ext, rid in rows}
    print(
        f"imported {len(rows)} results through importing.import_rows "
        f"in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    full = SearchIndex(workdir / "index_all")
    full.reindex(db.session)
    # The dev-only index: the test split withdrawn, then a fresh rebuild.
    db.session.execute(
        update(Result)
        .where(Result.org_id == test_org.id)
        .values(status=ResultStatus.WITHDRAWN)
    )
    db.session.commit()
    dev = SearchIndex(workdir / "index_dev")
    dev.reindex(db.session)
    return app, ctx, full, dev, key_of


# --- the systems -------------------------------------------------------------------


class Ours:
    """marketplace.search.query: search() for (a), match(kind="result") for (b)/(c)."""

    name = "ours (jieba + Whoosh)"

    def __init__(self, full, dev, key_of):
        self.full, self.dev, self.key_of = full, dev, key_of

    def known_item(self, text: str) -> list[str]:
        from marketplace.search.query import search

        page = search(self.full, text, per_page=K)
        return [f"{h.kind}:{h.doc_id}" for h in page.hits]

    def demand(self, text: str, exclude: str | None) -> list[str]:
        from marketplace.search.query import match

        hits, _ = match(self.dev, text, kind="result", limit=K, exclude_key=exclude)
        return [f"{h.kind}:{h.doc_id}" for h in hits]


class Baseline:
    """A baseline over the plain tokens of title + keywords + abstract."""

    def __init__(self, cls, records, pool, key_of, workdir: Path):
        self.name = cls.name
        self.key_of = key_of
        self.tokens = {
            r["id"]: common.plain_tokens(common.record_text(r)) for r in records
        }
        keys_all = [key_of[r["id"]] for r in records]
        keys_dev = [key_of[r["id"]] for r in pool]
        if cls is common.Bm25Baseline:
            self.full = cls(keys_all, [self.tokens[r["id"]] for r in records])
            self.dev = cls(keys_dev, [self.tokens[r["id"]] for r in pool])
        else:
            self.full = cls(workdir / "fts_all.db")
            self.full.add((key_of[r["id"]], self.tokens[r["id"]]) for r in records)
            self.dev = cls(workdir / "fts_dev.db")
            self.dev.add((key_of[r["id"]], self.tokens[r["id"]]) for r in pool)

    def known_item(self, text: str) -> list[str]:
        return self.full.top(common.plain_tokens(text), K)

    def demand(self, text: str, exclude: str | None) -> list[str]:
        return self.dev.top(common.plain_tokens(text), K, exclude=exclude)


# --- running -----------------------------------------------------------------------


def known_item_queries(records: list[dict], count: int, seed: int):
    """(record, "kw1 kw2") pairs drawn with the seed."""
    rng = random.Random(seed)
    eligible = [r for r in records if len(r.get("keywords") or []) >= 2]
    chosen = rng.sample(eligible, min(count, len(eligible)))
    return [(r, " ".join(rng.sample(r["keywords"], 2))) for r in chosen]


TEXT_ONLY = {"prf_weight": 0.0, "field_weight": 0.0, "thesaurus_field_weight": 0.0}


class tuning_set:
    """Set fields of query.TUNING for a block, then put the old values back.

    Fields the engine no longer has are skipped and listed in `missing`, so a
    renamed parameter shows in the report instead of stopping the run.
    """

    def __init__(self, values: dict[str, float]):
        self.values = values
        self.saved: dict[str, object] = {}
        self.missing: list[str] = []

    def __enter__(self):
        from marketplace.search import query

        for name, value in self.values.items():
            if hasattr(query.TUNING, name):
                current = getattr(query.TUNING, name)
                self.saved[name] = current
                setattr(query.TUNING, name, type(current)(value))
            else:
                self.missing.append(name)
        return self

    def __exit__(self, *exc):
        from marketplace.search import query

        for name, value in self.saved.items():
            setattr(query.TUNING, name, value)


def _demand_task(system, task, queries, key_of, record_of, dev_pool, split):
    part = "title" if task == "b" else "abstract"
    scores = Scores()
    t0 = time.perf_counter()
    for query in tqdm(queries, desc=f"{system.name} ({task})", leave=False):
        exclude = key_of[query["id"]] if split == "dev" else None
        ranked = system.demand(query[part], exclude)
        judge(query, [record_of[k] for k in ranked], dev_pool, scores)
    scores.seconds = time.perf_counter() - t0
    return scores


def run(args, workdir: Path) -> list[str]:
    """The CSL tasks for the project (as configured and text only) and baselines."""
    records = common.read_records(args.data)
    by_id = {r["id"]: r for r in records}
    dev_pool = [r for r in records if r["split"] == "dev"]
    queries = [r for r in records if r["split"] == args.split]
    rng = random.Random(args.seed + 1)
    if args.queries and args.queries < len(queries):
        queries = rng.sample(queries, args.queries)
    items = known_item_queries(records, args.known_items, args.seed)

    started = time.perf_counter()
    _app, ctx, full, dev, key_of = build(workdir, records)
    print(
        f"built both indexes in {time.perf_counter() - started:.1f}s", file=sys.stderr
    )
    record_of = {key: by_id[ext] for ext, key in key_of.items()}
    ours = Ours(full, dev, key_of)
    systems = [ours]
    if not args.no_baselines:
        for cls in (common.Bm25Baseline, common.Fts5Baseline):
            systems.append(Baseline(cls, records, dev_pool, key_of, workdir))

    task_args = (queries, key_of, record_of, dev_pool, args.split)
    results: dict[tuple[str, str], Scores] = {}
    for system in systems:
        scores = results[(system.name, "a")] = Scores()
        t0 = time.perf_counter()
        for record, text in tqdm(items, desc=f"{system.name} (a)", leave=False):
            ranked = system.known_item(text)
            scores.add("mrr", reciprocal_rank(key_of[record["id"]], ranked))
        scores.seconds = time.perf_counter() - t0
        for task in ("b", "c"):
            results[(system.name, task)] = _demand_task(system, task, *task_args)
    text_only = f"{ours.name}, no discipline re-ranking"
    with tuning_set(TEXT_ONLY) as setting:
        for task in ("b", "c"):
            results[(text_only, task)] = _demand_task(ours, task, *task_args)
    ctx.pop()

    from dataclasses import asdict

    from marketplace.search import query

    out = [
        f"CSL tasks: split={args.split} seed={args.seed} known-item queries="
        f"{len(items)} demand queries={len(queries)} (against {len(dev_pool)} dev "
        "records)",
        "tuning: " + ", ".join(f"{k}={v}" for k, v in asdict(query.TUNING).items()),
        f"text only = the project with {', '.join(f'{k}=0' for k in setting.saved)}"
        + (f" (TUNING has no {', '.join(setting.missing)})" if setting.missing else ""),
    ]
    rows = []
    for name in [ours.name, text_only, *(s.name for s in systems[1:])]:
        a = results.get((name, "a"))
        b, c = results[(name, "b")], results[(name, "c")]
        rows.append(
            [
                name,
                f"{a.mean('mrr'):.4f}" if a else "",
                *(
                    f"{t.mean(m):.4f}"
                    for t in (b, c)
                    for m in ("ndcg_linear", "ndcg", "p")
                ),
            ]
        )
    out.append(
        common.table(
            [
                "system",
                "(a) MRR@10",
                "(b) nDCG@10 lin",
                "(b) nDCG@10 exp",
                "(b) P@10",
                "(c) nDCG@10 lin",
                "(c) nDCG@10 exp",
                "(c) P@10",
            ],
            rows,
        )
    )
    if not args.no_baselines:
        out.append("")
        for name in (ours.name, text_only):
            for task in ("b", "c"):
                for metric, label in (("ndcg_linear", "lin"), ("ndcg", "exp")):
                    best = max(
                        results[(s.name, task)].mean(metric) for s in systems[1:]
                    )
                    mine = results[(name, task)].mean(metric)
                    out.append(
                        f"{name}: ({task}) nDCG@10 {label} {mine:.4f} vs better "
                        f"baseline {best:.4f}: {100 * (mine / best - 1):+.1f}%"
                    )
        mrr = results[(ours.name, "a")].mean("mrr")
        out.append(f"(a) MRR@10 {mrr:.4f} (target ≥ 0.98)")
    return out
