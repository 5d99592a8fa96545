"""The enterprise-demand benchmark (issue 12, point 8): corpus, systems, figures.

Demands are written in an enterprise's own words (bench/demands/demands.jsonl) and
graded by hand against CSL records (bench/demands/judgments.jsonl, 0–3). The corpus
is the technology records of the 2,000 CSL records, published as results through
the project's importer and indexed with SearchIndex.reindex. Every judgment is
keyed by the CSL record id (csl-dev-0123), never by a database id.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

DEMANDS_DIR = Path(__file__).resolve().parent / "demands"
DISCIPLINES_FILE = common.ROOT / "marketplace" / "data" / "csl_disciplines.json"
FORMS = ("title", "paragraph", "challenge")
K = 10
P_AT = 5
RELEVANT = 2  # P@5 counts grade ≥ 2


# --- data ------------------------------------------------------------------------


def technology_records(records: Sequence[dict]) -> list[dict]:
    """The records whose discipline is technology a firm could adopt."""
    data = json.loads(DISCIPLINES_FILE.read_text(encoding="utf-8"))
    tech = {d["discipline"] for d in data["disciplines"] if d.get("technology")}
    return [r for r in records if r.get("discipline") in tech]


def read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a file, one a line; [] when the file is missing."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_demands(folder: Path) -> list[dict]:
    """The demands of a folder, checked for the fields every demand needs."""
    demands = read_jsonl(Path(folder) / "demands.jsonl")
    for demand in demands:
        missing = {"id", "industry", "form", "text"} - set(demand)
        if missing or demand["form"] not in FORMS:
            raise ValueError(f"demand {demand.get('id')}: bad fields {missing}")
    return demands


def load_judgments(folder: Path) -> dict[str, dict[str, int]]:
    """{demand id: {CSL record id: grade}}; a later line overrides an earlier one."""
    out: dict[str, dict[str, int]] = {}
    for row in read_jsonl(Path(folder) / "judgments.jsonl"):
        grade = int(row["grade"])
        if not 0 <= grade <= 3:
            raise ValueError(f"grade out of range: {row}")
        out.setdefault(row["demand"], {})[row["record"]] = grade
    return out


# --- the corpus ------------------------------------------------------------------


@dataclass
class Corpus:
    """The technology records, imported and indexed, with id maps both ways."""

    records: list[dict]
    index: object
    csl_of: dict[str, str]  # "result:17" → "csl-dev-0123"
    by_id: dict[str, dict]
    ctx: object  # the app context build_corpus pushed; pop it when done


def build_corpus(workdir: Path, records: Sequence[dict]) -> Corpus:
    """Import the technology records as results and index them (app context stays)."""
    from marketplace.extensions import db
    from marketplace.models import Result
    from marketplace.search.index import SearchIndex

    tech = technology_records(records)
    app = common.make_app(workdir)
    ctx = app.app_context()
    ctx.push()
    common.create_schema()
    org = common.make_institute("基准测试研究院（企业需求）", 3)
    common.import_records(org, tech)
    rows = db.session.execute(db.select(Result.external_id, Result.id)).all()
    index = SearchIndex(Path(workdir) / "index_tech")
    index.reindex(db.session)
    print(f"corpus: {len(rows)} technology records indexed", file=sys.stderr)
    return Corpus(
        records=tech,
        index=index,
        csl_of={f"result:{rid}": ext for ext, rid in rows},
        by_id={r["id"]: r for r in tech},
        ctx=ctx,
    )


# --- the systems -----------------------------------------------------------------


class Project:
    """marketplace.search.query.match(kind="result"): the problem box's call."""

    name = "project (query.match)"

    def __init__(self, corpus: Corpus):
        self.corpus = corpus

    def top(self, text: str, k: int = K) -> list[str]:
        """CSL ids of the first k results the engine gives for the text."""
        from marketplace.search.query import match

        answer = match(self.corpus.index, text, kind="result", limit=k)
        # Today match() answers (hits, terms); take the hits whatever else it adds.
        hits = answer[0] if isinstance(answer, tuple) else answer
        hits = getattr(hits, "hits", hits)
        keys = (f"{h.kind}:{h.doc_id}" for h in hits)
        return [self.corpus.csl_of[key] for key in keys if key in self.corpus.csl_of]


class PlainBaseline:
    """A baseline of bench/common.py over plain jieba tokens of the same corpus."""

    def __init__(self, cls, corpus: Corpus, workdir: Path):
        self.name = cls.name
        tokens = {
            r["id"]: common.plain_tokens(common.record_text(r)) for r in corpus.records
        }
        if cls is common.Bm25Baseline:
            self.engine = cls(list(tokens), list(tokens.values()))
        else:
            self.engine = cls(Path(workdir) / "fts_tech.db")
            self.engine.add(tokens.items())

    def top(self, text: str, k: int = K) -> list[str]:
        """CSL ids of the k best records."""
        return self.engine.top(common.plain_tokens(text), k)


def systems_for(corpus: Corpus, workdir: Path) -> list:
    """The project and both baselines, over the same corpus."""
    return [
        Project(corpus),
        PlainBaseline(common.Bm25Baseline, corpus, workdir),
        PlainBaseline(common.Fts5Baseline, corpus, workdir),
    ]


# --- figures ---------------------------------------------------------------------

GAINS = {"exp": lambda g: 2**g - 1, "lin": lambda g: g}


def dcg(grades: Sequence[int], gain: str) -> float:
    """Discounted cumulative gain of the first K grades."""
    f = GAINS[gain]
    return sum(f(g) / math.log2(i + 2) for i, g in enumerate(grades[:K]))


@dataclass
class DemandScores:
    """One system's figures on one demand."""

    ndcg: dict[str, float]
    p5: float
    unjudged: int
    returned: int
    judged_any: bool


def score_demand(ranked: Sequence[str], judged: dict[str, int]) -> DemandScores:
    """nDCG@10 (both gains; ideal over every judged record) and P@5 (grade ≥ 2)."""
    got = [judged.get(key, 0) for key in ranked[:K]]
    ideal = sorted(judged.values(), reverse=True)
    ndcg = {}
    for gain in GAINS:
        best = dcg(ideal, gain)
        ndcg[gain] = dcg(got, gain) / best if best else 0.0
    p5 = sum(1 for g in got[:P_AT] if g >= RELEVANT) / P_AT
    unjudged = sum(1 for key in ranked[:K] if key not in judged)
    judged_any = any(v > 0 for v in judged.values())
    return DemandScores(ndcg, p5, unjudged, len(ranked[:K]), judged_any)


@dataclass
class SystemRun:
    """A system's scores on every demand, by demand id."""

    name: str
    scores: dict[str, DemandScores] = field(default_factory=dict)

    def mean(self, ids: Sequence[str], metric: str) -> float:
        values = [self._value(self.scores[i], metric) for i in ids]
        return sum(values) / len(values) if values else float("nan")

    @staticmethod
    def _value(s: DemandScores, metric: str) -> float:
        return s.p5 if metric == "p5" else s.ndcg[metric]


def run_demands(systems, demands, judgments) -> list[SystemRun]:
    """Every system on every demand."""
    runs = []
    for system in systems:
        run = SystemRun(system.name)
        for demand in demands:
            ranked = system.top(demand["text"], K)
            run.scores[demand["id"]] = score_demand(
                ranked, judgments.get(demand["id"], {})
            )
        runs.append(run)
    return runs


METRICS = (("exp", "nDCG@10 exp"), ("lin", "nDCG@10 lin"), ("p5", "P@5 (≥2)"))


def report(runs: list[SystemRun], demands: list[dict], folder: Path) -> str:
    """The demand tables: every system overall and per form, ratios, unjudged."""
    groups = [("all", [d["id"] for d in demands])]
    for form in FORMS:
        ids = [d["id"] for d in demands if d["form"] == form]
        if ids:
            groups.append((form, ids))
    lines = [
        f"Enterprise demands: {folder} — {len(demands)} demands "
        + ", ".join(f"{name} {len(ids)}" for name, ids in groups[1:])
    ]
    headers = ["demands", "system", *(label for _, label in METRICS)]
    rows = []
    project, baselines = runs[0], runs[1:]
    for g, ids in groups:
        for run in runs:
            rows.append(
                [f"{g} ({len(ids)})", run.name]
                + [f"{run.mean(ids, m):.4f}" for m, _ in METRICS]
            )
        if baselines:
            ratios = []
            for m, _ in METRICS:
                best = max(b.mean(ids, m) for b in baselines)
                mine = project.mean(ids, m)
                ratios.append(f"{mine / best:.3f}×" if best else "n/a")
            rows.append([f"{g} ({len(ids)})", "project / better baseline", *ratios])
    lines.append(common.table(headers, rows))
    lines.append("")
    for run in runs:
        unjudged = sum(s.unjudged for s in run.scores.values())
        shown = sum(s.returned for s in run.scores.values())
        lines.append(
            f"unjudged in top {K} of {run.name}: {unjudged} of {shown} "
            f"({100 * unjudged / shown if shown else 0:.1f}%; counted as grade 0)"
        )
    empty = [i for i in groups[0][1] if not project.scores[i].judged_any]
    if empty:
        listed = ", ".join(empty) if len(empty) <= 20 else f"{', '.join(empty[:20])}…"
        lines.append(f"{len(empty)} demands with no record judged ≥ 1: {listed}")
    if baselines:
        lines.append("")
        targets = (
            ("exp", "nDCG@10 exp", 1.25),
            ("lin", "nDCG@10 lin", 1.25),
            ("p5", "P@5", 1.5),
        )
        for m, label, target in targets:
            best = max(b.mean(groups[0][1], m) for b in baselines)
            mine = project.mean(groups[0][1], m)
            if not best:
                lines.append(f"{label}: the baselines score 0, no ratio")
                continue
            verdict = "met" if mine / best >= target else "MISSED"
            lines.append(
                f"{label}: project {mine:.4f} vs better baseline {best:.4f} = "
                f"{mine / best:.3f}× (target ≥ {target}×: {verdict})"
            )
    return "\n".join(lines)
