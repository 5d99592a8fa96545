"""Anonymous challenges (匿名发布): the poster's name stays hidden from outsiders."""

from __future__ import annotations

import re

import pytest
from flask import url_for
from sqlalchemy import select

from marketplace import permissions
from marketplace.models import (
    Challenge,
    ChallengeReveal,
    Contract,
    MemberStatus,
    Notification,
    OrgKind,
    OutgoingMail,
    PanelStatus,
    Proposal,
    ProposalMember,
    ProposalStatus,
    User,
)
from marketplace.proposals import decisions
from marketplace.search.documents import document_for
from marketplace.search.sync import get_index
from tests.factories import make_completed_panel, make_result
from tests.test_challenges import bid, form_data
from tests.test_contracts import form as contract_form

HIDDEN = "甲乙丙隐名科技有限公司"
TITLE = "果蔬清洗废水低能耗回用处理"
SHOWN = "某企业（驿城区、环保与资源综合利用）"


def page(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def world(app, db, factory, login):
    """An anonymous challenge, published through the form and the review, plus
    a matching result, two bidders and outsiders."""
    seeker = factory.org(OrgKind.ENTERPRISE, name=HIDDEN)
    owner = factory.user(seeker)
    bureau = factory.user(factory.org(OrgKind.BUREAU))
    owner_client, bureau_client = login(owner), login(bureau)
    response = owner_client.post(
        "/challenges/new",
        data=form_data(
            title=TITLE,
            anonymous="y",
            reveal_to=ChallengeReveal.AFTER_TERMS.value,
            allowed_bidder_kinds=["university", "institute", "enterprise"],
            contact_email="secret-contact@jiayibing.cn",
        ),
    )
    assert response.status_code == 302
    challenge = db.session.scalar(select(Challenge).where(Challenge.title == TITLE))
    assert challenge.anonymous
    assert owner_client.post(f"/challenges/{challenge.id}/submit").status_code == 302
    bureau_client.post(f"/bureau/reviews/challenge/{challenge.id}/approve")
    db.session.expire_all()
    assert db.session.get(Challenge, challenge.id).status == "open"

    lab = factory.org(OrgKind.INSTITUTE)
    lab_user = factory.user(lab)
    uni = factory.org(OrgKind.UNIVERSITY)
    uni_user = factory.user(uni)
    firm_user = factory.user(factory.org(OrgKind.ENTERPRISE))
    result = make_result(lab.id, title="低能耗生物膜废水处理工艺")
    bids = {org.id: bid(db, challenge.id, org.id) for org in (lab, uni)}
    # A decision the bidder is told about, written by the real verb.
    decisions.decline(
        db.session.get(Proposal, bids[uni.id]), owner, "route", "方案不符合"
    )
    db.session.commit()
    get_index().reindex(db.session)
    return {
        "challenge_id": challenge.id,
        "seeker": seeker,
        "owner": owner,
        "owner_client": owner_client,
        "bureau_client": bureau_client,
        "lab_user": lab_user,
        "uni_user": uni_user,
        "firm_user": firm_user,
        "result_id": result.id,
        "bids": bids,
        "lab": lab,
    }


def _urls(app, world, **more) -> list[str]:
    """Every GET page the app has, ids filled in with the world's objects."""
    values = more | {
        "challenge_id": world["challenge_id"],
        "org_id": world["seeker"].id,
        "result_id": world["result_id"],
        "proposal_id": world["bids"][world["lab"].id],
        "ext": "csv",
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        if not set(rule.arguments) <= set(values):
            continue  # objects of other features (deals, panels …) not in play
        with app.test_request_context():
            args = {a: values[a] for a in rule.arguments}
            urls.append(url_for(rule.endpoint, **args))
    term = "废水处理"
    urls += [
        f"/search?q={term}",
        f"/search?q={HIDDEN}",
        "/search?q=甲乙丙",
        f"/search?q={term}&kind=challenge",
        f"/api/v1/search?q={term}",
        f"/api/v1/search?q={HIDDEN}",
        f"/match?text={term}",
        f"/deals/new?challenge_id={world['challenge_id']}",
    ]
    return sorted(set(urls))


def _leaks(client, urls, challenge_id) -> list[str]:
    link = re.compile(rf"/challenges/{challenge_id}(?!\d)")
    found = []
    for url in urls:
        response = client.get(url)
        body = page(response)
        if response.status_code >= 500:
            found.append(f"{url}: {response.status_code}")
        # The organisation directory and its own profile name it, without the
        # challenge; a page about the challenge must never name it.
        if HIDDEN in body and (TITLE in body or link.search(body) or "api" in url):
            found.append(url)
        if "secret-contact@jiayibing.cn" in body:
            found.append(f"{url} (contact)")
    return found


def test_sweep_never_names_the_anonymous_poster(
    app, db, client, login, factory, world
):
    panel = make_completed_panel(factory, world["challenge_id"], experts=1)
    # Back to scoring, so that the expert's sheet (which names the poster) shows.
    panel.status, panel.completed_at = PanelStatus.SCORING, None
    panel.members[0].submitted_at = None
    panel.members[0].scores.clear()
    db.session.commit()
    expert = db.session.get(User, panel.members[0].expert.user_id)
    sheet = page(login(expert).get(f"/panels/{panel.id}/score"))
    assert f"发榜单位：{SHOWN}" in sheet
    urls = _urls(app, world, panel_id=panel.id)
    assert len(urls) > 30 and f"/panels/{panel.id}" in urls
    outsiders = {
        "expert": login(expert),
        "visitor": client,
        "bidder": login(world["lab_user"]),
        "declined bidder": login(world["uni_user"]),
        "other enterprise": login(world["firm_user"]),
    }
    for who, each in outsiders.items():
        assert _leaks(each, urls, world["challenge_id"]) == [], who
    # The pages that are about the challenge do show the anonymous name.
    detail = page(client.get(f"/challenges/{world['challenge_id']}"))
    assert SHOWN in detail and TITLE in detail
    assert SHOWN in page(client.get("/challenges/"))
    assert SHOWN in page(client.get("/"))


def test_notifications_and_mail_to_outsiders_never_name_it(db, world):
    owner_org = world["seeker"].id
    outsider_ids = select(User.id).where(User.org_id != owner_org)
    messages = db.session.scalars(
        select(Notification.message).where(Notification.user_id.in_(outsider_ids))
    ).all()
    assert any(TITLE[:20] in m for m in messages)  # the decline reached the bidder
    assert not [m for m in messages if HIDDEN in m]
    addresses = db.session.scalars(
        select(User.email).where(User.org_id != owner_org)
    ).all()
    mails = db.session.scalars(
        select(OutgoingMail).where(OutgoingMail.to_address.in_(addresses))
    ).all()
    assert not [m for m in mails if HIDDEN in m.subject + m.body]


def test_index_holds_neither_name_nor_organisation(db, world):
    challenge = db.session.get(Challenge, world["challenge_id"])
    doc = document_for(challenge)
    assert doc["org_id"] == 0
    assert HIDDEN not in repr(doc)
    with get_index().open().searcher() as searcher:
        stored = [dict(fields) for fields in searcher.all_stored_fields()]
    assert stored and not [s for s in stored if HIDDEN in repr(s)]
    mine = [s for s in stored if s.get("doc_id") == challenge.id]
    assert mine and mine[0]["org_id"] == 0


def test_api_shows_the_anonymous_name(client, login, world):
    query = {"q": "废水", "kind": "challenge"}
    api = client.get("/api/v1/search", query_string=query).get_json()
    mine = [i for i in api["items"] if i["id"] == world["challenge_id"]]
    assert mine and mine[0]["org"] == SHOWN
    owner = world["owner_client"].get("/api/v1/search", query_string=query)
    assert HIDDEN in [i["org"] for i in owner.get_json()["items"]]
    api = client.get(f"/api/v1/results/{world['result_id']}/matches").get_json()
    assert [i["org"] for i in api["items"] if i["kind"] == "challenge"] == [SHOWN]


def test_search_for_the_name_does_not_find_it(client, world):
    body = page(client.get("/search", query_string={"q": HIDDEN}))
    assert TITLE not in body
    api = client.get("/api/v1/search", query_string={"q": HIDDEN}).get_json()
    assert world["challenge_id"] not in [i["id"] for i in api["items"]]


def test_owner_and_bureau_see_the_name(db, world):
    url = f"/challenges/{world['challenge_id']}"
    for each in (world["owner_client"], world["bureau_client"]):
        body = page(each.get(url))
        assert HIDDEN in body and "secret-contact@jiayibing.cn" in body
        assert f"对外显示为“{SHOWN}”" in body
    assert HIDDEN in page(world["owner_client"].get("/challenges/"))


def test_name_shown_after_accepting_terms(db, login, world):
    bidder = login(world["lab_user"])
    url = f"/challenges/{world['challenge_id']}"
    assert HIDDEN not in page(bidder.get(url))
    response = bidder.post(f"{url}/accept-terms", data={"agree": "y"})
    assert response.status_code == 302
    body = page(bidder.get(url))
    assert HIDDEN in body and "secret-contact@jiayibing.cn" in body
    # Another bidder who has not accepted still sees only the anonymous name.
    assert HIDDEN not in page(login(world["firm_user"]).get(url))


def _reveal_when_selected(db, world):
    challenge = db.session.get(Challenge, world["challenge_id"])
    challenge.reveal_to = ChallengeReveal.WHEN_SELECTED
    db.session.commit()
    return challenge


def test_when_selected_terms_are_not_enough(db, login, world):
    _reveal_when_selected(db, world)
    bidder = login(world["lab_user"])
    url = f"/challenges/{world['challenge_id']}"
    bidder.post(f"{url}/accept-terms", data={"agree": "y"})
    body = page(bidder.get(url))
    assert HIDDEN not in body and SHOWN in body


def test_when_selected_the_winner_and_its_consortium_see_it(db, login, factory, world):
    challenge = _reveal_when_selected(db, world)
    winner = db.session.get(Proposal, world["bids"][world["lab"].id])
    partner = factory.org(OrgKind.UNIVERSITY)
    partner_user = factory.user(partner)
    db.session.add(
        ProposalMember(
            proposal_id=winner.id, org_id=partner.id, status=MemberStatus.CONFIRMED
        )
    )
    db.session.commit()
    url = f"/challenges/{challenge.id}"
    for user in (world["lab_user"], partner_user):
        assert HIDDEN not in page(login(user).get(url))
    winner.status = ProposalStatus.SELECTED
    db.session.commit()
    for user in (world["lab_user"], partner_user):
        assert HIDDEN in page(login(user).get(url))
    # The declined bidder still does not.
    assert HIDDEN not in page(login(world["uni_user"]).get(url))


def test_seeker_name_rules(db, world, factory):
    challenge = db.session.get(Challenge, world["challenge_id"])
    owner = db.session.get(User, world["owner"].id)
    outsider = db.session.get(User, world["firm_user"].id)
    assert permissions.seeker_name(owner, challenge) == HIDDEN
    assert permissions.seeker_name(outsider, challenge) == SHOWN
    challenge.anonymous = False
    assert permissions.seeker_name(outsider, challenge) == HIDDEN
    challenge.field = None
    challenge.anonymous = True
    assert permissions.seeker_name(outsider, challenge) == "某企业（驿城区）"


def test_outsider_cannot_open_a_deal_naming_the_poster(db, login, world):
    lab = login(world["lab_user"])
    cid = world["challenge_id"]
    assert lab.get(f"/deals/new?challenge_id={cid}").status_code == 403
    response = lab.post(
        "/deals/from-match",
        data={"challenge_id": cid, "result_id": world["result_id"]},
    )
    assert response.status_code == 403
    # The result's page offers no 发起撮合 towards the anonymous challenge.
    body = page(lab.get(f"/results/{world['result_id']}"))
    assert f'name="challenge_id" value="{cid}"' not in body


def test_form_keeps_the_choice(db, world):
    body = page(world["owner_client"].get("/challenges/new"))
    assert "匿名发布" in body and "签署保密协议后" in body and "选定中选后" in body


def test_bureau_review_queue_names_it_and_says_anonymous(db, world):
    owner = world["owner_client"]
    owner.post(
        "/challenges/new",
        data=form_data(
            title="第二个匿名需求", anonymous="y", reveal_to="when_selected"
        ),
    )
    cid = db.session.scalar(
        select(Challenge.id).where(Challenge.title == "第二个匿名需求")
    )
    assert owner.post(f"/challenges/{cid}/submit").status_code == 302
    body = page(world["bureau_client"].get("/bureau/reviews"))
    assert "第二个匿名需求" in body and HIDDEN in body
    assert "匿名发布" in body and "选定中选后向揭榜方公开" in body


def test_bad_reveal_choice_is_refused(db, world):
    response = world["owner_client"].post(
        "/challenges/new",
        data=form_data(title="坏选项需求", anonymous="y", reveal_to="never"),
    )
    assert response.status_code in (200, 400)
    assert db.session.scalar(
        select(Challenge.id).where(Challenge.title == "坏选项需求")
    ) is None


def test_outsider_cannot_link_a_contract_to_test_a_guess(db, login, world):
    lab = login(world["lab_user"])
    data = contract_form(
        world["seeker"], world["lab"], challenge_id=str(world["challenge_id"])
    )
    body = page(lab.post("/contracts/new", data=data))
    assert "合同只能关联买方或卖方自己的技术需求" in body
    assert db.session.scalar(select(Contract.id)) is None
    # Once selected, the winner records its contract on the challenge.
    winner = db.session.get(Proposal, world["bids"][world["lab"].id])
    winner.status = ProposalStatus.SELECTED
    db.session.commit()
    assert lab.post("/contracts/new", data=data).status_code == 302
    assert db.session.scalar(select(Contract.challenge_id)) == world["challenge_id"]
