"""Bulk import rate: `flask import-listings` of N synthetic results, index included.

    .venv/bin/python bench/import_rate.py --rows 40000

Writes the synthetic results (bench/generate.py) to a JSONL file, starts an app
on a fresh SQLite database with an empty index that follows every commit (as in
production), runs the command and times it from start to end: reading,
checking, inserting, committing and indexing. Then runs it again on the same
file (every row an update) and checks the index against the database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, generate
from bench.build_rate import cpu, report


def write_file(path: Path, count: int, seed: int) -> None:
    """The synthetic results in the command's columns, one JSON object a line."""
    records = common.read_records()
    with path.open("w", encoding="utf-8") as handle:
        for record in generate.synthetic(records, count, seed):
            row = {
                "external_id": record["id"],
                "title": record["title"][:200],
                "description": record.get("abstract", ""),
                "keywords": list(record.get("keywords") or [])[:30],
                "discipline": record.get("discipline", "")[:60],
                "field": common.field_code(record),
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def timed_import(app, org_name: str, path: Path, rows: int, label: str) -> str:
    """The command's rate (see build_rate.report); fails loudly if it did."""
    runner = app.test_cli_runner()
    before, start = cpu(), time.perf_counter()
    result = runner.invoke(
        args=["import-listings", "--kind", "result", "--org", org_name, str(path)]
    )
    seconds, after = time.perf_counter() - start, cpu()
    if result.exit_code != 0:
        raise SystemExit(result.output)
    print(result.output.strip().splitlines()[-1], file=sys.stderr)
    return report(label, rows, seconds, before, after, os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", help="keep the database and index here")
    args = parser.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="bench-import-")
    root = Path(args.workdir or tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "results.jsonl"
    write_file(path, args.rows, args.seed)

    from marketplace.extensions import db
    from marketplace.search.sync import get_index

    app = common.make_app(root, sync_on_commit=True)
    with app.app_context():
        common.create_schema()
        org = common.make_institute("导入基准研究院", 2)
        get_index().reindex(db.session)  # an empty catalogue's index
        first = timed_import(app, org.name, path, args.rows, "new results")
        again = timed_import(app, org.name, path, args.rows, "again (all updates)")
        clean = get_index().verify(db.session).clean
    print(
        f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}\n"
        f"{first}\n{again}\nsearch verify clean: {clean}"
    )
    if not args.workdir:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
