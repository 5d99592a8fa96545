"""Rules the database itself enforces, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, StatementError

from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    ContractType,
    OrgKind,
    Payment,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Result,
    YearlyTarget,
)


@pytest.fixture
def parties(factory):
    return factory.org(OrgKind.ENTERPRISE), factory.org(OrgKind.INSTITUTE)


def contract(buyer, seller, **overrides):
    values = {
        "contract_type": ContractType.TRANSFER,
        "buyer_org_id": buyer.id,
        "buyer_name": buyer.name,
        "buyer_region_code": "411702",
        "seller_org_id": seller.id,
        "seller_name": seller.name,
        "seller_region_code": "411721",
        "signed_on": date(2026, 3, 1),
        "amount_fen": 1_000_000,
        "tech_amount_fen": 800_000,
    }
    values.update(overrides)
    return Contract(**values)


def refused(db, *objects):
    # The savepoint is rolled back as the error leaves it; the test goes on.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add_all(objects)
        db.session.flush()


def test_valid_contract_is_stored(db, parties):
    db.session.add(contract(*parties))
    db.session.commit()
    assert db.session.scalar(select(Contract)).paid_fen == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"tech_amount_fen": 1_000_001},
        {"amount_fen": -1, "tech_amount_fen": 0},
        {"tech_amount_fen": -5},
        {"paid_fen": 1_000_001},
    ],
)
def test_contract_amount_rules(db, parties, overrides):
    refused(db, contract(*parties, **overrides))


def test_buyer_and_seller_must_differ(db, parties):
    buyer, _ = parties
    refused(db, contract(buyer, buyer))


def test_registration_numbers_are_unique(db, parties):
    db.session.add(
        contract(*parties, registration_no="41170020260001", status="registered")
    )
    db.session.commit()
    refused(db, contract(*parties, registration_no="41170020260001"))


def test_registered_contract_needs_a_number(db, parties):
    refused(db, contract(*parties, status="registered"))


def test_paid_total_cannot_exceed_contract_amount(db, parties):
    row = contract(*parties)
    db.session.add(row)
    db.session.commit()
    db.session.add(
        Payment(contract_id=row.id, received_on=date(2026, 4, 1), amount_fen=600_000)
    )
    db.session.execute(
        update(Contract)
        .where(Contract.id == row.id)
        .values(paid_fen=Contract.paid_fen + 600_000)
    )
    db.session.commit()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            update(Contract)
            .where(Contract.id == row.id)
            .values(paid_fen=Contract.paid_fen + 600_000)
        )
    refused(db, Payment(contract_id=row.id, received_on=date(2026, 4, 2), amount_fen=0))


def test_one_live_proposal_per_org_and_listing(db, parties):
    owner, bidder = parties
    challenge = Challenge(org_id=owner.id, title="需求", status=ChallengeStatus.OPEN)
    db.session.add(challenge)
    db.session.commit()

    def bid(**kw):
        return Proposal(
            kind=ProposalKind.BID, challenge_id=challenge.id, org_id=bidder.id, **kw
        )

    first = bid()
    db.session.add(first)
    db.session.commit()
    refused(db, bid())
    # Once withdrawn, the organisation may bid again.
    first.status = ProposalStatus.WITHDRAWN
    db.session.commit()
    db.session.add(bid())
    db.session.commit()


def test_proposal_targets_exactly_one_listing(db, parties):
    owner, bidder = parties
    result = Result(org_id=bidder.id, title="成果")
    db.session.add(result)
    db.session.commit()
    refused(db, Proposal(kind=ProposalKind.BID, result_id=result.id, org_id=owner.id))
    refused(db, Proposal(kind=ProposalKind.ADOPTION, org_id=owner.id))


def test_listing_amount_and_maturity_rules(db, parties):
    owner, institute = parties
    refused(db, Challenge(org_id=owner.id, title="负榜额", bounty_fen=-1))
    refused(db, Result(org_id=institute.id, title="TRL 10", trl=10))
    refused(db, Result(org_id=institute.id, title="负价格", price_fen=-100))


def test_external_ids_unique_per_org(db, parties):
    _, institute = parties
    db.session.add(Result(org_id=institute.id, title="一", external_id="X-1"))
    db.session.commit()
    refused(db, Result(org_id=institute.id, title="二", external_id="X-1"))


def test_enum_columns_refuse_unknown_states(db, parties):
    owner, _ = parties
    bad = (StatementError, LookupError, IntegrityError)
    with pytest.raises(bad), db.session.begin_nested():
        db.session.add(Challenge(org_id=owner.id, title="状态", status="bogus"))
        db.session.flush()


def test_one_target_per_year_and_scope(db):
    db.session.add(YearlyTarget(year=2020, amount_fen=130_000_000_00))
    db.session.commit()
    refused(db, YearlyTarget(year=2020, amount_fen=1))
    refused(db, YearlyTarget(year=1999, scope="411702", amount_fen=1))
