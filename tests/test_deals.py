"""The broker workspace: creating deals, moving stages, notes, broker, visibility."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.deals import services
from marketplace.exceptions import StateError
from marketplace.models import (
    AuditEvent,
    Deal,
    DealEvent,
    DealStage,
    Notification,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalStatus,
    User,
    UserRole,
)
from tests.factories import make_challenge


@pytest.fixture
def parties(factory):
    firm = factory.org(OrgKind.ENTERPRISE)
    uni = factory.org(OrgKind.UNIVERSITY)
    return {
        "firm": firm,
        "uni": uni,
        "firm_user": factory.user(firm, role=UserRole.ORG_ADMIN),
        "uni_user": factory.user(uni),
    }


def count(db, model=Deal):
    return db.session.scalar(select(func.count(model.id)))


def create(client, demand, supply, title="锂电池回收技术对接"):
    return client.post(
        "/deals/new",
        data={"title": title, "demand_org": demand, "supply_org": supply},
    )


@pytest.fixture
def deal(login, db, parties):
    client = login(parties["firm_user"])
    response = create(client, parties["firm"].name, parties["uni"].credit_code)
    assert response.status_code == 302
    return db.session.scalar(select(Deal))


def stage_of(db, deal):
    db.session.expire_all()
    return db.session.get(Deal, deal.id).stage


# --- creating -------------------------------------------------------------------


def test_party_creates_a_deal_by_name_and_credit_code(login, db, parties):
    client = login(parties["firm_user"])
    assert client.get("/deals/new").status_code == 200
    response = create(client, parties["firm"].name, parties["uni"].credit_code)
    assert response.status_code == 302
    deal = db.session.scalar(select(Deal))
    assert response.headers["Location"].endswith(f"/deals/{deal.id}")
    assert deal.demand_org_id == parties["firm"].id
    assert deal.supply_org_id == parties["uni"].id
    assert deal.stage == DealStage.LEAD and deal.broker_org_id is None
    assert count(db, DealEvent) == 1
    notified = db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == parties["uni_user"].id
        )
    )
    assert notified == 1
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "deal_opened")
    )


def test_agency_creates_a_deal_as_broker(agency_client, db, parties):
    response = create(agency_client, parties["firm"].name, parties["uni"].name)
    assert response.status_code == 302
    deal = db.session.scalar(select(Deal))
    assert deal.broker_org_id == agency_client.org.id
    assert deal.broker_user_id == agency_client.user.id


def test_outsider_cannot_create_a_deal_between_others(enterprise_client, db, parties):
    response = create(enterprise_client, parties["firm"].name, parties["uni"].name)
    assert response.status_code == 422
    assert "双方机构" in response.get_data(as_text=True)
    assert count(db) == 0


@pytest.mark.parametrize("who", ["bureau", "unverified"])
def test_bureau_and_unverified_cannot_create(request, db, parties, who):
    client = request.getfixturevalue(f"{who}_client")
    assert create(client, parties["firm"].name, parties["uni"].name).status_code == 403
    assert count(db) == 0


def test_same_org_on_both_sides_is_refused(login, db, parties):
    client = login(parties["firm_user"])
    response = create(client, parties["firm"].name, parties["firm"].credit_code)
    assert response.status_code == 422
    assert "同一机构" in response.get_data(as_text=True)
    assert count(db) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"title": "", "demand_org": "x", "supply_org": "y"},
        {"title": "a", "demand_org": "不存在的机构", "supply_org": "y"},
        {"title": "a" * 201, "demand_org": "x", "supply_org": "y"},
        {"title": "a\x07b", "demand_org": "x", "supply_org": "y"},
    ],
)
def test_bad_input_is_refused(login, db, parties, data):
    client = login(parties["firm_user"])
    data = {
        **data,
        "demand_org": parties["firm"].name
        if data["demand_org"] == "x"
        else data["demand_org"],
        "supply_org": parties["uni"].name,
    }
    assert client.post("/deals/new", data=data).status_code == 422
    assert count(db) == 0


def test_new_deal_prefilled_from_a_challenge(login, db, parties):
    challenge = make_challenge(parties["firm"].id, title="废旧电池梯次利用")
    client = login(parties["uni_user"])
    page = client.get(f"/deals/new?challenge={challenge.id}").get_data(as_text=True)
    assert parties["firm"].name in page and "废旧电池梯次利用" in page
    response = client.post(
        "/deals/new",
        data={
            "title": "梯次利用",
            "demand_org": parties["firm"].name,
            "supply_org": parties["uni"].name,
            "challenge_id": challenge.id,
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Deal)).challenge_id == challenge.id


# --- stages ---------------------------------------------------------------------


def move(client, deal, stage, note=""):
    return client.post(f"/deals/{deal.id}/stage", data={"stage": stage, "note": note})


def test_each_stage_move(login, db, parties, deal):
    firm = login(parties["firm_user"])
    uni = login(parties["uni_user"])
    for client, stage, note in [
        (firm, "contacted", "已电话联系"),
        (uni, "negotiating", ""),
        (firm, "contacted", "退回接洽"),
        (uni, "negotiating", ""),
        (firm, "lost", "价格谈不拢"),
        (uni, "lead", "重新启动"),
    ]:
        assert move(client, deal, stage, note).status_code == 302
        assert stage_of(db, deal) == stage
    events = db.session.scalars(
        select(DealEvent).where(DealEvent.to_stage == "lost")
    ).all()
    assert [(e.from_stage, e.note) for e in events] == [("negotiating", "价格谈不拢")]
    assert count(db, DealEvent) == 7
    stage_audits = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "deal_stage")
    )
    assert stage_audits == 6
    uni_notes = db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == parties["uni_user"].id
        )
    )
    assert uni_notes == 1 + 3  # the opening, then every firm move


@pytest.mark.parametrize(
    ("stage", "note", "message"),
    [
        ("signed", "", "登记技术合同"),
        ("lost", "", "说明原因"),
        ("won", "", "未知的阶段"),
        ("negotiating", "", "不能改为"),
    ],
)
def test_refused_moves(login, db, parties, deal, stage, note, message):
    client = login(parties["firm_user"])
    response = move(client, deal, stage, note)
    assert response.status_code == 302
    assert message in client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert stage_of(db, deal) == "lead"
    assert count(db, DealEvent) == 1


def test_outsider_gets_404_and_nothing_changes(enterprise_client, db, deal):
    assert enterprise_client.get(f"/deals/{deal.id}").status_code == 404
    assert move(enterprise_client, deal, "contacted").status_code == 404
    note = enterprise_client.post(f"/deals/{deal.id}/notes", data={"note": "x"})
    assert note.status_code == 404
    assert stage_of(db, deal) == "lead"
    assert count(db, DealEvent) == 1


def test_bureau_reads_but_cannot_act(bureau_client, db, deal):
    page = bureau_client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "只读" in page and "添加备注" not in page
    assert move(bureau_client, deal, "contacted").status_code == 403
    assert stage_of(db, deal) == "lead"


def test_unknown_deal_is_404(login, parties):
    assert login(parties["firm_user"]).get("/deals/999999").status_code == 404


# --- notes and broker -----------------------------------------------------------


def test_notes_by_party_and_broker_html_escaped(login, db, factory, parties, deal):
    agency = factory.org(OrgKind.AGENCY)
    broker_user = factory.user(agency)
    firm = login(parties["firm_user"])
    assert (
        firm.post(f"/deals/{deal.id}/broker", data={"broker": agency.name}).status_code
        == 302
    )
    broker = login(broker_user)
    evil = "<script>alert(1)</script>"
    assert firm.post(f"/deals/{deal.id}/notes", data={"note": "对方已回复"}).status_code
    assert broker.post(f"/deals/{deal.id}/notes", data={"note": evil}).status_code
    page = firm.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert evil not in page and "&lt;script&gt;" in page
    assert page.index("&lt;script&gt;") < page.index("对方已回复")  # newest first
    db.session.expire_all()
    fresh = db.session.get(Deal, deal.id)
    assert fresh.broker_org_id == agency.id
    assert fresh.broker_user_id == broker_user.id  # credited to who worked it


def test_notes_refused_for_outsider_and_empty(
    login, enterprise_client, db, parties, deal
):
    assert (
        enterprise_client.post(
            f"/deals/{deal.id}/notes", data={"note": "x"}
        ).status_code
        == 404
    )
    firm = login(parties["firm_user"])
    firm.post(f"/deals/{deal.id}/notes", data={"note": "   "})
    assert count(db, DealEvent) == 1


def test_broker_must_be_a_verified_agency(login, db, factory, parties, deal):
    other_firm = factory.org(OrgKind.ENTERPRISE)
    client = login(parties["firm_user"])
    client.post(f"/deals/{deal.id}/broker", data={"broker": other_firm.name})
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).broker_org_id is None


def test_broker_cannot_replace_itself(login, agency_client, db, factory, parties):
    create(agency_client, parties["firm"].name, parties["uni"].name)
    deal = db.session.scalar(select(Deal))
    other = factory.org(OrgKind.AGENCY)
    response = agency_client.post(
        f"/deals/{deal.id}/broker", data={"broker": other.name}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).broker_org_id == agency_client.org.id


# --- the board ------------------------------------------------------------------


def test_board_shows_only_own_deals_and_bureau_sees_all(
    login, bureau_client, db, factory, parties
):
    third = factory.org(OrgKind.INSTITUTE)
    third_user = factory.user(third)
    create(
        login(parties["firm_user"]),
        parties["firm"].name,
        parties["uni"].name,
        "甲乙项目",
    )
    create(login(third_user), third.name, parties["uni"].name, "丙乙项目")
    firm_board = login(parties["firm_user"]).get("/deals/").get_data(as_text=True)
    assert "甲乙项目" in firm_board and "丙乙项目" not in firm_board
    uni_list = (
        login(parties["uni_user"]).get("/deals/?view=list").get_data(as_text=True)
    )
    assert "甲乙项目" in uni_list and "丙乙项目" in uni_list
    bureau_board = bureau_client.get("/deals/").get_data(as_text=True)
    assert "甲乙项目" in bureau_board and "丙乙项目" in bureau_board
    assert 'data-stage-count="lead">2<' in bureau_board


def test_list_filters_by_stage(login, db, parties, deal):
    client = login(parties["firm_user"])
    move(client, deal, "contacted", "")
    assert deal.title in client.get("/deals/?view=list&stage=contacted").get_data(
        as_text=True
    )
    assert deal.title not in client.get("/deals/?view=list&stage=lead").get_data(
        as_text=True
    )


def test_long_columns_are_cut_and_the_list_pages(login, db, parties, monkeypatch):
    from marketplace.deals import routes

    monkeypatch.setattr(routes, "BOARD_COLUMN", 3)
    monkeypatch.setattr(routes, "LIST_PAGE", 4)
    for n in range(5):
        db.session.add(
            Deal(
                title=f"批量项目{n}号",
                demand_org_id=parties["firm"].id,
                supply_org_id=parties["uni"].id,
                stage=DealStage.LEAD,
            )
        )
    db.session.commit()
    client = login(parties["firm_user"])
    board = client.get("/deals/").get_data(as_text=True)
    assert 'data-stage-count="lead">5<' in board
    assert sum(f"批量项目{n}号" in board for n in range(5)) == 3
    assert "第 1–3 项，共 5 项" in board and "p_lead=2" in board
    rest = client.get("/deals/?p_lead=2").get_data(as_text=True)
    assert sum(f"批量项目{n}号" in rest for n in range(5)) == 2
    assert "第 4–5 项，共 5 项" in rest and 'rel="prev"' in rest
    first = client.get("/deals/?view=list").get_data(as_text=True)
    second = client.get("/deals/?view=list&page=2").get_data(as_text=True)
    assert sum(f"批量项目{n}号" in first for n in range(5)) == 4
    assert sum(f"批量项目{n}号" in second for n in range(5)) == 1
    assert 'rel="next"' in first


def test_board_requires_login(client):
    assert client.get("/deals/").status_code == 302


# --- from a proposal ------------------------------------------------------------


def _bid(db, challenge_id, org_id, status):
    proposal = Proposal(
        kind=ProposalKind.BID, challenge_id=challenge_id, org_id=org_id, status=status
    )
    db.session.add(proposal)
    db.session.commit()
    return proposal.id


def test_decided_proposal_returns_its_deal(login, db, parties):
    challenge = make_challenge(parties["firm"].id, title="高效电机")
    pid = _bid(db, challenge.id, parties["uni"].id, ProposalStatus.SELECTED)
    deal = Deal(
        title="高效电机",
        demand_org_id=parties["firm"].id,
        supply_org_id=parties["uni"].id,
        challenge_id=challenge.id,
        proposal_id=pid,
    )
    db.session.add(deal)
    db.session.commit()
    deal_id = deal.id
    client = login(parties["uni_user"])
    response = client.get(f"/deals/new?proposal={pid}")
    assert response.headers["Location"].endswith(f"/deals/{deal_id}")
    proposal = db.session.get(Proposal, pid)
    user = db.session.get(User, parties["uni_user"].id)
    assert services.create_deal(user, None, None, "", proposal=proposal).id == deal_id
    assert count(db) == 1
    # The selected proposal's page leads to the deal, and the deal to a contract.
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert f'href="/deals/{deal_id}"' in page
    detail = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert f'href="/contracts/new?deal={deal_id}"' in detail


def test_undecided_proposal_opens_no_deal(login, db, parties):
    challenge = make_challenge(parties["firm"].id, title="高效电机")
    pid = _bid(db, challenge.id, parties["uni"].id, ProposalStatus.SUBMITTED)
    client = login(parties["uni_user"])
    assert client.get(f"/deals/new?proposal={pid}").status_code == 302
    proposal = db.session.get(Proposal, pid)
    user = db.session.get(User, parties["uni_user"].id)
    with pytest.raises(StateError):
        services.create_deal(user, None, None, "", proposal=proposal)
    assert count(db) == 0
