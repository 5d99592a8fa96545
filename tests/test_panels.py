"""Expert review panels: forming, conflicts, scoring sheets, hidden scores, ranking."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace.exceptions import ServiceError
from marketplace.models import (
    Acceptance,
    AcceptanceKind,
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Deal,
    ExpertProfile,
    IntegrityRecord,
    MemberStatus,
    Notification,
    OrgKind,
    PanelMember,
    PanelPurpose,
    PanelScore,
    PanelStatus,
    Proposal,
    ProposalKind,
    ProposalMember,
    ProposalStatus,
    ReviewPanel,
    User,
)
from marketplace.panels import candidates, services
from marketplace.panels.rules import CRITERIA
from tests.dates import today
from tests.factories import (
    contract_between,
    make_challenge,
    make_completed_panel,
    make_expert,
    project_for,
)


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def person(factory, login, kind=OrgKind.UNIVERSITY, org=None):
    """A logged-in user of a (new) organisation."""
    org = org or factory.org(kind=kind)
    user = factory.user(org)
    client = login(user)
    client.user, client.org = user, org
    return client


def add_bid(db, challenge_id, org_id, members=(), price_fen=40_000_000) -> int:
    proposal = Proposal(
        kind=ProposalKind.BID,
        challenge_id=challenge_id,
        org_id=org_id,
        status=ProposalStatus.SUBMITTED,
        solution="厌氧-好氧组合生物膜工艺",
        technical_route="小试、中试、示范",
        team="八人团队",
        price_fen=price_fen,
        duration_months=12,
    )
    proposal.members = [
        ProposalMember(org_id=m, status=MemberStatus.CONFIRMED) for m in members
    ]
    db.session.add(proposal)
    db.session.commit()
    return proposal.id


def add_expert(db, client, **fields) -> int:
    user = db.session.get(User, client.user.id)
    expert_id = make_expert(user, **fields).id
    return expert_id


def restrict(db, org_id) -> None:
    db.session.add(
        IntegrityRecord(
            org_id=org_id,
            misconduct_type="fabrication",
            facts="伪造实验数据",
            decided_on=today(-10),
            restricted_until=today(365),
            source_document="科信发〔2025〕1号",
        )
    )
    db.session.commit()


@pytest.fixture
def w(db, factory, login, enterprise_client, bureau_client):
    """A challenge in evaluation with two bids (one with a consortium) and experts."""
    owner = enterprise_client
    challenge_id = make_challenge(
        owner.org.id,
        status=ChallengeStatus.EVALUATING,
        deadline=today(-1),
    ).id
    bidder_a = person(factory, login, OrgKind.INSTITUTE)
    bidder_b = person(factory, login, OrgKind.INSTITUTE)
    partner = factory.org(kind=OrgKind.UNIVERSITY)
    bid_a = add_bid(db, challenge_id, bidder_a.org.id, [partner.id], 45_000_000)
    bid_b = add_bid(db, challenge_id, bidder_b.org.id, price_fen=60_000_000)
    free = [person(factory, login) for _ in range(3)]
    experts = [
        add_expert(db, free[0], specialities="废水处理 生物膜 厌氧消化"),
        add_expert(db, free[1], specialities="污水生物处理工艺", field_codes=[]),
        add_expert(db, free[2], specialities="锂电池材料", field_codes=["new_energy"]),
    ]
    # A colleague of bidder A, and someone at A's consortium partner.
    conflicted = person(factory, login, org=bidder_a.org)
    at_partner = person(factory, login, org=partner)
    restricted = person(factory, login)
    restrict(db, restricted.org.id)
    return SimpleNamespace(
        owner=owner,
        bureau=bureau_client,
        challenge_id=challenge_id,
        bidder_a=bidder_a,
        bidder_b=bidder_b,
        partner=partner,
        bids=(bid_a, bid_b),
        free=free,
        experts=experts,
        conflicted=conflicted,
        conflicted_id=add_expert(db, conflicted, specialities="废水处理"),
        partner_expert_id=add_expert(db, at_partner, specialities="废水处理"),
        restricted_id=add_expert(db, restricted, specialities="废水处理"),
        retired_id=add_expert(db, person(factory, login), active=False),
    )


def new_url(w, purpose="proposals", **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    url = f"/panels/new?challenge={w.challenge_id}&purpose={purpose}"
    return url + (f"&{query}" if query else "")


def form_data(expert_ids, weights=(40, 30, 20, 10)) -> dict:
    data = {"expert_ids": [str(i) for i in expert_ids]}
    for (key, _), value in zip(CRITERIA, weights, strict=True):
        data[f"weight_{key}"] = str(value)
    return data


def form(w, client=None, expert_ids=None, **kw):
    client = client or w.owner
    return client.post(new_url(w), data=form_data(expert_ids or w.experts, **kw))


def the_panel(db) -> ReviewPanel:
    db.session.expire_all()
    return db.session.scalar(select(ReviewPanel))


def sheet(bids, values: dict, overall="方案总体可行，建议择优。") -> dict:
    data = {"overall": overall}
    for bid in bids:
        for key, _ in CRITERIA:
            data[f"s{bid}_{key}"] = str(values[bid][key])
        data[f"c{bid}"] = f"对申报 {bid} 的评语"
    return data


def scores(*rows) -> dict:
    return dict(zip(("merit", "feasibility", "team", "price"), rows, strict=True))


# --- proposing experts and conflicts ------------------------------------------------


def test_conflicted_and_restricted_experts_are_set_apart(db, w):
    challenge = db.session.get(Challenge, w.challenge_id)
    conflicts = services.conflicted_org_ids(challenge, "proposals")
    assert set(conflicts) == {
        w.owner.org.id,
        w.bidder_a.org.id,
        w.bidder_b.org.id,
        w.partner.id,
    }
    proposed = services.propose_experts(challenge, "proposals", limit=10)
    assert [c.expert.id for c in proposed.candidates][:2] == w.experts[:2]
    assert {c.expert.id for c in proposed.candidates} == set(w.experts)
    reasons = {x.expert.id: x.reason for x in proposed.excluded}
    assert set(reasons) == {w.conflicted_id, w.partner_expert_id, w.restricted_id}
    assert "利益冲突" in reasons[w.conflicted_id]
    assert w.bidder_a.org.name in reasons[w.conflicted_id]
    assert "联合体成员" in reasons[w.partner_expert_id]
    assert "科研诚信" in reasons[w.restricted_id]
    # Without an index only the field counts, and the page says so.
    assert proposed.index_used is False
    page = w.owner.get(new_url(w)).get_data(as_text=True)
    assert "仅按技术领域推荐" in page
    assert "利益冲突" in page and "disabled" in page
    assert f'value="{w.conflicted_id}"' not in page
    for expert_id in w.experts:
        assert f'value="{expert_id}"' in page


def test_the_search_index_ranks_experts_by_the_challenge_text(app, db, w):
    from marketplace.search.sync import get_index

    get_index().reindex(db.session)
    challenge = db.session.get(Challenge, w.challenge_id)
    proposed = candidates.propose_experts(challenge, "proposals")
    assert proposed.index_used and "废水处理" in proposed.terms
    best, second, last = proposed.candidates
    assert best.expert.id == w.experts[0] and best.field_match
    assert "废水处理" in best.matched_terms or "废水" in best.matched_terms
    # Shared words without the field come second; another field's expert shares
    # only a stray word (高效, from 新能源与高效节能) and comes last.
    assert second.expert.id == w.experts[1] and not second.field_match
    # 处理 is shared too, but a generic verb is never a match term.
    assert second.matched_terms and "处理" not in second.matched_terms
    assert last.expert.id == w.experts[2] and "废水" not in last.matched_terms
    assert best.score > second.score > last.score
    page = w.owner.get(new_url(w)).get_data(as_text=True)
    assert "匹配词" in page and "仅按技术领域推荐" not in page


# --- forming: refusals change nothing -------------------------------------------------


def test_a_conflicted_expert_forced_by_a_direct_post_is_refused(db, w):
    response = form(w, expert_ids=[*w.experts[:2], w.conflicted_id])
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "利益冲突" in text and w.bidder_a.org.name in text
    response = form(w, expert_ids=[*w.experts[:2], w.partner_expert_id])
    assert "联合体成员" in response.get_data(as_text=True)
    response = form(w, expert_ids=[*w.experts[:2], w.restricted_id])
    assert "科研诚信限制" in response.get_data(as_text=True)
    assert count(db, ReviewPanel) == 0 and count(db, PanelMember) == 0
    assert count(db, Notification, Notification.link.like("/panels/%")) == 0


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ((40, 30, 20, 20), "权重之和必须为 100%"),
        ((50, 30, 20, 0), None),
        ((101, 0, 0, -1), "权重须为 0 到 100 的整数"),
        (("40.5", "29.5", 20, 10), "weight_merit-error"),
        (("NaN", 30, 20, 10), "weight_merit-error"),
    ],
)
def test_weights_must_be_integers_summing_to_100(db, w, weights, message):
    response = form(w, weights=weights)
    if message is None:
        assert response.status_code == 302
        assert the_panel(db).weights == {
            "merit": 50,
            "feasibility": 30,
            "team": 20,
            "price": 0,
        }
        return
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(db, ReviewPanel) == 0


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (lambda w: w.experts[:2], "至少需要 3 名专家"),
        (lambda w: [w.experts[0], w.experts[0], w.experts[1]], "不能重复"),
        (lambda w: [*w.experts[:2], w.retired_id], "已退出"),
        (lambda w: [*w.experts[:2], 999999], "已退出"),
        (lambda w: [*w.experts[:2], 10**30], "已退出"),
        (lambda w: [*w.experts[:2], "abc"], "expert_ids-error"),
    ],
)
def test_bad_expert_choices_are_refused(db, w, ids, message):
    response = form(w, expert_ids=ids(w))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(db, ReviewPanel) == 0


def test_who_may_form_a_proposals_panel_and_when(db, w, client, agency_client):
    challenge_page = f"/challenges/{w.challenge_id}"
    assert "组建评审专家组" in w.owner.get(challenge_page).get_data(as_text=True)
    assert "组建评审专家组" in w.bureau.get(challenge_page).get_data(as_text=True)
    assert "组建评审专家组" not in w.bidder_a.get(challenge_page).get_data(as_text=True)
    for outsider in (w.bidder_a, agency_client, w.free[0]):
        assert outsider.get(new_url(w)).status_code == 403
        assert form(w, client=outsider).status_code == 403
    anonymous = client.get(new_url(w))
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.location
    assert count(db, ReviewPanel) == 0
    # Before the deadline there is nothing to score yet.
    open_id = make_challenge(w.owner.org.id).id
    url = f"/panels/new?challenge={open_id}&purpose=proposals"
    assert "揭榜截止" in w.owner.get(url).get_data(as_text=True)
    response = w.owner.post(url, data=form_data(w.experts))
    assert response.status_code == 200 and count(db, ReviewPanel) == 0
    # The bureau may form it too; a second panel is refused.
    assert form(w, client=w.bureau).status_code == 302
    again = form(w)
    assert again.status_code == 302 and again.location.endswith(
        f"/panels/{the_panel(db).id}"
    )
    challenge = db.session.get(Challenge, w.challenge_id)
    user = db.session.get(User, w.owner.user.id)
    with pytest.raises(ServiceError, match="不能重复组建"):
        services.form_panel(user, challenge, "proposals", w.experts)
    assert count(db, ReviewPanel) == 1
    assert w.owner.get("/panels/new?challenge=abc").status_code == 404
    assert w.owner.get(new_url(w, purpose="nonsense")).status_code == 404


# --- scoring, hidden scores, ranking ----------------------------------------------


def test_three_experts_score_hidden_until_all_submit_then_the_owner_sees_ranking(db, w):
    response = form(w, weights=(40, 30, 20, 10))
    assert response.status_code == 302
    panel = the_panel(db)
    assert panel.status == PanelStatus.SCORING
    assert [m.expert_id for m in panel.members] == w.experts
    formed = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "panel_formed")
    )
    assert formed.object_id == panel.id
    for client in w.free:
        notes = db.session.scalars(
            select(Notification.link).where(Notification.user_id == client.user.id)
        ).all()
        assert notes == [f"/panels/{panel.id}/score"]
    a, b = w.bids
    e1, e2, e3 = w.free
    values = {
        e1: {a: scores(90, 60, 70, 50), b: scores(70, 90, 80, 90)},
        e2: {a: scores(85, 70, 60, 40), b: scores(60, 80, 90, 100)},
        e3: {a: scores(95, 65, 75, 60), b: scores(80, 70, 70, 80)},
    }
    url = f"/panels/{panel.id}/score"
    page = e1.get(url).get_data(as_text=True)
    assert "厌氧-好氧组合生物膜工艺" in page and f'name="s{a}_merit"' in page

    # Out of range, NaN, missing: refused and nothing stored.
    for key, bad in (("merit", "101"), ("team", "-1"), ("price", "NaN"), ("x", "")):
        data = sheet(w.bids, values[e1])
        if key == "x":
            del data[f"s{b}_feasibility"]
        else:
            data[f"s{a}_{key}"] = bad
        response = e1.post(url, data=data)
        assert response.status_code == 200
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert count(db, PanelScore) == 0
    assert count(db, PanelMember, PanelMember.submitted_at.is_not(None)) == 0

    assert e1.post(url, data=sheet(w.bids, values[e1])).status_code == 302
    assert e1.post(url, data=sheet(w.bids, values[e1])).status_code == 302
    assert count(db, PanelScore) == 2  # a second submission changes nothing
    assert (
        e2.post(url, data=sheet(w.bids, values[e2], "二号专家意见")).status_code == 302
    )

    # Two of three: each expert sees only their own sheet; the owner the progress.
    mine = e1.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert "您的评审意见" in mine and "二号专家意见" not in mine
    assert ">汇总排名<" not in mine
    owner_page = w.owner.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert "已提交 2 / 3" in owner_page and ">汇总排名<" not in owner_page
    assert "二号专家意见" not in owner_page
    assert the_panel(db).status == PanelStatus.SCORING

    assert e3.post(url, data=sheet(w.bids, values[e3])).status_code == 302
    panel = the_panel(db)
    assert panel.status == PanelStatus.COMPLETED and panel.completed_at
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == panel.id)
    ).all()
    assert actions.count("panel_scores_submitted") == 3
    assert "panel_completed" in actions
    owner_notes = db.session.scalars(
        select(Notification.message).where(Notification.user_id == w.owner.user.id)
    ).all()
    assert any("全部提交" in m for m in owner_notes)

    # The ranking: criterion means over experts, weighted by the panel's weights.
    weights = {"merit": 40, "feasibility": 30, "team": 20, "price": 10}

    def expected(bid):
        return (
            sum(
                sum(values[e][bid][k] for e in w.free) / 3 * weight
                for k, weight in weights.items()
            )
            / 100
        )

    rows = services.ranking(panel)
    assert [r.proposal.id for r in rows] == sorted(w.bids, key=expected, reverse=True)
    for row in rows:
        assert row.weighted == pytest.approx(expected(row.proposal.id), abs=0.01)
        assert len(row.sheets) == 3
    owner_page = w.owner.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert ">汇总排名<" in owner_page and "二号专家意见" in owner_page
    assert f"{rows[0].weighted:.2f}" in owner_page
    first = owner_page.index(rows[0].proposal.org.name)
    assert first < owner_page.index(rows[1].proposal.org.name)
    # Now every member sees everyone's scores.
    assert "二号专家意见" in e1.get(f"/panels/{panel.id}").get_data(as_text=True)
    # The challenge page links the owner to the ranking.
    challenge_page = w.owner.get(f"/challenges/{w.challenge_id}")
    assert "查看评审排名" in challenge_page.get_data(as_text=True)


def test_scores_are_checked_by_the_service_too(app, db, w):
    assert form(w).status_code == 302
    panel = the_panel(db)
    member = panel.members[0]
    user = db.session.get(User, w.free[0].user.id)
    a, b = w.bids
    good = {a: scores(1, 2, 3, 4), b: scores(5, 6, 7, 8)}
    for bad in (
        {a: {**good[a], "merit": float("nan")}, b: good[b]},
        {a: {**good[a], "merit": 50.0}, b: good[b]},
        {a: {**good[a], "price": True}, b: good[b]},
        {a: {**good[a], "team": 101}, b: good[b]},
        {a: good[a]},
        {**good, 999: good[a]},
    ):
        with app.test_request_context(), pytest.raises(ServiceError):
            services.submit_scores(member, user, bad, {}, "意见")
    other = db.session.get(User, w.free[1].user.id)
    with app.test_request_context(), pytest.raises(ServiceError, match="本人"):
        services.submit_scores(member, other, good, {}, "意见")
    with app.test_request_context(), pytest.raises(ServiceError):
        services.submit_scores(member, user, good, {}, "  ")
    assert count(db, PanelScore) == 0


def test_outsiders_never_see_the_panel(db, w, client, agency_client):
    assert form(w).status_code == 302
    panel_id = the_panel(db).id
    for path in (f"/panels/{panel_id}", f"/panels/{panel_id}/score"):
        for outsider in (w.bidder_a, w.bidder_b, agency_client, w.conflicted):
            assert outsider.get(path).status_code == 404, path
        anonymous = client.get(path)
        assert anonymous.status_code == 302 and "/auth/login" in anonymous.location
    # Owner and bureau see the panel, but have no sheet to fill in.
    assert w.owner.get(f"/panels/{panel_id}").status_code == 200
    assert w.bureau.get(f"/panels/{panel_id}").status_code == 200
    assert w.owner.get(f"/panels/{panel_id}/score").status_code == 403
    assert w.owner.post(f"/panels/{panel_id}/score", data={}).status_code == 403
    assert count(db, PanelScore) == 0
    assert w.owner.get("/panels/999999").status_code == 404
    assert w.owner.get("/panels/mine").status_code == 403
    mine = w.free[0].get("/panels/mine").get_data(as_text=True)
    assert f"/panels/{panel_id}/score" in mine


def test_expert_reads_attachments_of_the_bids_on_their_panel(app, db, w):
    from pathlib import Path

    from marketplace.models import Attachment

    assert form(w).status_code == 302
    panel_id = the_panel(db).id
    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("a" * 64)).write_bytes(b"%PDF-1.4\n%%EOF\n")
    attachment = Attachment(
        proposal_id=w.bids[0],
        original_name="方案.pdf",
        stored_name="a" * 64,
        content_type="application/pdf",
        size_bytes=14,
        sha256="0" * 64,
    )
    db.session.add(attachment)
    db.session.commit()
    path = f"/panels/{panel_id}/attachments/{attachment.id}"
    response = w.free[0].get(path)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert "no-store" in response.headers["Cache-Control"]
    # Another bidder, the owner (who has its own download) and strangers: 404.
    for client in (w.bidder_b, w.owner, w.conflicted):
        assert client.get(path).status_code == 404
    assert w.free[0].get(f"/panels/{panel_id}/attachments/999").status_code == 404


# --- direct award -----------------------------------------------------------------


def test_direct_award_needs_a_completed_panel_opinion(db, factory, w):
    path = f"/proposals/challenge/{w.challenge_id}/direct-award"
    data = {
        "org": w.bidder_b.org.name,
        "justification": "该院所承担过同类国家重点研发项目，具备中试条件。",
    }
    response = w.bureau.post(path, data=data)
    assert response.status_code == 200
    assert "评审专家组" in response.get_data(as_text=True)
    # A panel still scoring is not an opinion either.
    assert form(w, client=w.bureau).status_code == 302
    response = w.bureau.post(path, data=data)
    assert "评审专家组" in response.get_data(as_text=True)
    assert count(db, Deal) == 0
    challenge = db.session.get(Challenge, w.challenge_id)
    assert challenge.status == ChallengeStatus.EVALUATING
    db.session.execute(ReviewPanel.__table__.delete())
    db.session.execute(PanelMember.__table__.delete())
    db.session.commit()
    make_completed_panel(factory, w.challenge_id)
    # A restricted organisation may not be awarded even with the opinion.
    restrict(db, w.bidder_a.org.id)
    response = w.bureau.post(path, data={**data, "org": w.bidder_a.org.name})
    assert "科研诚信限制" in response.get_data(as_text=True)
    assert count(db, Deal) == 0
    assert w.bureau.post(path, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, w.bids[1]).status == ProposalStatus.SELECTED
    assert count(db, Deal) == 1


# --- check, acceptance and exemption panels ----------------------------------------


def start_project(db, w) -> Acceptance:
    db.session.get(Challenge, w.challenge_id).status = ChallengeStatus.AWARDED
    db.session.get(Proposal, w.bids[0]).status = ProposalStatus.SELECTED
    db.session.commit()
    contract_id = contract_between(
        w.owner.org.id,
        w.bidder_a.org.id,
        signed_on=today(),
        amount_fen=50_000_000,
        tech_amount_fen=50_000_000,
    )
    project_id = project_for(w.challenge_id, contract_id, w.bids[0])
    acceptance = Acceptance(
        project_id=project_id, kind=AcceptanceKind.MIDTERM, scheduled_on=today()
    )
    db.session.add(acceptance)
    db.session.commit()
    return acceptance


def test_midterm_panel_is_formed_by_the_bureau_and_gives_opinions(db, w):
    acceptance_id = start_project(db, w).id
    url = new_url(w, purpose="midterm", acceptance=acceptance_id)
    data = {"expert_ids": [str(i) for i in w.experts]}
    for client in (w.owner, w.bidder_a):
        assert client.get(url).status_code == 403
        assert client.post(url, data=data).status_code == 403
    assert count(db, ReviewPanel) == 0
    page = w.bureau.get(url).get_data(as_text=True)
    # Bidder B lost: no conflict any more; the winner's partner still is.
    assert "weight_merit" not in page
    challenge = db.session.get(Challenge, w.challenge_id)
    conflicts = services.conflicted_org_ids(challenge, "midterm")
    assert set(conflicts) == {w.owner.org.id, w.bidder_a.org.id, w.partner.id}
    refused = w.bureau.post(
        url, data={"expert_ids": [*data["expert_ids"][:2], str(w.partner_expert_id)]}
    )
    assert "利益冲突" in refused.get_data(as_text=True)
    assert w.bureau.post(url, data=data).status_code == 302
    panel = the_panel(db)
    assert panel.purpose == PanelPurpose.MIDTERM
    assert panel.acceptance_id == acceptance_id
    e1, e2, e3 = w.free
    opinion = f"/panels/{panel.id}/opinion"
    assert e1.get(f"/panels/{panel.id}/score").status_code == 302
    for bad in ({"verdict": "grant", "comment": "好"}, {"verdict": "passed"}):
        assert e1.post(opinion, data=bad).status_code == 200
    assert count(db, PanelMember, PanelMember.submitted_at.is_not(None)) == 0
    for client, verdict in ((e1, "passed"), (e2, "passed"), (e3, "rectify")):
        response = client.post(
            opinion, data={"verdict": verdict, "comment": f"{verdict} 的理由"}
        )
        assert response.status_code == 302
    panel = the_panel(db)
    assert panel.status == PanelStatus.COMPLETED
    bureau_page = w.bureau.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert "通过：<strong>2</strong>" in bureau_page
    assert "rectify 的理由" in bureau_page
    owner_page = w.owner.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert "rectify 的理由" not in owner_page
    assert w.bidder_a.get(f"/panels/{panel.id}").status_code == 404
    staff = db.session.scalars(
        select(Notification.message).where(Notification.user_id == w.bureau.user.id)
    ).all()
    assert any("中期检查" in m for m in staff)


def test_no_experts_leak_through_an_inactive_pool(db, w):
    db.session.execute(ExpertProfile.__table__.update().values(active=False))
    db.session.commit()
    challenge = db.session.get(Challenge, w.challenge_id)
    proposed = services.propose_experts(challenge, "proposals")
    assert proposed.candidates == [] and proposed.excluded == []


def test_exemption_panel_verdicts(app, db, w):
    from marketplace.models import Exemption, ProjectStatus

    project = start_project(db, w).project
    project.status = ProjectStatus.FAILED
    exemption = Exemption(project=project, diligence_account="按计划开展了全部试验。")
    db.session.add(exemption)
    db.session.commit()
    url = new_url(w, purpose="exemption", exemption=exemption.id)
    data = {"expert_ids": [str(i) for i in w.experts]}
    assert w.owner.post(url, data=data).status_code == 403
    assert w.bureau.post(url, data=data).status_code == 302
    panel = the_panel(db)
    assert panel.purpose == PanelPurpose.EXEMPTION
    opinion = f"/panels/{panel.id}/opinion"
    page = w.free[0].get(opinion).get_data(as_text=True)
    assert "建议免责" in page and "整改后通过" not in page
    refused = w.free[0].post(opinion, data={"verdict": "passed", "comment": "理由"})
    assert refused.status_code == 200
    member = panel.members[0]
    user = db.session.get(User, w.free[0].user.id)
    with app.test_request_context(), pytest.raises(ServiceError):
        services.submit_opinion(member, user, "passed", "理由")
    assert count(db, PanelMember, PanelMember.verdict != "") == 0
    ok = w.free[0].post(opinion, data={"verdict": "grant", "comment": "已尽职"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(PanelMember, member.id).verdict == "grant"
    # A second exemption panel for the same application is refused.
    again = w.bureau.post(url, data=data)
    assert again.status_code == 302 and count(db, ReviewPanel) == 1
