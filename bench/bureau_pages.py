"""Bureau pages at scale: /stats, the contract register and the exports.

    .venv/bin/python bench/bureau_pages.py --contracts 100000 --listings 100000
    .venv/bin/python bench/bureau_pages.py \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_bureau

Fills a fresh database (a SQLite file in a temporary folder by default; on
PostgreSQL the named database is created and dropped) in bulk: organisations,
listings (half challenges, half results, minimal fields) and registered
contracts over several years, regions, fields and types with their payments.
Then a bureau user's test client asks for each page `--repeat` times (fewer when
a page is slow, see `--budget`) and the p50/p95 of the time to the full body
(a streamed export is read to its end) are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm import tqdm

from bench import common

BATCH = 5_000
PASSWORD = "Bench-bureau-2026!"  # noqa: S105 - a throwaway app's login
FIRST_YEAR, LAST_YEAR = 2019, 2026
KINDS = ("enterprise", "university", "institute", "agency")
STATUS_WEIGHTS = {"registered": 90, "submitted": 5, "rejected": 3, "cancelled": 2}


def _bulk(table, rows, bar) -> None:
    from marketplace.extensions import db

    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        db.session.execute(table.insert(), chunk)
        bar.update(len(chunk))
    db.session.commit()


def _orgs(rng: random.Random, regions: list[str], count: int) -> dict[str, list]:
    from marketplace.auth.services import create_organisation
    from marketplace.creditcode import make_credit_code
    from marketplace.extensions import db

    made: dict[str, list] = {k: [] for k in KINDS}
    for n in tqdm(range(count), desc="organisations", unit="org"):
        kind = KINDS[n % len(KINDS)]
        # Only a six-digit code can head a credit code (not the 市外 region).
        region = rng.choice([r for r in regions if r.isdigit()])
        org = create_organisation(
            name=f"基准{kind}{n}",
            kind=kind,
            region_code=region,
            credit_code=make_credit_code(region, 700_000_000 + n),
            verified=True,
        )
        made[kind].append((org.id, org.name, region))
    db.session.commit()
    return made


def _moment(rng: random.Random) -> datetime:
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    span = (datetime(LAST_YEAR, 12, 1, tzinfo=UTC) - start).total_seconds()
    return start + timedelta(seconds=rng.uniform(0, span))


def _listings(rng, count, orgs, fields, regions) -> tuple[list[int], list[int]]:
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.models import Challenge, Result

    challenges, results = [], []
    for n in range(count):
        published = _moment(rng)
        common_fields = {
            "title": f"基准成果与需求 {n}",
            "field_id": rng.choice(fields),
            "published_at": published,
            "submitted_at": published,
            "created_at": published,
            "updated_at": published,
        }
        if n % 2:
            org_id = rng.choice(orgs["enterprise"])[0]
            challenges.append(
                {
                    **common_fields,
                    "org_id": org_id,
                    "region_code": rng.choice(regions),
                    "status": "open",
                    "awarded_at": (
                        published + timedelta(days=30) if n % 7 == 1 else None
                    ),
                }
            )
        else:
            org_id = rng.choice(orgs["university"] + orgs["institute"])[0]
            results.append({**common_fields, "org_id": org_id, "status": "published"})
    with tqdm(total=count, desc="listings", unit="row") as bar:
        _bulk(Challenge.__table__, challenges, bar)
        _bulk(Result.__table__, results, bar)
    return (
        list(db.session.scalars(select(Challenge.id))),
        list(db.session.scalars(select(Result.id))),
    )


def _contracts(rng, count, orgs, fields, regions, challenge_ids, result_ids) -> None:
    from marketplace.models import Contract, Payment

    types = ["development", "transfer", "licensing", "consulting", "service"]
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    sellers = orgs["university"] + orgs["institute"] + orgs["enterprise"]
    buyers = orgs["enterprise"]
    brokers = orgs["agency"]
    contracts, payments = [], []
    first, last = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
    days = (last - first).days
    for n in range(1, count + 1):
        signed = first + timedelta(days=rng.randrange(days))
        status = rng.choices(statuses, weights)[0]
        amount = rng.randrange(10_000, 500_000) * 100
        tech = amount * rng.randrange(50, 101) // 100
        seller = rng.choice(sellers) if rng.random() < 0.6 else None
        buyer = rng.choice(buyers) if rng.random() < 0.5 else None
        if buyer is not None and seller is not None and buyer[0] == seller[0]:
            buyer = None
        source = rng.random()
        row = {
            "id": n,
            "title": f"基准技术合同 {n}",
            "contract_type": rng.choice(types),
            "seller_org_id": seller[0] if seller else None,
            "seller_name": seller[1] if seller else f"平台外卖方{rng.randrange(3000)}",
            "seller_region_code": seller[2] if seller else rng.choice(regions),
            "buyer_org_id": buyer[0] if buyer else None,
            "buyer_name": buyer[1] if buyer else f"平台外买方{rng.randrange(3000)}",
            "buyer_region_code": buyer[2] if buyer else rng.choice(regions),
            "broker_org_id": rng.choice(brokers)[0] if rng.random() < 0.2 else None,
            "challenge_id": rng.choice(challenge_ids) if source < 0.15 else None,
            "result_id": rng.choice(result_ids) if 0.15 <= source < 0.3 else None,
            # A contract from a listing often leaves its own field blank.
            "field_id": None if source < 0.3 else rng.choice(fields),
            "signed_on": signed,
            "amount_fen": amount,
            "tech_amount_fen": tech,
            "status": status,
            "registration_no": None,
            "registered_at": None,
            "paid_fen": 0,
        }
        if status in ("registered", "cancelled"):
            row["registration_no"] = f"{signed.year}{n:010d}"
            row["registered_at"] = datetime.combine(
                signed + timedelta(days=rng.randrange(1, 60)),
                datetime.min.time(),
                UTC,
            ) + timedelta(hours=rng.randrange(24))
            left = amount
            for _ in range(rng.randrange(0, 4)):
                paid = rng.randrange(1, left // 2 + 2)
                left -= paid
                received = signed + timedelta(days=rng.randrange(0, 500))
                payments.append(
                    {"contract_id": n, "received_on": received, "amount_fen": paid}
                )
                row["paid_fen"] += paid
        contracts.append(row)
    with tqdm(total=len(contracts), desc="contracts", unit="row") as bar:
        _bulk(Contract.__table__, contracts, bar)
    with tqdm(total=len(payments), desc="payments", unit="row") as bar:
        _bulk(Payment.__table__, payments, bar)


def _missing_indexes() -> None:
    # A reused database gets the indexes the models gained since it was filled.
    from marketplace.extensions import db

    for table in db.metadata.sorted_tables:
        for index in table.indexes:
            index.create(db.engine, checkfirst=True)


def fill(args) -> None:
    """Reference data, organisations, a bureau user, listings and contracts."""
    from sqlalchemy import select

    from marketplace.auth.services import create_organisation, create_user
    from marketplace.creditcode import make_credit_code
    from marketplace.extensions import db
    from marketplace.models import Region, TechField

    rng = random.Random(args.seed)
    common.create_schema()
    regions = list(db.session.scalars(select(Region.code)))
    fields = list(db.session.scalars(select(TechField.id)))
    bureau = create_organisation(
        name="基准科技局",
        kind="bureau",
        region_code=common.REGION,
        credit_code=make_credit_code(common.REGION, 699_999_999),
        verified=True,
    )
    create_user(
        org=bureau,
        email="bureau@bench.cn",
        password=PASSWORD,
        name="基准",
        role="member",
    )
    db.session.commit()
    orgs = _orgs(rng, regions, args.orgs)
    challenge_ids, result_ids = _listings(rng, args.listings, orgs, fields, regions)
    _contracts(rng, args.contracts, orgs, fields, regions, challenge_ids, result_ids)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            __import__("sqlalchemy").text(
                "SELECT setval('contracts_id_seq', (SELECT max(id) FROM contracts))"
            )
        )
        db.session.commit()
        with db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(__import__("sqlalchemy").text("ANALYZE"))
        db.session.commit()


def pages(app) -> list[tuple[str, str]]:
    """(name, URL) of every page measured."""
    from sqlalchemy import func, select

    from marketplace.contracts.routes import PER_PAGE
    from marketplace.extensions import db
    from marketplace.models import Contract, Region
    from marketplace.stats.exports import TABLES

    with app.app_context():
        total = db.session.scalar(select(func.count(Contract.id)))
        county = db.session.scalar(
            select(Region.code).order_by(Region.sort_order).offset(1)
        )
    last = (total + PER_PAGE - 1) // PER_PAGE
    this = f"from={LAST_YEAR}-01-01&to={LAST_YEAR}-12-31"
    three = f"from={LAST_YEAR - 2}-01-01&to={LAST_YEAR}-12-31"
    every = f"from={FIRST_YEAR}-01-01&to={LAST_YEAR}-12-31"
    out = [
        ("stats 1 year", f"/stats/?{this}"),
        ("stats 3 years", f"/stats/?{three}"),
        (f"stats {LAST_YEAR - FIRST_YEAR + 1} years", f"/stats/?{every}"),
    ]
    for by in ("month", "quarter", "year", "county", "field", "type"):
        url = f"/api/v1/stats/turnover?by={by}&{every}"
        out.append((f"api by={by}, all years", url))
    out += [
        ("register p1", "/contracts/"),
        ("register middle page", f"/contracts/?page={last // 2}"),
        ("register last page", f"/contracts/?page={last}"),
        ("register county", f"/contracts/?county={county}"),
        ("register county last page", f"/contracts/?county={county}&page=200"),
        ("register type+status", "/contracts/?type=transfer&status=registered"),
        ("register party name", "/contracts/?q=%E5%9F%BA%E5%87%86university1"),
        ("register signed 1 year", f"/contracts/?signed_from={LAST_YEAR}-01-01"
         f"&signed_to={LAST_YEAR}-12-31&page=50"),
        ("register amount range, by amount", "/contracts/?amount_min=100&amount_max=200"
         "&sort=amount_desc&page=20"),
        ("register by registration, middle", f"/contracts/?sort=registered_desc"
         f"&page={last // 2}"),
    ]
    for name in TABLES:
        url = f"/stats/export/{name}.csv?{every}"
        out.append((f"export {name}.csv, all years", url))
    out += [
        ("export month.xlsx, all years", f"/stats/export/month.xlsx?{every}"),
        ("export register.xlsx, 1 year", f"/stats/export/register.xlsx?{this}"),
        ("register.csv, all 100k", "/contracts/register.csv"),
        ("register.csv, one county", f"/contracts/register.csv?county={county}"),
        ("register.xlsx, one county", f"/contracts/register.xlsx?county={county}"),
        ("register.xlsx, all 100k", "/contracts/register.xlsx"),
    ]
    return out


def measure(client, url: str, repeat: int, budget: float) -> dict:
    """Timings (ms) of `repeat` GETs read to the end; stops early past `budget` s.

    The test client hands every body over as an iterator, so "streamed" means the
    body came in more than one piece, and the first piece's time is kept too.
    """
    times, firsts, size, chunks, spent = [], [], 0, 0, 0.0
    for n in range(repeat):
        start = time.perf_counter()
        response = client.get(url, buffered=False)
        size = chunks = 0
        for piece in response.response:
            if not chunks:
                firsts.append((time.perf_counter() - start) * 1000)
            size, chunks = size + len(piece), chunks + 1
        seconds = time.perf_counter() - start
        response.close()
        if response.status_code != 200:
            # A failing page is reported in the table, not retried.
            return {"error": f"HTTP {response.status_code}", "n": n + 1}
        times.append(seconds * 1000)
        spent += seconds
        if spent > budget and n >= 2:
            break
    return {
        "n": len(times),
        "p50": common.percentile(times, 50),
        "p95": common.percentile(times, 95),
        "first_p95": common.percentile(firsts, 95),
        "bytes": size,
        "streamed": chunks > 1,
    }


def _database(url: str | None, drop: bool = False) -> None:
    # PostgreSQL: a throwaway database of the given name, made before, dropped after.
    if not url or not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}"')
        if not drop:
            conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds a page at most (≥ 3 runs)"
    )
    parser.add_argument("--only", default="", help="regex over page names")
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite")
    parser.add_argument("--workdir", help="keep (and reuse) the SQLite file here")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="bench-bureau-")
    root = Path(args.workdir or tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    reuse = bool(args.workdir) and (root / "bench.db").exists()
    extra = {}
    if args.database_url:
        extra["SQLALCHEMY_DATABASE_URI"] = args.database_url
        reuse = False
        _database(args.database_url)
    app = common.make_app(root, **extra)
    started = time.perf_counter()
    with app.app_context():
        if reuse:
            _missing_indexes()
        else:
            fill(args)
        dialect = __import__("marketplace.extensions").extensions.db.engine.dialect
    filled = time.perf_counter() - started
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"email": "bureau@bench.cn", "password": PASSWORD}
    )
    if response.status_code != 302:
        raise SystemExit("bureau login failed")
    pattern = re.compile(args.only)
    rows, figures = [], {}
    for name, url in tqdm(pages(app), desc="pages", unit="page"):
        if not pattern.search(name):
            continue
        result = measure(client, url, args.repeat, args.budget)
        figures[name] = {"url": url, **result}
        if "error" in result:
            rows.append([name, result["n"], "", "", "", "", "", result["error"]])
            continue
        rows.append(
            [
                name,
                result["n"],
                f"{result['p50']:.0f}",
                f"{result['p95']:.0f}",
                f"{result['first_p95']:.0f}",
                f"{result['bytes']:,}",
                "yes" if result["streamed"] else "no",
                "met" if result["p95"] <= 300 else "**missed**",
            ]
        )
    print(
        f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
        f"{dialect.name} {'.'.join(map(str, dialect.server_version_info or ()))}; "
        f"{args.contracts:,} contracts, {args.listings:,} listings; "
        f"{'reused' if reuse else 'filled in'} {filled:.0f} s"
    )
    print(
        common.table(
            [
                *("page", "n", "p50 ms", "p95 ms", "first byte p95 ms", "bytes"),
                *("streamed", "p95 ≤ 300 ms"),
            ],
            rows,
        )
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    if args.database_url:
        from marketplace.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _database(args.database_url, drop=True)
    if not args.workdir:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
