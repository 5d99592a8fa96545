"""Relevance benchmark: enterprise demands and the 2,000 CSL records (issues 4, 12).

    .venv/bin/python bench/relevance.py                  # both: the figures to report
    .venv/bin/python bench/relevance.py --only demands   # enterprise demands only
    .venv/bin/python bench/relevance.py --only csl --split dev
    .venv/bin/python bench/relevance.py --demands path/to/held_out

Enterprise demands (bench/demands_eval.py): demands written in a firm's own words,
graded 0–3 by hand against the technology records of the CSL set, which are
published as results through the project's importer and indexed with
SearchIndex.reindex. nDCG@10 (exponential and linear gain, ideal ranking over
every judged record of the demand) and P@5 (grade ≥ 2), overall and per form,
for the project (query.match(kind="result"), the problem box's call), rank_bm25
and SQLite FTS5; unjudged records count as 0 and are counted.

CSL tasks (bench/csl_eval.py): known item, title and abstract as demands, graded
by discipline; the project is run as configured and without the discipline
re-ranking.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import csl_eval
import demands_eval


def run_demands(args, workdir: Path) -> list[str]:
    """The enterprise-demand figures, as lines."""
    demands = demands_eval.load_demands(args.demands)
    if not demands:
        return [f"no demands in {args.demands}"]
    judgments = demands_eval.load_judgments(args.demands)
    started = time.perf_counter()
    corpus = demands_eval.build_corpus(workdir, common.read_records(args.data))
    systems = demands_eval.systems_for(corpus, workdir)
    runs = demands_eval.run_demands(systems, demands, judgments)
    corpus.ctx.pop()
    print(f"demands: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    judged = sum(len(v) for v in judgments.values())
    return [
        f"{len(corpus.records)} technology records; {judged} judgments",
        demands_eval.report(runs, demands, args.demands),
    ]


def run(args) -> int:
    tmp = tempfile.TemporaryDirectory(prefix="bench-relevance-")
    workdir = Path(args.workdir or tmp.name)
    out: list[str] = []
    # Demands first: jieba only ever gains words, so the demand index is cut with
    # its own generation's dictionary and not the whole CSL set's.
    if args.only in (None, "demands"):
        (workdir / "demands").mkdir(parents=True, exist_ok=True)
        out += run_demands(args, workdir / "demands")
        out.append("")
    if args.only in (None, "csl"):
        (workdir / "csl").mkdir(parents=True, exist_ok=True)
        out += csl_eval.run(args, workdir / "csl")
    print()
    print("\n".join(out))
    if not args.workdir:
        tmp.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("demands", "csl"), help="one part only")
    parser.add_argument(
        "--demands",
        type=Path,
        default=demands_eval.DEMANDS_DIR,
        metavar="DIR",
        help="a folder with demands.jsonl and judgments.jsonl (default bench/demands)",
    )
    parser.add_argument("--seed", type=int, default=4, help="draws the CSL queries")
    parser.add_argument("--known-items", type=int, default=500, metavar="N")
    parser.add_argument(
        "--queries",
        type=int,
        default=0,
        metavar="N",
        help="CSL demand queries to sample for (b)/(c); 0 = every record of the split",
    )
    parser.add_argument(
        "--split",
        choices=("test", "dev"),
        default="test",
        help="CSL tasks — test: report; dev: tune (dev queries, own record left out)",
    )
    parser.add_argument("--data", type=Path, default=common.CSL_FILE)
    parser.add_argument("--workdir", help="keep the databases and indexes here")
    parser.add_argument(
        "--no-baselines", action="store_true", help="CSL tasks: the project only"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a ranking parameter of marketplace.search.query.TUNING "
        "(e.g. --set prf_weight=0 for text-only ranking); repeatable",
    )
    args = parser.parse_args(argv)
    apply_settings(args.set)
    return run(args)


def apply_settings(settings: list[str]) -> None:
    """Set fields of query.TUNING from NAME=VALUE strings."""
    from marketplace.search import query

    for setting in settings:
        name, _, value = setting.partition("=")
        current = getattr(query.TUNING, name)  # AttributeError names a typo
        setattr(query.TUNING, name, type(current)(value))


if __name__ == "__main__":
    sys.exit(main())
