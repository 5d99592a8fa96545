"""Pool the enterprise demands for judging: every system's top 20, not yet judged.

    .venv/bin/python bench/pool.py                   # → bench/demands/pool.jsonl
    .venv/bin/python bench/pool.py --demands DIR --out FILE --depth 20

For every demand, the first `--depth` records of each system (the project's
query.match, rank_bm25, SQLite FTS5, as bench/relevance.py runs them) are pooled;
the (demand, record) pairs that judgments.jsonl does not grade yet are written
out, one JSON object a line, with the record's title, keywords, abstract and
discipline. A pair is in tier "top10" when any system ranks it in its first 10
(the issue requires those judged), else "top20". The file never says which system
found a record or at what rank: judges grade the record against the demand only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import demands_eval


def pool(systems, demands, judgments, depth: int) -> list[tuple[str, str, str]]:
    """(demand id, tier, CSL id) of every unjudged pooled pair, demand by demand."""
    out = []
    for demand in demands:
        tiers: dict[str, str] = {}
        for system in systems:
            for rank, key in enumerate(system.top(demand["text"], depth)):
                if rank < demands_eval.K or key not in tiers:
                    tiers[key] = "top10" if rank < demands_eval.K else "top20"
        judged = judgments.get(demand["id"], {})
        pending = sorted(
            (tier, key) for key, tier in tiers.items() if key not in judged
        )
        out += [(demand["id"], tier, key) for tier, key in pending]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demands", type=Path, default=demands_eval.DEMANDS_DIR)
    parser.add_argument("--out", type=Path, help="default: DEMANDS/pool.jsonl")
    parser.add_argument("--depth", type=int, default=20, help="per system")
    parser.add_argument("--data", type=Path, default=common.CSL_FILE)
    args = parser.parse_args(argv)
    out = args.out or args.demands / "pool.jsonl"

    demands = demands_eval.load_demands(args.demands)
    judgments = demands_eval.load_judgments(args.demands)
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as workdir:
        corpus = demands_eval.build_corpus(
            Path(workdir), common.read_records(args.data)
        )
        systems = demands_eval.systems_for(corpus, Path(workdir))
        pairs = pool(systems, demands, judgments, args.depth)
        corpus.ctx.pop()
    with out.open("w", encoding="utf-8") as handle:
        for demand_id, tier, key in pairs:
            record = corpus.by_id[key]
            row = {
                "demand": demand_id,
                "record": key,
                "tier": tier,
                "title": record["title"],
                "keywords": record.get("keywords") or [],
                "discipline": record.get("discipline", ""),
                "abstract": record.get("abstract", ""),
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    top10 = sum(1 for _, tier, _ in pairs if tier == "top10")
    print(
        f"{len(pairs)} unjudged pairs ({top10} in some system's top 10) "
        f"for {len(demands)} demands → {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
