"""seed-demo's history: deals, registered contracts, payments and targets."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from marketplace import demo
from marketplace.clock import local_date, local_today
from marketplace.extensions import db as _db
from marketplace.models import (
    Acceptance,
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Contract,
    ContractStatus,
    ContractType,
    Deal,
    DealEvent,
    DealStage,
    Deliverable,
    Exemption,
    Milestone,
    Notification,
    Organisation,
    OrgKind,
    PanelMember,
    PanelScore,
    Payment,
    Project,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Region,
    Result,
    ResultStatus,
    ReviewPanel,
    YearlyTarget,
)
from marketplace.money import FEN_PER_WAN, format_wan
from marketplace.ndas.services import choosable_templates
from marketplace.stats import services as stats
from marketplace.stats.rankings import funnel
from tests.demo_seed import seed_once

SEED_ARGS = ["seed-demo", "--limit", "20"]
TABLES = (AuditEvent, Contract, Deal, DealEvent, Notification, Payment, Proposal,
          YearlyTarget)  # fmt: skip


@pytest.fixture
def seeded(app, runner, request, tmp_path_factory):
    """A database after one seed-demo run; returns the command's output.

    The module's first test runs the command; the others get the rows it left
    (tests/demo_seed.py).
    """
    return seed_once(app, runner, SEED_ARGS, request.module.__name__, tmp_path_factory)


def _registered(session) -> list[Contract]:
    return list(
        session.scalars(
            select(Contract).where(Contract.status == ContractStatus.REGISTERED)
        )
    )


def _counts(session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in TABLES
    }


def test_deals_in_every_stage_brokered_and_signed_by_their_contract(app, seeded):
    with app.app_context():
        session = _db.session
        deals = list(session.scalars(select(Deal)))
        stages = {stage: [d for d in deals if d.stage == stage] for stage in DealStage}
        assert all(stages.values()), {s: len(d) for s, d in stages.items()}
        # The 40 planned deals; awards and accepted applications open the others.
        planned = [d for d in deals if d.proposal_id is None]
        assert 35 <= len(planned) <= 45
        agency = session.scalar(
            select(Organisation).where(Organisation.name == demo.FIRST_AGENCY)
        )
        brokered = [d for d in deals if d.broker_org_id == agency.id]
        assert len(brokered) > len(planned) / 2
        assert all(d.broker_user_id is not None for d in brokered)
        assert any(d.broker_org_id not in (None, agency.id) for d in deals)
        assert any(d.broker_org_id is None for d in deals)
        assert len({d.challenge_id for d in deals if d.challenge_id}) >= 8
        for deal in stages[DealStage.SIGNED]:
            (contract,) = session.scalars(
                select(Contract).where(Contract.deal_id == deal.id)
            )
            assert contract.status == ContractStatus.REGISTERED
            assert (contract.buyer_org_id, contract.seller_org_id) == (
                deal.demand_org_id,
                deal.supply_org_id,
            )
            assert contract.broker_org_id == deal.broker_org_id
            assert deal.events[-1].to_stage == DealStage.SIGNED
            assert local_date(deal.created_at) < contract.signed_on
        for deal in deals:
            times = [e.created_at for e in deal.events]
            assert times == sorted(times) and times[0].date() <= local_today()
            assert deal.events[0].to_stage == DealStage.LEAD
        for deal in stages[DealStage.LOST]:
            assert deal.events[-1].note
        # The demo's own history is not news: nothing of it is left unread.
        assert not session.scalar(
            select(func.count(Notification.id)).where(
                Notification.read_at.is_(None), Notification.link.like("/deals/%")
            )
        )


def test_contracts_cover_every_year_type_field_and_county(app, seeded):
    with app.app_context():
        today = local_today()
        contracts = _registered(_db.session)
        assert 150 <= len(contracts) <= 260
        years = {c.signed_on.year for c in contracts}
        assert years == set(range(2019, today.year + 1))
        assert max(c.signed_on for c in contracts) <= today
        assert {c.contract_type for c in contracts} == set(ContractType)
        assert len({c.field_id for c in contracts if c.field_id}) >= 8
        regions = set(_db.session.scalars(select(Region.code)))
        sellers = {c.seller_region_code for c in contracts}
        buyers = {c.buyer_region_code for c in contracts}
        assert len(sellers) >= 12 and len(buyers) >= 12
        assert {"411702", "000000", "4117Z3"} <= sellers & buyers <= regions
        seller_kinds = {c.seller_org.kind if c.seller_org else None for c in contracts}
        assert {OrgKind.UNIVERSITY, OrgKind.INSTITUTE, None} <= seller_kinds
        assert any(c.broker_org_id for c in contracts)

        numbers = [c.registration_no for c in contracts]
        assert len(set(numbers)) == len(numbers)
        assert all(re.fullmatch(r"[0-9]{14,16}", n) for n in numbers)
        for c in contracts:
            assert 0 < c.tech_amount_fen <= c.amount_fen
            assert c.amount_fen % 10_000 == 0 and c.tech_amount_fen % 10_000 == 0
            assert c.buyer_name != c.seller_name
            assert c.buyer_org_id is None or c.buyer_org_id != c.seller_org_id
            assert c.registered_at is not None
            assert local_date(c.registered_at) >= c.signed_on

        by_year = defaultdict(int)
        for c in contracts:
            by_year[c.signed_on.year] += c.amount_fen
        full_years = [by_year[y] for y in range(2019, today.year)]
        assert full_years == sorted(full_years), "turnover grows year on year"
        # The city's 2020 target was 13,000 万元; the demo year comes close.
        assert 10_000 * FEN_PER_WAN < by_year[2020] < 16_000 * FEN_PER_WAN


def test_payments_never_exceed_their_contract(app, seeded):
    with app.app_context():
        today = local_today()
        contracts = _registered(_db.session)
        paid = [c for c in contracts if c.payments]
        assert len(paid) > len(contracts) / 2
        assert len(paid) < len(contracts)
        assert any(c.paid_fen == c.amount_fen for c in paid)
        assert any(0 < c.paid_fen < c.amount_fen for c in paid)
        for c in contracts:
            assert sum(p.amount_fen for p in c.payments) == c.paid_fen <= c.amount_fen
            for payment in c.payments:
                assert payment.amount_fen > 0
                assert c.signed_on <= payment.received_on <= today


def test_default_targets_are_seeded(app, seeded):
    with app.app_context():
        assert stats.target_for(2020).amount_fen == 13_000 * FEN_PER_WAN
        assert stats.target_for(local_today().year) is not None
    assert "新增年度目标 2 个" in seeded


def test_the_bureau_keeps_a_model_nda_owners_can_pick(app, seeded):
    with app.app_context():
        [template] = choosable_templates()
        assert template.name == demo.DEMO_NDA_NAME
        assert "保密义务" in template.versions[-1].text


def test_second_run_adds_nothing(app, runner, seeded):
    assert re.search(r"新增撮合项目 [1-9][0-9]* 个", seeded)
    assert re.search(r"新增已登记技术合同 [1-9][0-9]* 份", seeded)
    with app.app_context():
        before = _counts(_db.session)
    again = runner.invoke(args=SEED_ARGS)
    assert again.exit_code == 0, again.output
    assert "新增撮合项目 0 个" in again.output
    assert "新增已登记技术合同 0 份（收款记录 0 笔）" in again.output
    assert "新增年度目标 0 个" in again.output
    with app.app_context():
        assert _counts(_db.session) == before


def test_the_plan_is_reproducible(app, runner, seeded):
    def contract_rows():
        with app.app_context():
            return _db.session.execute(
                select(
                    Contract.registration_no,
                    Contract.signed_on,
                    Contract.contract_type,
                    Contract.amount_fen,
                    Contract.tech_amount_fen,
                    Contract.paid_fen,
                    Contract.buyer_name,
                    Contract.seller_name,
                ).order_by(Contract.registration_no)
            ).all()

    first = contract_rows()
    with app.app_context():
        # The demo's projects and panels (demo.delivery) hang on those rows.
        delivery = (PanelScore, PanelMember, ReviewPanel, Exemption, Acceptance,
                    Deliverable, Milestone, Project)  # fmt: skip
        for model in (*delivery, Payment, Contract, DealEvent, Deal, Proposal):
            _db.session.execute(model.__table__.delete())
        # The listings the funnel moved on are back on the market.
        _db.session.execute(
            update(Result).values(status=ResultStatus.PUBLISHED, transferred_at=None)
        )
        _db.session.execute(
            update(Challenge).values(status=ChallengeStatus.OPEN, awarded_at=None)
        )
        _db.session.commit()
    assert runner.invoke(args=SEED_ARGS).exit_code == 0
    assert contract_rows() == first


def test_stats_dashboard_shows_the_whole_history(app, seeded, login):
    bureau = SimpleNamespace(email=f"bureau@{demo.DEMO_DOMAIN}")
    client = login(bureau, demo.DEMO_PASSWORD)
    today = local_today()
    response = client.get(
        "/stats/", query_string={"from": "2019-01-01", "to": today.isoformat()}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with app.app_context():
        total = stats.summary(date(2019, 1, 1), today)
    assert total["contract_amount_fen"] > 0 and total["payments_fen"] > 0
    assert total["count"] > 100
    assert format_wan(total["contract_amount_fen"]) in html
    assert format_wan(total["payments_fen"]) in html
    found = re.search(
        r'<script type="application/json" id="stats-data">(.*?)</script>', html, re.S
    )
    charts = json.loads(found.group(1))
    for by in ("month", "quarter", "year", "county", "field", "type", "party_kind"):
        assert charts[by]["labels"], by
        assert sum(charts[by]["amount"]) > 0, by
    assert len(charts["year"]["labels"]) == today.year - 2018
    assert len(charts["type"]["labels"]) == 5
    assert len(charts["county"]["labels"]) >= 12
    assert charts["target"]["target_fen"] and charts["target"]["done_fen"] > 0


def test_both_funnels_have_every_stage(app, seeded):
    with app.app_context():
        session = _db.session
        stages = funnel(date(2019, 1, 1), local_today())
        counts = {name: [row["count"] for row in rows] for name, rows in stages.items()}
        assert all(counts["challenges"]), counts
        assert all(counts["results"]), counts
        for rows in counts.values():
            assert rows == sorted(rows, reverse=True), counts
        assert "新增揭榜申报 0 份" not in seeded
        assert "新增成果转化申请 0 份" not in seeded

        # Every transferred result and contracted challenge has a registered
        # contract linked to it, and through the deal its proposal opened.
        registered = [
            c
            for c in _registered(session)
            if c.result_id is not None or c.challenge_id is not None
        ]
        transferred = session.scalars(
            select(Result).where(Result.status == ResultStatus.TRANSFERRED)
        ).all()
        contracted = session.scalars(
            select(Challenge).where(Challenge.status == ChallengeStatus.CONTRACTED)
        ).all()
        assert transferred and contracted
        assert {r.id for r in transferred} == {
            c.result_id for c in registered if c.result_id
        }
        assert {ch.id for ch in contracted} <= {
            c.challenge_id for c in registered if c.challenge_id
        }
        links = [(r, "result_id") for r in transferred]
        links += [(ch, "challenge_id") for ch in contracted]
        for listing, column in links:
            linked = [c for c in registered if getattr(c, column) == listing.id]
            assert linked, listing.title
            for contract in linked:
                deal = session.get(Deal, contract.deal_id)
                assert deal.stage == DealStage.SIGNED
                assert getattr(deal, column) == listing.id
                proposal = session.get(Proposal, deal.proposal_id)
                assert proposal.status == ProposalStatus.SELECTED
                assert getattr(proposal, column) == listing.id
        # Awards and accepted applications each opened a deal; the timeline runs
        # from publication to application or bid, decision and registration.
        for proposal in session.scalars(select(Proposal)):
            listing = proposal.result or proposal.challenge
            assert listing.published_at <= proposal.created_at
            if proposal.status == ProposalStatus.SELECTED:
                (deal,) = session.scalars(
                    select(Deal).where(Deal.proposal_id == proposal.id)
                )
                assert proposal.created_at <= proposal.decided_at <= deal.updated_at
        kinds = set(session.scalars(select(Proposal.kind)))
        assert kinds == {ProposalKind.BID, ProposalKind.ADOPTION}
