"""Listing pages with stored explained matches against live ones, in process.

    .venv/bin/python bench/stored_matches.py [--size 3000] [--pages 60] [--seed 7]

Synthetic listings grown from the CSL records (bench/generate.py): two thirds
published as results by an institute, one third as open challenges by an
enterprise, through the project's importer into a throwaway SQLite database,
then indexed. Through Flask's test client (no page cache: the testing
configuration turns it off), milliseconds per request, p50 / p95:

- the home page, for scale;
- a result page and a challenge page with SEARCH_STORED_MATCHES off (every view
  matches live, as before), on at the first view (live match plus storing the
  row) and on at a repeated view (the stored row, re-checked);
- the listing-match API (GET /api/v1/results/<id>/matches), live and stored;
- a commit with the post-commit sync, with the refresh of stored matches off
  (SEARCH_STORED_MATCH_BATCH=0) and at its default of 20.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import generate


def make_enterprise(name: str, serial: int):
    """A verified enterprise that may post challenges."""
    from marketplace.auth.services import create_organisation
    from marketplace.creditcode import make_credit_code
    from marketplace.extensions import db
    from marketplace.models import OrgKind

    org = create_organisation(
        name=name,
        kind=OrgKind.ENTERPRISE,
        region_code=common.REGION,
        credit_code=make_credit_code(common.REGION, 810_000_000 + serial),
        verified=True,
    )
    db.session.commit()
    return org


def import_challenges(org, records: list[dict]) -> list[int]:
    """Publish records as open challenges through the importer; returns the ids."""
    from marketplace.clock import local_today
    from marketplace.extensions import db
    from marketplace.listings.importing import RawRow, import_rows

    deadline = (local_today() + timedelta(days=90)).isoformat()
    rows = [
        RawRow(
            n + 1,
            {
                "external_id": f"C-{record['id']}",
                "title": record["title"][:200],
                "description": record.get("abstract", ""),
                "keywords": list(record.get("keywords") or [])[:30],
                "field": common.field_code(record),
                "deadline": deadline,
            },
        )
        for n, record in enumerate(records)
    ]
    report = import_rows(org, "challenge", rows, source="bench")
    db.session.commit()
    return report.ids


def timed(call, items) -> list[float]:
    """Milliseconds per call."""
    out = []
    for item in items:
        start = time.perf_counter()
        call(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def figure(values: list[float]) -> str:
    p50, p95 = common.percentile(values, 50), common.percentile(values, 95)
    return f"{p50:.1f} / {p95:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=3000, help="listings in all")
    parser.add_argument("--pages", type=int, default=60, help="pages per figure")
    parser.add_argument("--commits", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="bench-stored-")
    workdir = Path(tmp.name)
    app = common.make_app(workdir)
    with app.app_context():
        from sqlalchemy import delete

        from marketplace.extensions import db
        from marketplace.models import Result, StoredMatch
        from marketplace.search.sync import get_index

        common.create_schema()
        records = common.read_records()
        listings = list(generate.synthetic(records, args.size, args.seed))
        split = args.size * 2 // 3
        institute = common.make_institute("存储匹配基准研究院", 1)
        results = common.import_records(institute, listings[:split])
        challenges = import_challenges(
            make_enterprise("存储匹配基准企业", 2), listings[split:]
        )
        get_index().reindex(db.session)
        db.session.commit()
        rng = random.Random(args.seed)
        some_results = rng.sample(results, min(args.pages, len(results)))
        some_challenges = rng.sample(challenges, min(args.pages, len(challenges)))
    client = app.test_client()

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    def pages(template: str, ids: list[int]) -> list[float]:
        return timed(get, [template.format(i) for i in ids])

    def forget() -> None:
        with app.app_context():
            db.session.execute(delete(StoredMatch))
            db.session.commit()

    rows = []
    get("/")  # warm: jieba, the searcher, the arrays, templates
    rows.append(("home page", figure(timed(get, ["/"] * args.pages))))
    for label, template, ids in (
        ("result page", "/results/{}", some_results),
        ("challenge page", "/challenges/{}", some_challenges),
        ("match API (result)", "/api/v1/results/{}/matches", some_results),
    ):
        get(template.format(ids[0]))
        app.config["SEARCH_STORED_MATCHES"] = False
        live = pages(template, ids)
        app.config["SEARCH_STORED_MATCHES"] = True
        forget()
        first = pages(template, ids)
        again = pages(template, ids)
        rows.append((f"{label}, live", figure(live)))
        rows.append((f"{label}, stored: first view", figure(first)))
        rows.append((f"{label}, stored: next views", figure(again)))

    app.config["SEARCH_SYNC_ON_COMMIT"] = True
    for batch in (0, 20):
        app.config["SEARCH_STORED_MATCH_BATCH"] = batch
        with app.app_context():
            edited = some_results[: args.commits]

            def commit(result_id: int) -> None:
                row = db.session.get(Result, result_id)
                row.benefit = f"{row.benefit or ''}。"
                db.session.commit()

            rows.append(
                (f"commit + sync, refresh batch {batch}", figure(timed(commit, edited)))
            )
    print(
        f"{args.size} listings ({split} results, {args.size - split} challenges), "
        f"{args.pages} pages per figure, ms p50 / p95\n"
    )
    print(common.table(["request", "p50 / p95 ms"], rows))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
