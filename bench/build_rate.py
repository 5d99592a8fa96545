"""Index build rate on an existing benchmark database, wall clock and CPU.

    .venv/bin/python bench/build_rate.py --workdir /tmp/bench/n100000 [--procs 2]

`--workdir` is a directory `bench/speed.py --workdir` left (its bench.db). Runs
`SearchIndex.reindex` (what `flask search reindex` runs) and prints the wall
time, the CPU seconds of this process and of the worker processes, and the
time the same work would take on that many otherwise idle cores (this process's
CPU, which runs alone, plus the workers' CPU shared between them): on a shared
machine the wall clock measures the neighbours as much as the build.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its reaped children."""
    times = os.times()
    return times.user + times.system, times.children_user + times.children_system


def report(label: str, count: int, wall: float, before, after, procs: int) -> str:
    """One line: rate by the wall clock and on idle cores."""
    own, workers = after[0] - before[0], after[1] - before[1]
    idle = own + workers / max(procs, 1)
    load = os.getloadavg()[0]
    return (
        f"{label}: {count:,} in {wall:.1f} s = {count / wall:.0f}/s by the wall clock "
        f"(load average {load:.1f}); CPU: parent {own:.1f} s, workers {workers:.1f} s; "
        f"on {procs} idle cores about {idle:.1f} s = {count / idle:.0f}/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args(argv)
    from marketplace.extensions import db
    from marketplace.search import analysis
    from marketplace.search.sync import get_index

    app = common.make_app(args.workdir)
    with app.app_context():
        analysis.words("预热")  # jieba's dictionary loads once per process
        before, start = cpu(), time.perf_counter()
        count = get_index().reindex(db.session, procs=args.procs)
        wall, after = time.perf_counter() - start, cpu()
    print(report("build", count, wall, before, after, args.procs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
