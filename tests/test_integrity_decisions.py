"""Restrictions hold at decision time; contracts link only their parties' listings.

A restriction recorded after a party applied still refuses every decision that
would advance it (shortlist, select, accept, deal, contract, broker), with the
reason on the page; recording it tells the owners of listings it has pending
bids or applications on. A contract names only a listing of its parties or of
its deal, and registering one that moves a listing tells the listing's owner.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.exceptions import ServiceError
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    ContractStatus,
    Deal,
    IntegrityRecord,
    MemberStatus,
    Notification,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalMember,
    ProposalStatus,
    Result,
    ResultStatus,
    User,
)
from marketplace.proposals import decisions
from tests.dates import iso, today
from tests.factories import make_challenge, make_result
from tests.test_contracts import form as contract_form

SOURCE = "驻科〔2026〕21 号"


def count(db, model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def restrict(db, org) -> None:
    db.session.add(
        IntegrityRecord(
            org_id=org.id,
            misconduct_type="fabrication",
            facts="检测数据系伪造。",
            decided_on=today(-1),
            restricted_until=today(365),
            source_document=SOURCE,
        )
    )
    db.session.commit()


def client_of(factory, login, org):
    user = factory.user(org)
    client = login(user)
    client.user, client.org = user, org
    return client


def bid(db, challenge_id, org, status=ProposalStatus.SUBMITTED, members=()) -> int:
    proposal = Proposal(
        kind=ProposalKind.BID,
        challenge_id=challenge_id,
        org_id=org.id,
        status=status,
        solution="组合生物膜工艺。",
    )
    for member, answer in members:
        proposal.members.append(ProposalMember(org_id=member.id, status=answer))
    db.session.add(proposal)
    db.session.commit()
    return proposal.id


def application(db, result_id, org) -> int:
    proposal = Proposal(
        kind=ProposalKind.ADOPTION,
        result_id=result_id,
        org_id=org.id,
        use_scenario="用于生产线。",
    )
    db.session.add(proposal)
    db.session.commit()
    return proposal.id


def notes_for(db, org_id) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification.message)
            .join(User, User.id == Notification.user_id)
            .where(User.org_id == org_id)
        )
    )


@pytest.fixture
def owner(enterprise_client):
    return enterprise_client


@pytest.fixture
def evaluating(db, owner) -> int:
    """A challenge whose bidding has closed: the owner may now decide."""
    return make_challenge(owner.org.id, status=ChallengeStatus.EVALUATING).id


# --- bids -----------------------------------------------------------------------------


def test_bid_filed_before_a_restriction_cannot_be_shortlisted(
    owner, factory, evaluating, db
):
    bidder = factory.org(OrgKind.INSTITUTE, name="后受限研究所")
    bid_id = bid(db, evaluating, bidder)
    restrict(db, bidder)
    page = owner.post(f"/proposals/{bid_id}/shortlist", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "后受限研究所”处于科研诚信限制期内" in text and "不能入围" in text
    assert db.session.get(Proposal, bid_id).status == ProposalStatus.SUBMITTED


def test_shortlisted_bid_of_a_restricted_party_cannot_be_selected(
    owner, factory, evaluating, db
):
    bidder = factory.org(OrgKind.UNIVERSITY)
    bid_id = bid(db, evaluating, bidder, ProposalStatus.SHORTLISTED)
    restrict(db, bidder)
    page = owner.post(
        f"/proposals/{bid_id}/select", data={"confirm": "y"}, follow_redirects=True
    )
    assert "不能中选" in page.get_data(as_text=True)
    assert db.session.get(Proposal, bid_id).status == ProposalStatus.SHORTLISTED
    assert db.session.get(Challenge, evaluating).status == ChallengeStatus.EVALUATING
    assert count(db, Deal) == 0


def test_consortium_member_restricted_after_confirming_blocks_the_bid(
    owner, factory, evaluating, db
):
    bidder = factory.org(OrgKind.UNIVERSITY)
    partner = factory.org(OrgKind.INSTITUTE, name="成员研究所")
    gone = factory.org(OrgKind.INSTITUTE)
    members = ((partner, MemberStatus.CONFIRMED), (gone, MemberStatus.DECLINED))
    bid_id = bid(db, evaluating, bidder, ProposalStatus.SHORTLISTED, members)
    restrict(db, gone)  # a member that declined does not count
    ticked = {"confirm": "y"}
    assert owner.post(f"/proposals/{bid_id}/select", data=ticked).status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, bid_id).status == ProposalStatus.SELECTED
    other = bid(db, make_challenge(owner.org.id, status="evaluating").id, bidder)
    db.session.add(
        ProposalMember(proposal_id=other, org_id=partner.id, status="confirmed")
    )
    db.session.commit()
    restrict(db, partner)
    page = owner.post(f"/proposals/{other}/shortlist", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "成员研究所”处于科研诚信限制期内" in text and "联合体" in text
    assert db.session.get(Proposal, other).status == ProposalStatus.SUBMITTED


def test_direct_award_and_select_share_one_rule(owner, factory, evaluating, db, app):
    bidder = factory.org(OrgKind.INSTITUTE, name="同一规则研究所")
    bid_id = bid(db, evaluating, bidder, ProposalStatus.SHORTLISTED)
    restrict(db, bidder)
    challenge = db.session.get(Challenge, evaluating)
    with pytest.raises(ServiceError) as refused:
        decisions._award_target(challenge, bidder.name)
    assert SOURCE in refused.value.message and refused.value.field == "org"
    with pytest.raises(ServiceError) as again:
        decisions.select_winner(db.session.get(Proposal, bid_id), owner.user)
    assert SOURCE in again.value.message


# --- adoption, deals, contracts, broker -----------------------------------------------


def test_application_filed_before_a_restriction_cannot_be_accepted(
    factory, login, enterprise_client, db
):
    university = client_of(factory, login, factory.org(OrgKind.UNIVERSITY))
    result_id = make_result(university.org.id).id
    app_id = application(db, result_id, enterprise_client.org)
    restrict(db, enterprise_client.org)
    page = university.post(
        f"/results/applications/{app_id}/accept", follow_redirects=True
    )
    assert "其转化申请不能获准" in page.get_data(as_text=True)
    assert db.session.get(Proposal, app_id).status == ProposalStatus.SUBMITTED
    assert count(db, Deal) == 0


def test_no_deal_with_a_restricted_party(agency_client, enterprise_client, factory, db):
    university = factory.org(OrgKind.UNIVERSITY, name="受限大学")
    restrict(db, university)
    data = {"title": "撮合", "demand_org": enterprise_client.org.name}
    response = agency_client.post(
        "/deals/new", data={**data, "supply_org": university.name}
    )
    assert response.status_code == 422
    assert "受限大学”处于科研诚信限制期内" in response.get_data(as_text=True)
    # Nor from a match.
    challenge_id = make_challenge(enterprise_client.org.id).id
    result_id = make_result(university.id).id
    enterprise_client.post(
        "/deals/from-match",
        data={"challenge_id": challenge_id, "result_id": result_id},
    )
    assert count(db, Deal) == 0


def test_no_restricted_broker(enterprise_client, factory, db):
    seller = factory.org(OrgKind.UNIVERSITY)
    agency = factory.org(OrgKind.AGENCY, name="受限转移机构")
    deal = Deal(
        title="撮合", demand_org_id=enterprise_client.org.id, supply_org_id=seller.id
    )
    db.session.add(deal)
    db.session.commit()
    deal_id = deal.id
    restrict(db, agency)
    page = enterprise_client.post(
        f"/deals/{deal_id}/broker", data={"broker": agency.name}, follow_redirects=True
    )
    assert "不能居间撮合" in page.get_data(as_text=True)
    assert db.session.get(Deal, deal_id).broker_org_id is None


def test_no_contract_with_a_restricted_party(enterprise_client, factory, db):
    seller = factory.org(OrgKind.INSTITUTE, name="受限卖方研究所")
    restrict(db, seller)
    response = enterprise_client.post(
        "/contracts/new", data=contract_form(enterprise_client.org, seller)
    )
    text = response.get_data(as_text=True)
    assert "受限卖方研究所”处于科研诚信限制期内" in text
    assert "不能作为技术合同的当事方" in text
    assert count(db, Contract) == 0


# --- recording a restriction tells the listing owners ---------------------------------


def test_recording_a_restriction_tells_owners_of_pending_bids_and_applications(
    bureau_client, factory, db
):
    party = factory.org(OrgKind.ENTERPRISE, name="被记录企业")
    bid_owner = factory.org(OrgKind.ENTERPRISE)
    done_owner = factory.org(OrgKind.ENTERPRISE)
    member_owner = factory.org(OrgKind.ENTERPRISE)
    result_owner = factory.org(OrgKind.UNIVERSITY)
    for org in (bid_owner, done_owner, member_owner, result_owner):
        factory.user(org)
    bid(db, make_challenge(bid_owner.id, title="待评审的榜单").id, party)
    decided = make_challenge(done_owner.id).id
    bid(db, decided, party, ProposalStatus.DECLINED)
    other = factory.org(OrgKind.UNIVERSITY)
    bid(
        db,
        make_challenge(member_owner.id).id,
        other,
        members=((party, MemberStatus.INVITED),),
    )
    application(db, make_result(result_owner.id, title="待处理的成果").id, party)
    response = bureau_client.post(
        "/integrity/new",
        data={
            "subject": "org",
            "org_text": party.name,
            "email": "",
            "misconduct_type": "plagiarism",
            "facts": "结题报告抄袭。",
            "decided_on": iso(-1),
            "restricted_until": iso(300),
            "source_document": SOURCE,
        },
    )
    assert response.status_code == 302
    (note,) = notes_for(db, bid_owner.id)
    assert "被记录企业" in note and "待评审的榜单" in note and "申报" in note
    assert notes_for(db, done_owner.id) == []  # a decided bid needs no warning
    assert len(notes_for(db, member_owner.id)) == 1
    (note,) = notes_for(db, result_owner.id)
    assert "待处理的成果" in note and "转化申请" in note


# --- a contract links only its parties' listings --------------------------------------


@pytest.fixture
def seller(factory):
    return factory.org(OrgKind.INSTITUTE, name="卖方研究所")


def test_contract_cannot_link_another_organisations_listing(
    enterprise_client, seller, factory, db
):
    stranger = factory.org(OrgKind.UNIVERSITY)
    foreign_result = make_result(stranger.id).id
    third = factory.org(OrgKind.ENTERPRISE)
    foreign_challenge = make_challenge(third.id, status=ChallengeStatus.AWARDED).id
    buyer = enterprise_client.org
    for extra, word in (
        ({"result_id": str(foreign_result)}, "科技成果"),
        ({"challenge_id": str(foreign_challenge)}, "技术需求"),
        ({"result_id": "999999"}, "科技成果"),  # missing reads the same
    ):
        response = enterprise_client.post(
            "/contracts/new", data=contract_form(buyer, seller, **extra)
        )
        assert response.status_code == 200
        assert f"合同只能关联买方或卖方自己的{word}" in response.get_data(as_text=True)
    # An outside seller does not open the door either.
    outside = contract_form(
        buyer, seller, seller_org="", seller_name="平台外公司", seller_region="411702"
    )
    response = enterprise_client.post(
        "/contracts/new", data={**outside, "result_id": str(foreign_result)}
    )
    assert "合同只能关联买方或卖方自己的科技成果" in response.get_data(as_text=True)
    assert count(db, Contract) == 0
    # A party's own listing is fine.
    own = make_result(seller.id).id
    response = enterprise_client.post(
        "/contracts/new", data=contract_form(buyer, seller, result_id=str(own))
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Contract.result_id)) == own


def test_deal_contract_is_between_the_deal_parties(
    enterprise_client, seller, factory, db
):
    deal = Deal(
        title="撮合", demand_org_id=enterprise_client.org.id, supply_org_id=seller.id
    )
    db.session.add(deal)
    db.session.commit()
    deal_id = deal.id
    other = factory.org(OrgKind.UNIVERSITY)
    data = contract_form(enterprise_client.org, other, deal_id=str(deal_id))
    response = enterprise_client.post("/contracts/new", data=data)
    assert "买卖双方须是该项目的双方机构" in response.get_data(as_text=True)
    agency = factory.org(OrgKind.AGENCY)
    data = contract_form(
        enterprise_client.org,
        seller,
        deal_id=str(deal_id),
        broker_org=str(agency.id),
    )
    response = enterprise_client.post("/contracts/new", data=data)
    assert "须是该撮合项目的经纪机构" in response.get_data(as_text=True)
    assert count(db, Contract) == 0


def test_registration_shows_and_tells_the_listing_owner(
    bureau_client, enterprise_client, seller, factory, db
):
    factory.user(seller)
    result_id = make_result(seller.id, title="可转让的膜工艺").id
    response = enterprise_client.post(
        "/contracts/new",
        data=contract_form(enterprise_client.org, seller, result_id=result_id),
    )
    assert response.status_code == 302
    contract_id = db.session.scalar(select(Contract.id))
    page = bureau_client.get(f"/contracts/{contract_id}").get_data(as_text=True)
    assert (
        "科技成果“可转让的膜工艺”（发布机构：卖方研究所）"
        "将由“已发布”变为“已转化”" in page
    )
    bureau_client.post(
        f"/contracts/{contract_id}/register", data={"registration_no": "41170220269001"}
    )
    db.session.expire_all()
    assert db.session.get(Contract, contract_id).status == ContractStatus.REGISTERED
    assert db.session.get(Result, result_id).status == ResultStatus.TRANSFERRED
    notes = notes_for(db, seller.id)
    assert any("可转让的膜工艺" in n and "“已转化”" in n for n in notes), notes
    # A contract with nothing linked says so.
    response = enterprise_client.post(
        "/contracts/new", data=contract_form(enterprise_client.org, seller)
    )
    plain = db.session.scalar(select(func.max(Contract.id)))
    page = bureau_client.get(f"/contracts/{plain}").get_data(as_text=True)
    assert "本合同未关联技术需求或科技成果" in page
