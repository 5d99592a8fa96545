"""Bureau pages at scale: SQL figures against row-by-row references, paging, streams.

The figures are summed by the database now; each test here recomputes them the
slow way, one row at a time in Python, over a random register of some hundreds
of contracts (outside parties under several spellings, payments and reversals,
every status) and asks for the same numbers.
"""

from __future__ import annotations

import contextvars
import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from marketplace.models import (
    Contract,
    ContractStatus,
    ContractType,
    OrgKind,
    Payment,
)
from marketplace.money import format_wan
from marketplace.stats import exports, services
from marketplace.stats.rankings import party_key

REGIONS = ("411702", "411721", "411722", "411723")
OUTSIDE = ("郑州某机械厂", " 郑州某机械厂　", "郑州某　机械厂", "外地甲厂", "外地乙所")
COUNT = 640
START, END = date(2023, 1, 1), date(2025, 12, 31)


@pytest.fixture
def register(db, factory):
    """COUNT random contracts over three years with their payments; returns orgs."""
    rng = random.Random(5)
    orgs = [
        factory.org(kind, region_code=rng.choice(REGIONS))
        for kind in (
            OrgKind.ENTERPRISE,
            OrgKind.ENTERPRISE,
            OrgKind.UNIVERSITY,
            OrgKind.INSTITUTE,
            OrgKind.AGENCY,
        )
    ]
    statuses = list(ContractStatus)
    rows, payments = [], []
    for n in range(1, COUNT + 1):
        signed = START + timedelta(days=rng.randrange((END - START).days + 60))
        status = rng.choice(statuses * 3 + [ContractStatus.REGISTERED] * 6)
        amount = rng.randrange(1, 5_000) * 10_000
        seller = rng.choice([*orgs[:4], None])
        buyer = rng.choice([o for o in orgs[:2] if o is not seller] + [None, None])
        row = {
            "id": n,
            "title": f"合同{n}",
            "contract_type": rng.choice(list(ContractType)),
            "seller_org_id": seller.id if seller else None,
            "seller_name": seller.name if seller else rng.choice(OUTSIDE),
            "seller_region_code": seller.region_code if seller else rng.choice(REGIONS),
            "buyer_org_id": buyer.id if buyer else None,
            "buyer_name": buyer.name if buyer else rng.choice(OUTSIDE),
            "buyer_region_code": buyer.region_code if buyer else rng.choice(REGIONS),
            "broker_org_id": orgs[4].id if n % 3 == 0 else None,
            "signed_on": signed,
            "amount_fen": amount,
            "tech_amount_fen": amount // 2,
            "paid_fen": 0,
            "status": status,
            "registration_no": None,
            "registered_at": None,
        }
        if status in (ContractStatus.REGISTERED, ContractStatus.CANCELLED):
            row["registration_no"] = f"2099{n:010d}"
            row["registered_at"] = datetime.combine(signed, datetime.min.time(), UTC)
            row["registered_at"] += timedelta(hours=rng.randrange(1, 24 * 40))
            if n % 2:
                paid = amount // 4
                payments.append((n, signed + timedelta(days=rng.randrange(400)), paid))
                row["paid_fen"] = paid
        rows.append(row)
    db.session.execute(insert(Contract), rows)
    db.session.execute(
        insert(Payment),
        [
            {"id": i, "contract_id": c, "received_on": day, "amount_fen": fen}
            for i, (c, day, fen) in enumerate(payments, 1)
        ],
    )
    # Every fifth receipt is reversed (冲销) a few days later.
    reversals = [
        {
            "id": len(payments) + i,
            "contract_id": c,
            "received_on": day + timedelta(days=3),
            "amount_fen": -fen,
            "reverses_id": i,
        }
        for i, (c, day, fen) in enumerate(payments, 1)
        if i % 5 == 0
    ]
    db.session.execute(insert(Payment), reversals)
    for reversal in reversals:
        db.session.get(Contract, reversal["contract_id"]).paid_fen += reversal[
            "amount_fen"
        ]
    db.session.commit()
    return orgs


def _key(day: date, by: str) -> str:
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    if by == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def _registered_in(db, start, end) -> list[Contract]:
    return [
        c
        for c in db.session.scalars(select(Contract))
        if c.status == ContractStatus.REGISTERED and start <= c.signed_on <= end
    ]


def _period_reference(db, start, end, by) -> dict[str, dict]:
    rows: dict[str, dict] = {}

    def row(day):
        zero = dict.fromkeys(services.PERIOD_KEYS, 0)
        return rows.setdefault(_key(day, by), zero)

    for c in _registered_in(db, start, end):
        figures = row(c.signed_on)
        figures["contract_amount_fen"] += c.amount_fen
        figures["tech_amount_fen"] += c.tech_amount_fen
        figures["count"] += 1
    for p in db.session.scalars(select(Payment)):
        registered = p.contract.status == ContractStatus.REGISTERED
        if registered and start <= p.received_on <= end:
            row(p.received_on)["payments_fen"] += p.amount_fen
    return rows


@pytest.mark.parametrize("by", ["month", "quarter", "year"])
@pytest.mark.parametrize(
    "start,end",
    [(START, END), (date(2024, 2, 15), date(2024, 11, 3)), (date(2025, 12, 1), END)],
)
def test_period_sums_equal_a_row_by_row_reference(db, register, by, start, end):
    result = services.turnover(start, end, by)
    expected = _period_reference(db, start, end, by)
    got = {r["key"]: {k: r[k] for k in services.PERIOD_KEYS} for r in result["rows"]}
    assert got == expected
    assert [r["key"] for r in result["rows"]] == sorted(expected)
    assert [r["label"] for r in result["rows"]] == sorted(expected)
    for key in services.PERIOD_KEYS:
        assert result["total"][key] == sum(f[key] for f in expected.values())
    assert result["total"]["payments_fen"] == services.payments_received(start, end)


def _ranking_reference(db, start, end, role) -> list[tuple]:
    groups: dict[tuple, dict] = {}
    contracts = _registered_in(db, start, end)
    contracts.sort(key=lambda c: (c.signed_on, c.id))
    for c in contracts:
        org = getattr(c, f"{role}_org")
        if org is None and role == "broker":
            continue
        name = org.name if org else getattr(c, f"{role}_name")
        key = ("org", org.id) if org else ("out", party_key(name))
        group = groups.setdefault(key, {"amount": 0, "count": 0, "names": {}})
        group["amount"] += c.amount_fen
        group["count"] += 1
        group["names"][name] = group["names"].get(name, 0) + 1
        group["outside"] = org is None
    ranked = []
    for group in groups.values():
        names = group["names"]
        label = max(names, key=names.__getitem__)  # the first on a tie
        ranked.append((label, group["outside"], group["amount"], group["count"]))
    return sorted(ranked, key=lambda r: (-r[2], r[0]))[:10]


@pytest.mark.parametrize("role", ["seller", "buyer", "broker"])
def test_rankings_equal_a_row_by_row_reference(db, register, role):
    for start, end in ((START, END), (date(2024, 1, 1), date(2024, 6, 30))):
        got = [
            (r["label"], r["outside"], r["contract_amount_fen"], r["count"])
            for r in services.top_orgs(start, end, role)
        ]
        assert got == _ranking_reference(db, start, end, role)
        assert len(got) >= (1 if role == "broker" else 2)


def test_a_tie_between_spellings_names_the_group_by_its_first_contract(db, register):
    # Two spellings of one outside buyer, once each, in a range of their own:
    # the one on the earlier contract names the group, whatever its id.
    late = db.session.get(Contract, 1)
    early = db.session.get(Contract, 2)
    for contract, name, day in ((late, "南阳 某厂", 10), (early, "南阳某厂", 9)):
        contract.status = ContractStatus.REGISTERED
        contract.registration_no = contract.registration_no or f"2098{contract.id:010d}"
        contract.buyer_org_id = None
        contract.buyer_name = name
        contract.signed_on = date(2030, 1, day)
    db.session.commit()
    top = services.top_orgs(date(2030, 1, 1), date(2030, 1, 31), "buyer")
    assert [(r["label"], r["count"]) for r in top] == [("南阳某厂", 2)]


def _ids(response) -> list[int]:
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'href="/contracts/(\d+)"', response.text)]


@pytest.mark.parametrize(
    "args,keep,order",
    [
        ({}, lambda c: True, lambda c: (-c.signed_on.toordinal(), -c.id)),
        (
            {"county": "411721", "sort": "amount_desc"},
            lambda c: "411721" in (c.seller_region_code, c.buyer_region_code),
            lambda c: (-c.amount_fen, -c.id),
        ),
        (
            {"county": "411722", "side": "output", "sort": "amount_asc"},
            lambda c: c.seller_region_code == "411722",
            lambda c: (c.amount_fen, c.id),
        ),
        (
            {"status": "registered", "sort": "registered_asc", "type": "transfer"},
            lambda c: c.status == "registered" and c.contract_type == "transfer",
            lambda c: (c.registered_at, c.id),
        ),
        (
            {"sort": "registered_desc", "amount_min": "10", "amount_max": "30"},
            lambda c: 10 * 10**6 <= c.amount_fen <= 30 * 10**6,
            lambda c: (c.registered_at is None, -_stamp(c.registered_at), -c.id),
        ),
    ],
)
def test_register_pages_hold_every_filtered_row_once(
    db, register, bureau_client, args, keep, order
):
    contracts = filter(keep, db.session.scalars(select(Contract)))
    expected = [c.id for c in sorted(contracts, key=order)]
    seen: list[int] = []
    page = 1
    while True:
        query = {**args, "page": page}
        ids = _ids(bureau_client.get("/contracts/", query_string=query))
        if not ids:
            break
        seen += ids
        page += 1
    assert seen == expected
    assert len(expected) > 30  # more than one page


def _stamp(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()


def _pieces(db, client, url: str, **kwargs) -> list[bytes]:
    """The body as the server hands it over, piece by piece."""
    # The project's test client runs each request in a fresh context; a body read
    # after the request must be read in that same context.
    context = contextvars.Context()
    response = context.run(FlaskClient.open, client, url, buffered=False, **kwargs)
    assert response.status_code == 200
    pieces = context.run(list, response.response)
    context.run(response.close)
    return pieces


def test_the_register_exports_stream_row_by_row(db, register, bureau_client):
    pieces = _pieces(db, bureau_client, "/contracts/register.csv")
    # Written as it is read: some hundred rows a piece, not one body at the end.
    assert len(pieces) > 1
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8-sig"))))
    contracts = list(db.session.scalars(select(Contract)))
    assert len(rows) == 1 + len(contracts) + 1
    assert rows[-1][0] == "合计"
    total = sum(c.amount_fen for c in contracts)
    assert rows[-1][16] == str(exports.wan(total))
    numbers = [r[0] for r in rows[1:-1]]
    expected = sorted(contracts, key=lambda c: (-c.signed_on.toordinal(), -c.id))
    assert numbers == [c.registration_no or "" for c in expected]


def test_the_stats_exports_stream_too(db, register, bureau_client, monkeypatch):
    query = {"from": START.isoformat(), "to": END.isoformat()}
    monkeypatch.setattr(exports, "CSV_ROWS_PER_CHUNK", 100)
    url = "/stats/export/register.csv"
    pieces = _pieces(db, bureau_client, url, query_string=query)
    assert len(pieces) > 1
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8-sig"))))
    assert len(rows) == 2 + len(_registered_in(db, START, END))
    # A workbook leaves in pieces as well (one only when smaller than a piece).
    monkeypatch.setattr(exports, "XLSX_CHUNK", 4096)
    url = "/stats/export/register.xlsx"
    pieces = _pieces(db, bureau_client, url, query_string=query)
    assert len(pieces) > 1 and b"".join(pieces)[:2] == b"PK"


def test_the_dashboard_shares_one_pass_by_month_with_the_same_figures(db, register):
    shared = services.breakdowns(START, END)
    assert list(shared) == list(services.BY_CHOICES)
    for by in services.BY_CHOICES:
        assert shared[by] == services.turnover(START, END, by)
    month_total = {k: shared["month"]["total"][k] for k in services.PERIOD_KEYS}
    assert month_total == services.summary(START, END)
    before = date(2024, 12, 31)
    assert services.target_progress(2024)["done_fen"] == sum(
        c.amount_fen for c in _registered_in(db, date(2024, 1, 1), before)
    )


def test_the_dashboard_page_shows_the_shared_figures(db, register, bureau_client):
    response = bureau_client.get(
        "/stats/", query_string={"from": START.isoformat(), "to": END.isoformat()}
    )
    assert response.status_code == 200
    now = services.summary(START, END)
    for key in ("contract_amount_fen", "tech_amount_fen", "payments_fen"):
        assert format_wan(now[key]) in response.text
