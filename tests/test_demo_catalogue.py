"""seed-demo's catalogue is plausible: technology only, priced and matured like it.

The bands below are written out here on purpose rather than read from
marketplace.demo.terms: they are what a visitor would find believable, and the
demo must stay inside them whatever its tables say. The deals, adoption
applications and contracts pair each enterprise with listings of its own trade
(by technology field, and the trade tables of marketplace.demo.trades).
"""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from marketplace import demo
from marketplace.clock import utcnow
from marketplace.demo import funnel as demo_funnel
from marketplace.demo import trades as demo_trades
from marketplace.extensions import db as _db
from marketplace.models import (
    Challenge,
    Contract,
    Deal,
    Organisation,
    OrgKind,
    Proposal,
    ProposalKind,
    Result,
    TechField,
)
from marketplace.reference import DEFAULT_FIELDS
from marketplace.results.services import IP_TYPES
from tests.demo_seed import seed_once

FOOD_FIRM = "西平县嫘祖食品科技有限公司"
# Never technology for sale, whatever the reference file says.
NOT_TECHNOLOGY = {"哲学", "历史学", "中国语言文学", "艺术学", "法学", "政治学",
                  "军事学", "兵器科学与技术", "体育学", "新闻传播学", "工商管理",
                  "公共管理"}  # fmt: skip
# (lowest TRL, highest TRL): the asking prices in 万元 that look believable.
PRICE_BANDS_WAN = {(1, 3): (1, 20), (4, 5): (3, 50), (6, 7): (10, 120),
                   (8, 9): (15, 300)}  # fmt: skip
REVIEW = re.compile("综述|研究进展|浅谈|展望|回顾")
MODELLING = re.compile("仿真|数值模拟|有限元")


@pytest.fixture(scope="module")
def catalogue() -> list[tuple[dict, dict, dict]]:
    """(record, importer data, trusted terms) of every demo result, as seeded."""
    records = demo.read_records(technology=True)
    orgs = {name: SimpleNamespace(id=k) for k, name in enumerate(demo.RESULT_OWNERS)}
    rows = demo._result_rows(records, orgs, {}, set(), demo.SeedReport())
    by_id = {r["id"]: r for r in records}
    return [
        (by_id[row.data["external_id"]], row.data, row.extra)
        for owner_rows in rows.values()
        for row in owner_rows
    ]


@pytest.fixture
def seeded(app, runner, request, tmp_path_factory):
    """The session of a database after one seed-demo run.

    The module's first test runs the command; the others get the rows it left
    (tests/demo_seed.py).
    """
    args = ["seed-demo", "--limit", "20"]
    seed_once(app, runner, args, request.module.__name__, tmp_path_factory)
    with app.app_context():
        yield _db.session


def _wan(data: dict) -> Decimal | None:
    return Decimal(data["price_wan"]) if data["price_wan"] else None


def test_only_technology_disciplines(catalogue):
    disciplines = {record["discipline"] for record, _, _ in catalogue}
    assert not disciplines & NOT_TECHNOLOGY
    assert disciplines <= demo_trades.TECHNOLOGY
    assert len(catalogue) == len(demo.read_records(technology=True)) > 1000
    assert "后现象学的历程" not in {record["title"] for record, _, _ in catalogue}


def test_discipline_table_comes_from_the_reference_file():
    rows = json.loads(demo_trades.DISCIPLINES_FILE.read_text("utf-8"))["disciplines"]
    assert {r["discipline"]: r["field"] for r in rows} == demo.DISCIPLINE_FIELDS
    technology = {r["discipline"] for r in rows if r["technology"]}
    assert technology == demo_trades.TECHNOLOGY
    assert sorted(d for ds in demo.FIELD_DISCIPLINES.values() for d in ds) == sorted(
        demo.DISCIPLINE_FIELDS
    )


def test_prices_follow_maturity_and_ip(catalogue):
    negotiable = 0
    for record, data, extra in catalogue:
        trl, price = data["maturity"], _wan(data)
        assert extra["ip_type"] in ("", *IP_TYPES)
        if price is None:
            negotiable += 1
            continue
        low, high = next(
            band for (a, b), band in PRICE_BANDS_WAN.items() if a <= trl <= b
        )
        assert low <= price <= high, (record["title"], trl, price)
        if trl >= 8 and extra["ip_type"] == "发明专利":
            assert price >= 50, (record["title"], price)
        if trl <= 3 and extra["ip_type"] == "实用新型":
            assert price <= 10, (record["title"], price)
        if trl < 6:  # no equity stake in a result not yet past the pilot
            assert "作价投资" not in extra["transfer_modes"], record["title"]
    assert 0.2 < negotiable / len(catalogue) < 0.5
    # Early results are the cheap ones, production-ready ones the dear ones.
    early = [_wan(d) for _, d, _ in catalogue if d["maturity"] <= 3 and _wan(d)]
    ready = [_wan(d) for _, d, _ in catalogue if d["maturity"] >= 8 and _wan(d)]
    assert max(early) < sorted(ready)[len(ready) // 2]


def test_maturity_fits_the_kind_of_paper(catalogue):
    trls = [data["maturity"] for _, data, _ in catalogue]
    assert set(trls) == set(range(1, 10))
    for record, data, extra in catalogue:
        if REVIEW.search(record["title"]):
            assert data["maturity"] <= 2, record["title"]
            assert extra["ip_type"] == "", record["title"]
        elif MODELLING.search(record["title"]):
            assert data["maturity"] <= 4, record["title"]


def test_seeded_results_are_technology_with_their_terms(seeded):
    results = list(seeded.scalars(select(Result)))
    assert len(results) == 20
    for result in results:
        assert result.discipline in demo_trades.TECHNOLOGY
        assert result.discipline not in NOT_TECHNOLOGY
        if result.price_fen is not None and result.trl >= 8:
            assert result.price_fen >= 15 * 1_000_000


def _fields(session) -> dict[int, str]:
    return dict(session.execute(select(TechField.id, TechField.code)).all())


def test_deals_pair_enterprises_with_their_trade(seeded):
    fields = _fields(seeded)
    deals = list(seeded.scalars(select(Deal)))
    assert len(deals) > 40
    for deal in deals:
        demand = seeded.get(Organisation, deal.demand_org_id).name
        supply = seeded.get(Organisation, deal.supply_org_id).name
        if deal.result_id:
            result = seeded.get(Result, deal.result_id)
            code = fields[result.field_id]
            assert demo_trades.adopts(demand, result.discipline, result.title)
        elif deal.challenge_id:
            challenge = seeded.get(Challenge, deal.challenge_id)
            code = fields[challenge.field_id]
            assert challenge.org_id == deal.demand_org_id
        else:
            topic = deal.title.split("（")[0]
            code = demo_trades.TOPIC_FIELDS[topic]
            assert demo_trades.buys(demand, topic), deal.title
            assert demo_trades.sells(supply, topic), deal.title
        assert code in demo_trades.trade_fields(demand), (deal.title, demand)
        if demand == FOOD_FIRM:
            assert code != "biomedicine", deal.title


def _assert_adoption_fits(applicant: str, result) -> None:
    assert demo_trades.adopts(applicant, result.discipline, result.title)
    # By field too, straight from the reference file's disciplines.
    own = {demo.DISCIPLINE_FIELDS[d] for d in demo_trades.TRADES[applicant].disciplines}
    assert demo.DISCIPLINE_FIELDS[result.discipline] in own
    assert result.trl >= 3, result.title  # never a review paper


def test_adoption_plan_over_the_whole_catalogue_fits(catalogue):
    now = utcnow()
    results = [
        SimpleNamespace(
            id=k, external_id=data["external_id"], discipline=record["discipline"],
            title=record["title"], trl=data["maturity"],
            transfer_modes=extra["transfer_modes"], published_at=extra["published_at"],
        )
        for k, (record, data, extra) in enumerate(catalogue)
    ]  # fmt: skip
    enterprises = [
        SimpleNamespace(id=k, name=o.name)
        for k, o in enumerate(demo.ORGS)
        if o.kind == OrgKind.ENTERPRISE and o.verified
    ]
    plans = demo_funnel._plan_adoptions(
        random.Random(demo_funnel.SEED + 1), now.date(), results, enterprises
    )
    assert len(plans) >= 0.015 * len(results)
    assert {p.outcome for p in plans} >= {"transferred", "accepted", "declined"}
    names = {e.id: e.name for e in enterprises}
    assert len({p.applicant for p in plans}) >= 5  # most firms apply somewhere
    for plan in plans:
        _assert_adoption_fits(names[plan.applicant], results[plan.result_id])


def test_seeded_adoption_applications_fit_the_applicant(seeded):
    applications = list(
        seeded.scalars(select(Proposal).where(Proposal.kind == ProposalKind.ADOPTION))
    )
    assert applications
    for application in applications:
        applicant = seeded.get(Organisation, application.org_id).name
        _assert_adoption_fits(applicant, application.result)


def test_contracts_fit_the_buyer_and_seller(seeded):
    fields = _fields(seeded)
    contracts = list(seeded.scalars(select(Contract)))
    assert len(contracts) > 150
    for contract in contracts:
        code = fields[contract.field_id]
        buyer, seller = contract.buyer_name, contract.seller_name
        assert code in demo_trades.trade_fields(buyer), (contract.title, buyer)
        topic = next(
            (t for t in demo_trades.TOPIC_FIELDS if contract.title.startswith(t)), None
        )
        if topic is not None:
            assert demo_trades.TOPIC_FIELDS[topic] == code
            assert demo_trades.buys(buyer, topic), (contract.title, buyer)
            assert demo_trades.sells(seller, topic), (contract.title, seller)
        elif contract.result_id:
            result = seeded.get(Result, contract.result_id)
            assert demo_trades.adopts(buyer, result.discipline, result.title)
        else:
            assert seeded.get(Challenge, contract.challenge_id).org_id == (
                contract.buyer_org_id
            )


def test_trade_tables_hold_together():
    names = {
        f["name"]: f["code"] for f in json.loads(DEFAULT_FIELDS.read_text("utf-8"))
    }
    enterprises = [o.name for o in demo.ORGS if o.kind == OrgKind.ENTERPRISE]
    assert set(enterprises) <= set(demo_trades.TRADES)
    for topic, discipline in demo_trades.TOPIC_DISCIPLINES.items():
        assert discipline in demo_trades.TECHNOLOGY, topic
        assert demo.DISCIPLINE_FIELDS[discipline] == demo_trades.TOPIC_FIELDS[topic]
        buyers = [n for n in demo_trades.TRADES if demo_trades.buys(n, topic)]
        assert buyers, topic
    for name, trade in demo_trades.TRADES.items():
        assert set(trade.disciplines) <= demo_trades.TECHNOLOGY, name
        assert set(trade.buys) | set(trade.sells) <= set(demo_trades.TOPIC_FIELDS)
    # Each demo challenge is in a field of its posting firm's trade.
    challenges = json.loads(
        (demo.DATA_DIR / "demo_challenges.json").read_text(encoding="utf-8")
    )
    for challenge in challenges:
        code = names[challenge["field"]]
        assert code in demo_trades.trade_fields(challenge["org"]), challenge["title"]


def test_readme_demo_logins_match_seed_demo():
    readme = (demo.DATA_DIR.parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- DEMO-LOGINS")[1].split("<!-- /DEMO-LOGINS")[0]
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r"`([\w.-]+@demo\.zmd\.cn)` \| `[^`]+` \| ([^|]+?) \|", table
        )
    }
    for login in demo.USERS:
        assert rows.get(login.email) == login.org, login.email
