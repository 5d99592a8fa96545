"""Everyone in the loop: consortium members, losing bidders, notifications, ticks.

Confirmed consortium members of the winning bid hear of the win and read the
deal, its contracts and the project as parties; those of a losing bid hear of
the loss. A losing bidder reads one reason the owner had to pick (and a note).
Opening the page a notification links to marks it read. Selecting the winner
waits for the confirmation tick.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from marketplace.clock import local_today
from marketplace.extensions import db as _db
from marketplace.models import (
    ChallengeStatus,
    Contract,
    Deal,
    DeclineReason,
    MemberStatus,
    Notification,
    OrgKind,
    Proposal,
    ProposalStatus,
    User,
)
from tests.factories import contract_between, make_challenge, project_for
from tests.test_integrity_decisions import bid, client_of

TICK = {"confirm": "y"}


def notes_of(db, org_id) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [
        (message, link)
        for message, link in db.session.execute(
            select(Notification.message, Notification.link)
            .join(User, User.id == Notification.user_id)
            .where(User.org_id == org_id)
            .order_by(Notification.id)
        )
    ]


def text(response) -> str:
    return response.get_data(as_text=True)


class Loop:
    """An evaluating challenge with two consortium bids and everyone's client."""


@pytest.fixture
def loop(db, factory, login, enterprise_client):
    world = Loop()
    world.owner = enterprise_client
    challenge = make_challenge(
        enterprise_client.org.id,
        status=ChallengeStatus.EVALUATING,
        title="冷链物流温控系统",
    )
    world.challenge_id = challenge.id
    orgs = {
        "lead": factory.org(OrgKind.INSTITUTE, name="牵头研究所"),
        "partner": factory.org(OrgKind.UNIVERSITY, name="成员大学"),
        "invited": factory.org(OrgKind.INSTITUTE, name="未答复研究所"),
        "refused": factory.org(OrgKind.INSTITUTE, name="已拒绝研究所"),
        "loser": factory.org(OrgKind.UNIVERSITY, name="落选大学"),
        "loser_partner": factory.org(OrgKind.INSTITUTE, name="落选成员研究所"),
        "outsider": factory.org(OrgKind.INSTITUTE, name="局外研究所"),
    }
    world.orgs = orgs
    world.winner_id = bid(
        db,
        challenge.id,
        orgs["lead"],
        ProposalStatus.SHORTLISTED,
        [
            (orgs["partner"], MemberStatus.CONFIRMED),
            (orgs["invited"], MemberStatus.INVITED),
            (orgs["refused"], MemberStatus.DECLINED),
        ],
    )
    world.loser_id = bid(
        db,
        challenge.id,
        orgs["loser"],
        ProposalStatus.SUBMITTED,
        [(orgs["loser_partner"], MemberStatus.CONFIRMED)],
    )
    world.clients = {name: client_of(factory, login, org) for name, org in orgs.items()}
    return world


def nothing_decided(db, world) -> None:
    db.session.expire_all()
    assert db.session.get(Proposal, world.winner_id).status == "shortlisted"
    assert db.session.get(Proposal, world.loser_id).status == "submitted"
    assert db.session.scalar(select(func.count(Deal.id))) == 0


def award(db, world, **data) -> Deal:
    form = {"reason_code": "route", "note": "", **TICK, **data}
    response = world.owner.post(f"/proposals/{world.winner_id}/select", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    deal = db.session.scalar(select(Deal).where(Deal.proposal_id == world.winner_id))
    assert deal is not None
    return deal


# --- the outcome reaches every confirmed member -------------------------------------


def test_consortium_members_hear_the_outcome_with_links_to_it(db, loop):
    deal = award(db, loop, reason_code="route", note="检测周期过长")
    deal_link = f"/deals/{deal.id}"
    # The winning consortium's confirmed member hears of the win, linked to the deal.
    (won,) = notes_of(db, loop.orgs["partner"].id)
    assert "联合体" in won[0] and "已中选" in won[0] and "牵头研究所" in won[0]
    assert won[1] == deal_link
    assert any(link == deal_link for _, link in notes_of(db, loop.orgs["lead"].id))
    # Members that never confirmed, or refused, are not parties: nothing new.
    for name in ("invited", "refused"):
        assert not any("中选" in m for m, _ in notes_of(db, loop.orgs[name].id))
    # The losing consortium: lead and confirmed member read the one reason.
    loser_link = f"/proposals/{loop.loser_id}"
    expected = "申报未中选（原因：技术路线）：检测周期过长"
    (lost,) = notes_of(db, loop.orgs["loser"].id)
    assert expected in lost[0] and lost[1] == loser_link
    (member_lost,) = notes_of(db, loop.orgs["loser_partner"].id)
    assert "联合体" in member_lost[0] and expected in member_lost[0]
    assert member_lost[1] == loser_link
    for name in ("loser", "loser_partner"):
        assert "未中选：未中选" not in notes_of(db, loop.orgs[name].id)[0][0]


def test_a_consortium_member_reads_the_deal_but_does_not_act_on_it(db, loop):
    deal = award(db, loop)
    partner = loop.clients["partner"]
    page = partner.get(f"/deals/{deal.id}")
    assert page.status_code == 200
    body = text(page)
    assert "只读" in body and "联合体成员" in body and "成员大学" in body
    assert "登记技术合同" not in body
    # Its board and list show the deal too.
    listed = text(partner.get("/deals/?view=list"))
    assert f"/deals/{deal.id}" in listed
    # The proposal page links on to the deal.
    assert f"/deals/{deal.id}" in text(partner.get(f"/proposals/{loop.winner_id}"))
    # Acting stays with the lead parties.
    before = deal.stage
    for action, data in (("notes", {"note": "x"}), ("stage", {"stage": "negotiating"})):
        assert partner.post(f"/deals/{deal.id}/{action}", data=data).status_code == 403
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage == before
    # Everyone else still gets a 404, members that never confirmed included.
    for name in ("invited", "refused", "loser", "loser_partner", "outsider"):
        client = loop.clients[name]
        assert client.get(f"/deals/{deal.id}").status_code == 404, name
        assert f"/deals/{deal.id}" not in text(client.get("/deals/?view=list")), name


def _contract(world, deal_id: int | None, title: str) -> int:
    return contract_between(
        world.owner.org.id,
        world.orgs["lead"].id,
        deal_id,
        title=title,
        challenge_id=world.challenge_id,
        signed_on=local_today() - timedelta(days=3),
        amount_fen=40_000_000,
        tech_amount_fen=40_000_000,
    )


def test_a_consortium_member_reads_the_contracts_and_the_project(db, loop):
    deal = award(db, loop)
    via_deal = _contract(loop, deal.id, "联合体开发合同")
    # A project's contract counts even when it was recorded without the deal.
    under_project = _contract(loop, None, "联合体项目合同")
    project_id = project_for(
        loop.challenge_id, under_project, loop.winner_id, budget_fen=40_000_000
    )
    partner = loop.clients["partner"]
    for contract_id in (via_deal, under_project):
        page = partner.get(f"/contracts/{contract_id}")
        assert page.status_code == 200
        # It reads the ledger but records no payment: that is the parties' job.
        assert f"/contracts/{contract_id}/payments" not in text(page)
        paid = partner.post(
            f"/contracts/{contract_id}/payments",
            data={"received_on": local_today().isoformat(), "amount": "1"},
        )
        assert paid.status_code == 403
    db.session.expire_all()
    assert db.session.get(Contract, via_deal).paid_fen == 0
    # The lead parties still see their payment form.
    owner_page = text(loop.owner.get(f"/contracts/{via_deal}"))
    assert f"/contracts/{via_deal}/payments" in owner_page
    register = text(partner.get("/contracts/"))
    assert f'"/contracts/{via_deal}"' in register
    assert f'"/contracts/{under_project}"' in register
    assert partner.get(f"/projects/{project_id}").status_code == 200
    assert f"/projects/{project_id}" in text(partner.get("/projects/"))
    assert partner.post(f"/projects/{project_id}/begin", data=TICK).status_code == 403
    for name in ("invited", "loser_partner", "outsider"):
        client = loop.clients[name]
        assert client.get(f"/contracts/{via_deal}").status_code == 404, name
        assert client.get(f"/contracts/{under_project}").status_code == 404, name
        assert client.get(f"/projects/{project_id}").status_code == 404, name
        assert f'"/contracts/{via_deal}"' not in text(client.get("/contracts/"))


# --- reasons a losing bidder reads ---------------------------------------------------


def test_declining_needs_a_reason_code_and_reads_without_repetition(db, loop):
    path = f"/proposals/{loop.loser_id}/decline"
    for data in ({"note": "团队缺少中试经验"}, {"reason_code": "cheap"}):
        refused = loop.owner.post(path, data=data, follow_redirects=True)
        assert "请选择未中选原因" in text(refused) or "不是有效" in text(refused)
        db.session.expire_all()
        assert db.session.get(Proposal, loop.loser_id).status == "submitted"
    form = loop.owner.get(f"/proposals/{loop.loser_id}")
    for reason in DeclineReason:
        assert f'value="{reason.value}">{reason.label}</option>' in text(form)
    loop.owner.post(path, data={"reason_code": "team", "note": "团队缺少中试经验"})
    db.session.expire_all()
    declined = db.session.get(Proposal, loop.loser_id)
    assert declined.decline_reason_code == DeclineReason.TEAM
    assert declined.decline_reason == "团队缺少中试经验"
    page = text(loop.clients["loser"].get(f"/proposals/{loop.loser_id}"))
    assert "申报未中选（原因：团队能力）：团队缺少中试经验" in page
    assert "未中选：未中选" not in page
    # The proposal's history says the reason too.
    assert "揭榜申报未入选（原因：团队能力）：团队缺少中试经验" in page
    owner_list = text(loop.owner.get(f"/proposals/challenge/{loop.challenge_id}"))
    assert "申报未中选（原因：团队能力）" in owner_list


def test_the_summary_never_repeats_itself():
    bare = Proposal(decline_reason_code=DeclineReason.PRICE, decline_reason="")
    assert bare.decline_summary == "申报未中选（原因：报价）"
    noted = Proposal(decline_reason_code=DeclineReason.TIMING, decline_reason="晚了")
    assert noted.decline_summary == "申报未中选（原因：时间安排）：晚了"
    # Bids declined before reason codes stored the bare word as their reason.
    assert Proposal(decline_reason="未中选").decline_summary == "申报未中选"
    assert Proposal(decline_reason="价高").decline_summary == "申报未中选：价高"


def test_selecting_asks_one_reason_for_the_other_bidders(db, loop):
    page = text(loop.owner.get(f"/proposals/{loop.winner_id}"))
    assert "其他 1 份申报将被告知未中选" in page and 'id="select-reason-code"' in page
    path = f"/proposals/{loop.winner_id}/select"
    refused = loop.owner.post(path, data=TICK, follow_redirects=True)
    assert "请选择未中选原因" in text(refused)
    nothing_decided(db, loop)
    award(db, loop, reason_code="timing")
    loser = db.session.get(Proposal, loop.loser_id)
    assert loser.decline_reason_code == DeclineReason.TIMING
    assert loser.decline_summary == "申报未中选（原因：时间安排）"


# --- confirmation before selecting ---------------------------------------------------


def test_selecting_the_winner_waits_for_the_tick(db, loop):
    page = text(loop.owner.get(f"/proposals/{loop.winner_id}"))
    assert 'id="confirm-select"' in page
    # The list page sends the owner to the bid's page rather than selecting at once.
    listing = text(loop.owner.get(f"/proposals/challenge/{loop.challenge_id}"))
    assert f"/proposals/{loop.winner_id}/select" not in listing
    path = f"/proposals/{loop.winner_id}/select"
    for data in ({"reason_code": "price"}, {"reason_code": "price", "confirm": ""}):
        refused = loop.owner.post(path, data=data, follow_redirects=True)
        assert "请先勾选确认框" in text(refused)
    nothing_decided(db, loop)
    assert not notes_of(db, loop.orgs["partner"].id)


# --- notifications become read when their page is opened ------------------------------


def _unread(db, user_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification.link).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
    )


def test_opening_the_linked_page_marks_the_notification_read(db, loop):
    deal = award(db, loop)
    partner, lead = loop.clients["partner"], loop.clients["lead"]
    deal_link = f"/deals/{deal.id}"
    db.session.add_all(
        [
            Notification(
                user_id=partner.user.id, message="合同区", link=f"{deal_link}#x"
            ),
            Notification(
                user_id=partner.user.id, message="另一页", link=f"/proposals/{deal.id}9"
            ),
        ]
    )
    db.session.commit()
    assert deal_link in _unread(db, partner.user.id)
    assert partner.get(deal_link).status_code == 200
    left = _unread(db, partner.user.id)
    assert deal_link not in left and f"{deal_link}#x" not in left
    assert f"/proposals/{deal.id}9" in left
    # Only the visitor's own notifications: the lead's stay unread.
    assert deal_link in _unread(db, lead.user.id)
    # A POST to the page's actions does not count as reading it.
    lead.post(f"{deal_link}/notes", data={"note": "已联系"})
    assert deal_link in _unread(db, lead.user.id)
    # An outsider opening the address marks nothing (it has no such notification).
    outsider = loop.clients["outsider"]
    assert outsider.get(deal_link).status_code == 404
    assert deal_link in _unread(db, lead.user.id)


def test_a_page_without_unread_notifications_does_not_write(app, db, loop):
    partner = loop.clients["partner"]
    writes = []

    def seen(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert partner.get(f"/proposals/{loop.winner_id}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not [w for w in writes if "notifications" in w]
