"""Bids on challenges (揭榜申报): consortia, attachments, decisions, direct award."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import render_template_string
from flask_login import AnonymousUserMixin
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.exceptions import ServiceError
from marketplace.listings import expiry
from marketplace.models import (
    Attachment,
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Deal,
    DealEvent,
    DeclineReason,
    MemberStatus,
    Notification,
    OrgKind,
    Proposal,
    ProposalMember,
    ProposalStatus,
    User,
)
from marketplace.panels import sections as panel_sections
from marketplace.proposals import attachments, decisions, services
from marketplace.proposals import sections as proposal_sections
from tests.concurrency import race
from tests.factories import make_challenge, make_completed_panel
from tests.sample_files import PDF

HTML = b"<!doctype html><html><script>alert(1)</script></html>"
# Selecting a winner: the reason the others are told, and the confirmation tick.
SELECT = {"reason_code": "price", "confirm": "y"}


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


DOCX = _zip("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = _zip("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml")


def bid_form(**overrides):
    data = {
        "solution": "采用厌氧-好氧组合生物膜工艺，\n能耗降低 30%。",
        "technical_route": "小试 → 中试 → 现场示范",
        "price": "45.5",
        "duration_months": "12",
        "team": "张教授团队，8 人",
        "members": "",
    }
    data.update(overrides)
    return data


def post_bid(client, challenge_id, files=(), **overrides):
    data = bid_form(**overrides)
    data["attachments"] = [(io.BytesIO(body), name) for body, name in files]
    return client.post(
        f"/proposals/challenge/{challenge_id}/new",
        data=data,
        content_type="multipart/form-data",
    )


def org_client(factory, login, kind, verified=True, name=None):
    org = factory.org(kind=kind, verified=verified, name=name)
    user = factory.user(org)
    client = login(user)
    client.user, client.org = user, org
    return client


def colleague(factory, login, client):
    user = factory.user(client.org)
    other = login(user)
    other.user, other.org = user, client.org
    return other


def upload_files(app) -> list[str]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(os.listdir(folder)) if folder.exists() else []


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def proposal_of(db, challenge_id, org_id) -> Proposal:
    db.session.expire_all()
    return db.session.scalar(
        select(Proposal).where(
            Proposal.challenge_id == challenge_id, Proposal.org_id == org_id
        )
    )


def notes_for(db, org_id) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.message)
            .join(User, User.id == Notification.user_id)
            .where(User.org_id == org_id)
        )
    )


def effective(db, challenge_id):
    """The challenge's state as pages show it (expiry computed on read)."""
    db.session.expire_all()
    return expiry.effective_status(db.session.get(Challenge, challenge_id))


def new_challenge(db, org_id, **fields) -> int:
    challenge_id = make_challenge(org_id, **fields).id
    return challenge_id


def close_bidding(db, challenge_id) -> None:
    challenge = db.session.get(Challenge, challenge_id)
    challenge.deadline = local_today() - timedelta(days=1)
    db.session.commit()


@pytest.fixture
def owner(enterprise_client):
    """The enterprise that posted the challenge."""
    return enterprise_client


@pytest.fixture
def challenge_id(db, owner):
    """An open challenge with a deadline in 30 days."""
    return new_challenge(db, owner.org.id)


@pytest.fixture
def institute_a(factory, login):
    return org_client(factory, login, OrgKind.INSTITUTE)


@pytest.fixture
def institute_b(factory, login):
    return org_client(factory, login, OrgKind.INSTITUTE)


@pytest.fixture
def two_bids(db, challenge_id, institute_a, institute_b):
    """Both institutes have bid, each with one PDF."""
    for client in (institute_a, institute_b):
        assert post_bid(client, challenge_id, [(PDF, "方案.pdf")]).status_code == 302
    ids = (
        proposal_of(db, challenge_id, institute_a.org.id).id,
        proposal_of(db, challenge_id, institute_b.org.id).id,
    )
    return ids


# --- the whole path -------------------------------------------------------------------


def test_two_institutes_bid_owner_selects_one_and_a_deal_opens(
    app, db, owner, challenge_id, institute_a, institute_b, university_client
):
    university = university_client
    form = institute_a.get(f"/proposals/new?challenge={challenge_id}")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="attachments"' in html
    assert "multiple" in html and "联合体成员" in html
    # Institute A bids alone with a PDF and a DOCX.
    response = post_bid(
        institute_a, challenge_id, [(PDF, "技术方案.pdf"), (DOCX, "团队简介.docx")]
    )
    assert response.status_code == 302
    bid_a = proposal_of(db, challenge_id, institute_a.org.id)
    assert bid_a.status == ProposalStatus.SUBMITTED
    assert bid_a.price_fen == 45_500_000 and bid_a.duration_months == 12
    assert sorted(a.original_name for a in bid_a.attachments) == [
        "团队简介.docx",
        "技术方案.pdf",
    ]
    assert any("收到新的揭榜申报" in m for m in notes_for(db, owner.org.id))

    # Institute B bids as a consortium with the university (named by credit code).
    response = post_bid(
        institute_b,
        challenge_id,
        [(XLSX, "预算.xlsx")],
        members=university.org.credit_code.lower() + "\n",
        price="60",
    )
    assert response.status_code == 302
    bid_b = proposal_of(db, challenge_id, institute_b.org.id)
    assert [(m.org_id, m.status) for m in bid_b.members] == [
        (university.org.id, MemberStatus.INVITED)
    ]
    assert any("联合体成员" in m for m in notes_for(db, university.org.id))

    # The university sees the invitation and confirms.
    page = university.get(f"/proposals/{bid_b.id}")
    assert page.status_code == 200 and "确认参加" in page.get_data(as_text=True)
    assert "待确认" in university.get("/proposals/mine").get_data(as_text=True)
    response = university.post(
        f"/proposals/{bid_b.id}/membership", data={"answer": "confirm"}
    )
    assert response.status_code == 302
    bid_b = proposal_of(db, challenge_id, institute_b.org.id)
    assert bid_b.members[0].status == MemberStatus.CONFIRMED
    assert bid_b.members[0].answered_at is not None
    assert any("确认参加" in m for m in notes_for(db, institute_b.org.id))

    # The owner sees both bids and shortlists them.
    listing = owner.get(f"/proposals/challenge/{challenge_id}").get_data(as_text=True)
    assert institute_a.org.name in listing and institute_b.org.name in listing
    for bid_id in (bid_a.id, bid_b.id):
        assert owner.post(f"/proposals/{bid_id}/shortlist").status_code == 302
    assert proposal_of(db, challenge_id, institute_a.org.id).status == "shortlisted"

    # Before the deadline nobody can be selected yet.
    owner.post(f"/proposals/{bid_b.id}/select", data=SELECT)
    assert proposal_of(db, challenge_id, institute_b.org.id).status == "shortlisted"

    # After the deadline the challenge is in evaluation (computed; a page never
    # writes, the selection below moves it for real).
    close_bidding(db, challenge_id)
    assert owner.get(f"/proposals/challenge/{challenge_id}").status_code == 200
    assert effective(db, challenge_id) == ChallengeStatus.EVALUATING

    response = owner.post(
        f"/proposals/{bid_b.id}/select",
        data={"reason_code": "price", "note": "综合评分第二", "confirm": "y"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    winner = proposal_of(db, challenge_id, institute_b.org.id)
    loser = proposal_of(db, challenge_id, institute_a.org.id)
    assert winner.status == ProposalStatus.SELECTED and winner.decided_at
    assert loser.status == ProposalStatus.DECLINED
    assert loser.decline_reason == "综合评分第二"
    assert loser.decline_reason_code == DeclineReason.PRICE
    assert any(
        "申报未中选（原因：报价）：综合评分第二" in m
        for m in notes_for(db, institute_a.org.id)
    )
    challenge = db.session.get(Challenge, challenge_id)
    assert challenge.status == ChallengeStatus.AWARDED and challenge.awarded_at

    deal = db.session.scalar(select(Deal).where(Deal.challenge_id == challenge_id))
    assert (deal.demand_org_id, deal.supply_org_id, deal.proposal_id) == (
        owner.org.id,
        institute_b.org.id,
        winner.id,
    )
    assert deal.title == challenge.title and deal.stage == "lead"
    assert count(db, DealEvent, DealEvent.deal_id == deal.id) == 1
    actions = set(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id.is_not(None))
        )
    )
    assert {
        "proposal_submitted",
        "consortium_confirmed",
        "proposal_shortlisted",
        "proposal_selected",
        "proposal_declined",
        "challenge_awarded",
        "deal_opened",
    } <= actions

    # The winner's history reads in words, not event codes.
    history = institute_b.get(f"/proposals/{winner.id}").get_data(as_text=True)
    assert "选定揭榜方" in history and "proposal_selected" not in history

    # The loser sees its reason; the owner can download the winner's spreadsheet.
    page = institute_a.get(f"/proposals/{loser.id}").get_data(as_text=True)
    assert "综合评分第二" in page
    attachment = winner.attachments[0]
    download = owner.get(f"/proposals/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.data == XLSX
    assert download.mimetype == attachments.CONTENT_TYPES["xlsx"]
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]
    # The bidder and the bureau can download too.
    assert institute_b.get(f"/proposals/attachments/{attachment.id}").status_code == 200


def test_bureau_downloads_and_sees_all_bids(
    db, bureau_client, challenge_id, two_bids, institute_a
):
    listing = bureau_client.get(f"/proposals/challenge/{challenge_id}")
    assert listing.status_code == 200
    assert institute_a.org.name in listing.get_data(as_text=True)
    attachment_id = db.session.scalar(
        select(Attachment.id).where(Attachment.proposal_id == two_bids[0])
    )
    response = bureau_client.get(f"/proposals/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == PDF


# --- deadlines and one bid per organisation -------------------------------------------


def test_bid_after_deadline_by_direct_post_is_refused(
    app, db, owner, challenge_id, institute_a
):
    close_bidding(db, challenge_id)
    response = post_bid(institute_a, challenge_id, [(PDF, "a.pdf")])
    assert response.status_code == 302
    assert count(db, Proposal) == 0 and count(db, Attachment) == 0
    assert upload_files(app) == []
    # Past its deadline without bids the challenge counts as expired.
    assert effective(db, challenge_id) == ChallengeStatus.EXPIRED
    # Until `flask listings expire` writes it the form is refused; after, an
    # expired challenge is no longer public at all.
    form_url = f"/proposals/new?challenge={challenge_id}"
    assert institute_a.get(form_url).status_code == 302
    assert app.test_cli_runner().invoke(args=["listings", "expire"]).exit_code == 0
    assert institute_a.get(form_url).status_code == 404


def test_bid_on_the_deadline_day_is_accepted(db, owner, institute_a):
    challenge_id = new_challenge(db, owner.org.id, deadline=local_today())
    assert post_bid(institute_a, challenge_id).status_code == 302
    assert count(db, Proposal) == 1


def test_service_refuses_closed_challenge_without_expiry_run(
    app, db, owner, challenge_id, institute_a
):
    close_bidding(db, challenge_id)
    user = db.session.get(User, institute_a.user.id)
    challenge = db.session.get(Challenge, challenge_id)
    data = services.BidData("方案", "路线", 1, 1, "团队")
    with app.test_request_context(), pytest.raises(ServiceError, match="截止"):
        services.submit_bid(challenge, user, data)
    assert count(db, Proposal) == 0


def test_unpublished_challenge_takes_no_bids(db, owner, institute_a):
    draft = new_challenge(db, owner.org.id, status=ChallengeStatus.DRAFT)
    assert post_bid(institute_a, draft).status_code == 404
    pending = new_challenge(db, owner.org.id, status=ChallengeStatus.PENDING_REVIEW)
    assert post_bid(institute_a, pending).status_code == 404
    assert count(db, Proposal) == 0


def test_second_bid_from_same_org_is_refused_by_the_database(
    db, factory, login, challenge_id, institute_a
):
    other_member = colleague(factory, login, institute_a)
    assert post_bid(institute_a, challenge_id).status_code == 302
    response = post_bid(other_member, challenge_id, [(PDF, "b.pdf")], price="1")
    assert response.status_code == 200
    assert "贵机构已对该榜单提交过申报" in response.get_data(as_text=True)
    assert count(db, Proposal) == 1 and count(db, Attachment) == 0
    # The GET form sends the org to its existing bid.
    assert other_member.get(f"/proposals/challenge/{challenge_id}/new").status_code == (
        302
    )
    # After withdrawing, the organisation may bid again.
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    assert institute_a.post(f"/proposals/{bid.id}/withdraw").status_code == 302
    assert post_bid(other_member, challenge_id).status_code == 302
    statuses = sorted(
        db.session.scalars(select(Proposal.status).where(Proposal.org_id == bid.org_id))
    )
    assert statuses == ["submitted", "withdrawn"]


def test_simultaneous_bids_from_one_org_give_one_row(
    db, factory, login, challenge_id, institute_a
):
    other_member = colleague(factory, login, institute_a)
    results = race(
        lambda: post_bid(institute_a, challenge_id, [(PDF, "a.pdf")]),
        lambda: post_bid(other_member, challenge_id, [(PDF, "b.pdf")]),
    )
    assert sorted(r.status_code for r in results) == [200, 302]
    assert count(db, Proposal, Proposal.org_id == institute_a.org.id) == 1
    assert count(db, Attachment) == 1


# --- who may bid ----------------------------------------------------------------------


def test_ineligible_organisations_cannot_bid(
    db, factory, login, owner, unverified_client, bureau_client, institute_a
):
    only_universities = new_challenge(
        db, owner.org.id, allowed_bidder_kinds=["university"]
    )
    unverified_institute = org_client(factory, login, OrgKind.INSTITUTE, False)
    cases = [
        (unverified_client, only_universities),
        (unverified_institute, new_challenge(db, owner.org.id)),
        (institute_a, only_universities),
        (owner, new_challenge(db, owner.org.id)),
        (bureau_client, new_challenge(db, owner.org.id)),
    ]
    for client, target in cases:
        assert client.get(f"/proposals/challenge/{target}/new").status_code == 403
        assert post_bid(client, target, [(PDF, "a.pdf")]).status_code == 403
    assert count(db, Proposal) == 0 and count(db, Attachment) == 0
    assert client.get("/proposals/new").status_code == 404
    assert client.get("/proposals/new?challenge=999999").status_code == 404


def test_anonymous_is_sent_to_login(client, challenge_id):
    response = client.get(f"/proposals/challenge/{challenge_id}/new")
    assert response.status_code == 302 and "/auth/login" in response.location


# --- who may see what -----------------------------------------------------------------


def test_outsiders_see_no_proposals_and_no_attachments(
    db, client, agency_client, challenge_id, two_bids
):
    bid_id = two_bids[0]
    attachment_id = db.session.scalar(
        select(Attachment.id).where(Attachment.proposal_id == bid_id)
    )
    for path in (
        f"/proposals/{bid_id}",
        f"/proposals/{bid_id}/edit",
        f"/proposals/attachments/{attachment_id}",
        "/proposals/attachments/999999",
        "/proposals/999999",
    ):
        assert agency_client.get(path).status_code == 404, path
    assert client.get(f"/proposals/attachments/{attachment_id}").status_code == 404
    assert agency_client.get(f"/proposals/challenge/{challenge_id}").status_code == 403
    for action in ("withdraw", "shortlist", "select", "decline", "membership"):
        response = agency_client.post(f"/proposals/{bid_id}/{action}")
        assert response.status_code == 404, action
    db.session.expire_all()
    assert db.session.get(Proposal, bid_id).status == ProposalStatus.SUBMITTED
    assert count(db, Attachment) == 2


def test_bidder_sees_only_its_own_bid(
    db, challenge_id, two_bids, institute_a, institute_b
):
    own_id, other_id = two_bids
    listing = institute_a.get(f"/proposals/challenge/{challenge_id}")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert institute_a.org.name in text and institute_b.org.name not in text
    assert institute_a.get(f"/proposals/{other_id}").status_code == 404
    other_file = db.session.scalar(
        select(Attachment.id).where(Attachment.proposal_id == other_id)
    )
    assert institute_a.get(f"/proposals/attachments/{other_file}").status_code == 404
    assert institute_a.get(f"/proposals/{own_id}").status_code == 200
    mine = institute_a.get("/proposals/mine").get_data(as_text=True)
    assert "食品加工废水" in mine


def test_html_in_bids_is_shown_as_text(owner, challenge_id, institute_a, db):
    post_bid(institute_a, challenge_id, solution="<script>alert(1)</script>")
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    page = owner.get(f"/proposals/{bid.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


# --- decisions ------------------------------------------------------------------------


def test_owner_decisions_follow_the_state_machine(
    db, owner, challenge_id, two_bids, institute_a, bureau_client
):
    bid_a, bid_b = two_bids
    # Selecting needs the shortlist first (and a closed deadline).
    close_bidding(db, challenge_id)
    owner.post(f"/proposals/{bid_a}/select", data=SELECT)
    assert db.session.get(Proposal, bid_a).status == ProposalStatus.SUBMITTED
    # Neither the bidder nor the bureau decides.
    for client in (institute_a, bureau_client):
        assert client.post(f"/proposals/{bid_a}/shortlist").status_code == 403
        assert client.post(f"/proposals/{bid_a}/decline").status_code == 403
    # Declining needs a reason code; the note alone is not enough.
    refused = owner.post(
        f"/proposals/{bid_b}/decline",
        data={"reason_code": "", "note": "技术路线不成熟"},
        follow_redirects=True,
    )
    assert "请选择未中选原因" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Proposal, bid_b).status == ProposalStatus.SUBMITTED
    owner.post(
        f"/proposals/{bid_b}/decline",
        data={"reason_code": "route", "note": "技术路线不成熟"},
    )
    db.session.expire_all()
    declined = db.session.get(Proposal, bid_b)
    assert declined.status == ProposalStatus.DECLINED
    assert declined.decline_reason == "技术路线不成熟"
    assert any("技术路线不成熟" in m for m in notes_for(db, declined.org_id))
    # A declined bid cannot be shortlisted or selected.
    owner.post(f"/proposals/{bid_b}/shortlist")
    owner.post(f"/proposals/{bid_b}/select", data=SELECT)
    db.session.expire_all()
    assert db.session.get(Proposal, bid_b).status == ProposalStatus.DECLINED
    # Shortlist then select; nobody is left to decline, so no code is asked.
    owner.post(f"/proposals/{bid_a}/shortlist")
    owner.post(f"/proposals/{bid_a}/select", data={"confirm": "y"})
    db.session.expire_all()
    assert db.session.get(Proposal, bid_a).status == ProposalStatus.SELECTED
    assert db.session.get(Proposal, bid_b).decline_reason == "技术路线不成熟"
    assert count(db, Deal) == 1


def test_selecting_twice_gives_one_winner(db, owner, challenge_id, two_bids):
    bid_a, bid_b = two_bids
    for bid in two_bids:
        owner.post(f"/proposals/{bid}/shortlist")
    close_bidding(db, challenge_id)
    for bid in (bid_a, bid_a, bid_b):
        assert owner.post(f"/proposals/{bid}/select", data=SELECT).status_code == 302
    db.session.expire_all()
    assert count(db, Proposal, Proposal.status == ProposalStatus.SELECTED) == 1
    assert db.session.get(Proposal, bid_a).status == ProposalStatus.SELECTED
    assert count(db, Deal) == 1


def test_simultaneous_selections_give_one_winner(
    db, factory, login, owner, challenge_id, two_bids
):
    for bid in two_bids:
        owner.post(f"/proposals/{bid}/shortlist")
    close_bidding(db, challenge_id)
    second_owner = colleague(factory, login, owner)
    results = race(
        lambda: owner.post(f"/proposals/{two_bids[0]}/select", data=SELECT),
        lambda: second_owner.post(f"/proposals/{two_bids[1]}/select", data=SELECT),
    )
    assert [r.status_code for r in results] == [302, 302]
    db.session.expire_all()
    assert count(db, Proposal, Proposal.status == ProposalStatus.SELECTED) == 1
    assert count(db, Proposal, Proposal.status == ProposalStatus.DECLINED) == 1
    assert count(db, Deal) == 1
    assert db.session.get(Challenge, challenge_id).status == ChallengeStatus.AWARDED


def test_nothing_changes_after_the_award(
    db, owner, challenge_id, two_bids, institute_b
):
    bid_a, bid_b = two_bids
    owner.post(f"/proposals/{bid_a}/shortlist")
    close_bidding(db, challenge_id)
    owner.post(f"/proposals/{bid_a}/select", data=SELECT)
    db.session.expire_all()
    assert db.session.get(Proposal, bid_b).decline_reason_code == DeclineReason.PRICE
    for action in ("shortlist", "select", "withdraw"):
        owner.post(f"/proposals/{bid_b}/{action}")
        institute_b.post(f"/proposals/{bid_b}/{action}")
    db.session.expire_all()
    assert db.session.get(Proposal, bid_b).status == ProposalStatus.DECLINED


# --- edit and withdraw ----------------------------------------------------------------


def test_bidder_edits_and_replaces_attachments(
    app, db, challenge_id, institute_a, owner
):
    post_bid(institute_a, challenge_id, [(PDF, "旧方案.pdf")])
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    old = bid.attachments[0]
    old_id, old_stored = old.id, old.stored_name
    form = institute_a.get(f"/proposals/{bid.id}/edit")
    assert form.status_code == 200 and "45.5" in form.get_data(as_text=True)
    data = bid_form(price="50", remove_attachments=str(old_id))
    data["attachments"] = [(io.BytesIO(DOCX), "新方案.docx")]
    response = institute_a.post(
        f"/proposals/{bid.id}/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    assert bid.price_fen == 50_000_000
    assert [a.original_name for a in bid.attachments] == ["新方案.docx"]
    assert old_stored not in upload_files(app)
    assert upload_files(app) == [bid.attachments[0].stored_name]
    # Others may not edit or withdraw it.
    assert owner.get(f"/proposals/{bid.id}/edit").status_code == 403
    assert owner.post(f"/proposals/{bid.id}/withdraw").status_code == 403
    # Bad input is refused and changes nothing.
    response = institute_a.post(
        f"/proposals/{bid.id}/edit", data=bid_form(price="NaN", solution="")
    )
    assert response.status_code == 200
    assert proposal_of(db, challenge_id, institute_a.org.id).price_fen == 50_000_000


def test_no_edit_or_withdraw_after_the_deadline(db, challenge_id, institute_a):
    post_bid(institute_a, challenge_id)
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    close_bidding(db, challenge_id)
    assert institute_a.get(f"/proposals/{bid.id}/edit").status_code == 302
    response = institute_a.post(f"/proposals/{bid.id}/edit", data=bid_form(price="1"))
    assert response.status_code == 302
    assert institute_a.post(f"/proposals/{bid.id}/withdraw").status_code == 302
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    assert bid.status == ProposalStatus.SUBMITTED and bid.price_fen == 45_500_000
    assert effective(db, challenge_id) == ChallengeStatus.EVALUATING


def test_withdraw_before_the_deadline(db, owner, challenge_id, institute_a):
    post_bid(institute_a, challenge_id)
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    # Even a shortlisted bid may be withdrawn while bidding is open.
    owner.post(f"/proposals/{bid.id}/shortlist")
    assert proposal_of(db, challenge_id, institute_a.org.id).status == "shortlisted"
    assert institute_a.post(f"/proposals/{bid.id}/withdraw").status_code == 302
    assert proposal_of(db, challenge_id, institute_a.org.id).status == "withdrawn"
    assert any("撤回" in m for m in notes_for(db, owner.org.id))
    # Withdrawn once is final.
    institute_a.post(f"/proposals/{bid.id}/withdraw")
    assert count(db, AuditEvent, AuditEvent.action == "proposal_withdrawn") == 1


# --- consortium -----------------------------------------------------------------------


def test_consortium_members_must_be_real_verified_others(
    db, factory, login, owner, challenge_id, institute_a, university_client
):
    unverified = factory.org(kind=OrgKind.UNIVERSITY, verified=False)
    bureau = factory.org(kind=OrgKind.BUREAU)
    cases = [
        ("不存在的大学", "未找到机构"),
        (unverified.name, "尚未通过科技局审核"),
        (institute_a.org.name, "不能把本机构列为联合体成员"),
        (owner.org.name, "发榜企业不能作为联合体成员"),
        (bureau.name, "不能作为联合体成员"),
        ("\n".join(f"机构{i}" for i in range(11)), "最多 10 家"),
    ]
    for members, message in cases:
        response = post_bid(institute_a, challenge_id, members=members)
        assert response.status_code == 200, members
        assert message in response.get_data(as_text=True), members
    solo = new_challenge(db, owner.org.id, consortium_allowed=False)
    response = post_bid(institute_a, solo, members=university_client.org.name)
    assert "不接受联合体申报" in response.get_data(as_text=True)
    assert count(db, Proposal) == 0 and count(db, ProposalMember) == 0


def test_only_invited_members_answer(
    db, factory, login, owner, challenge_id, institute_a, university_client
):
    stranger = org_client(factory, login, OrgKind.UNIVERSITY)
    post_bid(
        institute_a,
        challenge_id,
        [(PDF, "a.pdf")],
        members=university_client.org.name,
    )
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    # The bidder and the owner see the bid but are not members: 403.
    for client in (institute_a, owner):
        response = client.post(
            f"/proposals/{bid.id}/membership", data={"answer": "confirm"}
        )
        assert response.status_code == 403
    # Someone who cannot see it at all: 404.
    response = stranger.post(
        f"/proposals/{bid.id}/membership", data={"answer": "confirm"}
    )
    assert response.status_code == 404
    assert proposal_of(db, challenge_id, institute_a.org.id).members[0].status == (
        MemberStatus.INVITED
    )
    # A bad answer changes nothing; a decline is final.
    university_client.post(f"/proposals/{bid.id}/membership", data={"answer": "x"})
    university_client.post(
        f"/proposals/{bid.id}/membership", data={"answer": "decline"}
    )
    university_client.post(
        f"/proposals/{bid.id}/membership", data={"answer": "confirm"}
    )
    member = proposal_of(db, challenge_id, institute_a.org.id).members[0]
    assert member.status == MemberStatus.DECLINED
    assert university_client.get(f"/proposals/{bid.id}").status_code == 200
    # A consortium member may read the bid but not change it or download its files.
    assert university_client.get(f"/proposals/{bid.id}/edit").status_code == 403
    assert university_client.post(f"/proposals/{bid.id}/withdraw").status_code == 403
    file_id = member.proposal.attachments[0].id
    assert university_client.get(f"/proposals/attachments/{file_id}").status_code == (
        404
    )


def test_edit_changes_consortium(
    db, factory, login, challenge_id, institute_a, university_client
):
    other = factory.org(kind=OrgKind.UNIVERSITY)
    post_bid(institute_a, challenge_id, members=university_client.org.name)
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    institute_a.post(f"/proposals/{bid.id}/edit", data=bid_form(members=other.name))
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    assert [m.org_id for m in bid.members] == [other.id]
    assert university_client.get(f"/proposals/{bid.id}").status_code == 404


# --- uploads --------------------------------------------------------------------------


def test_oversize_upload_answers_413(app, db, challenge_id, institute_a):
    big = PDF + b"0" * (20 * 2**20 + 1 - len(PDF))
    response = post_bid(institute_a, challenge_id, [(big, "big.pdf")])
    assert response.status_code == 413
    assert count(db, Proposal) == 0 and count(db, Attachment) == 0
    assert upload_files(app) == []


def test_size_limit_boundary(app, db, challenge_id, institute_a):
    app.config["MAX_ATTACHMENT_BYTES"] = 1024
    exact = PDF + b"0" * (1024 - len(PDF))
    over = exact + b"0"
    response = post_bid(institute_a, challenge_id, [(exact, "a.pdf"), (over, "b.pdf")])
    assert response.status_code == 413
    assert upload_files(app) == [] and count(db, Proposal) == 0
    assert post_bid(institute_a, challenge_id, [(exact, "a.pdf")]).status_code == 302
    assert count(db, Attachment) == 1


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        (HTML, "report.pdf", "不是有效的 PDF、DOCX 或 XLSX 文件"),
        (HTML, "report.html", "只接受 PDF、DOCX、XLSX"),
        (PDF, "script.exe", "只接受 PDF、DOCX、XLSX"),
        (PDF, "noextension", "只接受 PDF、DOCX、XLSX"),
        (DOCX, "sheet.xlsx", "扩展名与文件内容不符"),
        (PDF, "doc.docx", "扩展名与文件内容不符"),
        (_zip("a.txt"), "fake.docx", "不是有效的"),
        (
            _zip("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"),
            "macro.docx",
            "不是有效的",
        ),
        (b"PK\x03\x04broken", "broken.xlsx", "不是有效的"),
        (b"", "empty.pdf", "空文件"),
    ],
)
def test_wrong_file_types_are_refused(
    app, db, challenge_id, institute_a, body, name, message
):
    response = post_bid(institute_a, challenge_id, [(PDF, "ok.pdf"), (body, name)])
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(db, Proposal) == 0 and count(db, Attachment) == 0
    assert upload_files(app) == []


def test_path_tricks_in_file_names_are_harmless(
    app, db, tmp_path, challenge_id, owner, institute_a
):
    names = ["../../etc/passwd.pdf", "..\\..\\win\\技术\u202eFDP.docx", "a\x07b.xlsx"]
    bodies = [PDF, DOCX, XLSX]
    response = post_bid(
        institute_a, challenge_id, list(zip(bodies, names, strict=True))
    )
    assert response.status_code == 302
    bid = proposal_of(db, challenge_id, institute_a.org.id)
    stored = {a.original_name: a for a in bid.attachments}
    assert {"passwd.pdf", "ab.xlsx"} <= set(stored)
    # However the client quoted the backslashes, no path part and no bidi
    # override survives.
    docx_name = next(n for n in stored if n.endswith(".docx"))
    assert docx_name.endswith("技术FDP.docx")
    assert not set(docx_name) & {"/", "\\", "\u202e"}
    folder = Path(app.config["UPLOAD_DIR"])
    for attachment in bid.attachments:
        name = attachment.stored_name
        assert len(name.split(".")[0]) == 32 and "/" not in name
        assert (folder / name).is_file()
        assert attachment.size_bytes == (folder / name).stat().st_size
        assert len(attachment.sha256) == 64
        assert attachment.uploaded_by_id == institute_a.user.id
    assert sorted(upload_files(app)) == sorted(a.stored_name for a in bid.attachments)
    assert not (tmp_path / "etc").exists()
    download = owner.get(f"/proposals/attachments/{stored['passwd.pdf'].id}")
    assert "passwd.pdf" in download.headers["Content-Disposition"]
    assert "/" not in download.headers["Content-Disposition"].split("filename")[1]


def test_sanitise_filename():
    assert attachments.sanitise_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert attachments.sanitise_filename("C:\\Users\\王\\方案.pdf") == "方案.pdf"
    assert attachments.sanitise_filename("..") == "附件"
    assert attachments.sanitise_filename("") == "附件"
    long = attachments.sanitise_filename("长" * 300 + ".docx")
    assert len(long) == attachments.MAX_NAME_CHARS and long.endswith(".docx")


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"solution": ""}, "solution"),
        ({"technical_route": "  "}, "technical_route"),
        ({"team": ""}, "team"),
        ({"price": ""}, "请填写报价"),
        ({"price": "NaN"}, "金额"),
        ({"price": "inf"}, "金额"),
        ({"price": "1e3"}, "金额"),
        ({"price": "-5"}, "金额"),
        ({"price": "10000001"}, "金额过大"),
        ({"price": "十万"}, "金额"),
        ({"duration_months": "0"}, "1 到 120"),
        ({"duration_months": "121"}, "1 到 120"),
        ({"duration_months": "abc"}, "duration_months"),
        ({"duration_months": ""}, "请填写实施周期"),
        ({"solution": "x" * 5001}, "5000"),
        ({"team": "a\x1bb"}, "控制字符"),
    ],
)
def test_bid_form_bad_input(db, challenge_id, institute_a, overrides, message):
    response = post_bid(institute_a, challenge_id, **overrides)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert message in text or f'id="{message}-error"' in text
    assert count(db, Proposal) == 0


# --- direct award ---------------------------------------------------------------------


def test_direct_award_needs_the_bureau_and_a_justification(
    db, owner, bureau_client, challenge_id, two_bids, institute_a
):
    path = f"/proposals/challenge/{challenge_id}/direct-award"
    good = {
        "org": institute_a.org.name,
        "justification": "该院所承担过同类国家重点研发项目，" * 2,
    }
    for client in (owner, institute_a):
        assert client.get(path).status_code == 403
        assert client.post(path, data=good).status_code == 403
    assert bureau_client.get(path).status_code == 200
    for data, message in (
        ({**good, "justification": ""}, "justification"),
        ({**good, "justification": "理由太短"}, "20 到 3000"),
        ({**good, "justification": " " * 30}, "justification"),
        ({**good, "org": "不存在的机构"}, "未找到该机构"),
        ({**good, "org": owner.org.name}, "不能委托给发榜企业自身"),
    ):
        response = bureau_client.post(path, data=data)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert message in text or f'id="{message}-error"' in text
    db.session.expire_all()
    challenge = db.session.get(Challenge, challenge_id)
    assert challenge.status == ChallengeStatus.OPEN
    assert challenge.direct_award_justification == ""
    assert count(db, Deal) == 0
    assert count(db, Proposal, Proposal.status == ProposalStatus.SELECTED) == 0


def panel_opinion(db, factory, challenge_id) -> None:
    """The completed expert panel a direct award needs."""
    make_completed_panel(factory, challenge_id)


def test_bureau_awards_directly_to_a_bidder(
    db, factory, owner, bureau_client, challenge_id, two_bids, institute_a, institute_b
):
    panel_opinion(db, factory, challenge_id)
    justification = "该院所承担过同类国家重点研发项目，具备中试条件，经局务会研究决定。"
    response = bureau_client.post(
        f"/proposals/challenge/{challenge_id}/direct-award",
        data={"org": institute_a.org.credit_code, "justification": justification},
    )
    assert response.status_code == 302
    db.session.expire_all()
    challenge = db.session.get(Challenge, challenge_id)
    assert challenge.status == ChallengeStatus.AWARDED
    assert challenge.direct_award_justification == justification
    assert db.session.get(Proposal, two_bids[0]).status == ProposalStatus.SELECTED
    loser = db.session.get(Proposal, two_bids[1])
    assert loser.status == ProposalStatus.DECLINED
    assert loser.decline_reason == services.DIRECT_AWARD_DECLINE_REASON
    assert any("未中选" in m for m in notes_for(db, institute_b.org.id))
    deal = db.session.scalar(select(Deal))
    assert (deal.demand_org_id, deal.supply_org_id, deal.proposal_id) == (
        owner.org.id,
        institute_a.org.id,
        two_bids[0],
    )
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "challenge_direct_awarded")
    )
    assert event.note == justification and event.object_id == challenge_id
    # Awarding again is refused.
    again = bureau_client.post(
        f"/proposals/challenge/{challenge_id}/direct-award",
        data={"org": institute_b.org.name, "justification": justification},
    )
    assert again.status_code == 302
    assert count(db, Deal) == 1


def test_direct_award_may_pick_a_bid_the_owner_declined(
    db, factory, owner, bureau_client, challenge_id, two_bids, institute_a
):
    panel_opinion(db, factory, challenge_id)
    owner.post(
        f"/proposals/{two_bids[0]}/decline",
        data={"reason_code": "price", "note": "报价偏高"},
    )
    justification = "经专家论证，该院所方案技术路线最为可行，报价可在合同谈判中调整。"
    response = bureau_client.post(
        f"/proposals/challenge/{challenge_id}/direct-award",
        data={"org": institute_a.org.name, "justification": justification},
    )
    assert response.status_code == 302
    db.session.expire_all()
    chosen = db.session.get(Proposal, two_bids[0])
    assert chosen.status == ProposalStatus.SELECTED and chosen.decline_reason == ""
    assert chosen.decline_reason_code is None
    assert db.session.get(Proposal, two_bids[1]).status == ProposalStatus.DECLINED
    assert any("中选" in m for m in notes_for(db, institute_a.org.id))


def test_award_on_an_open_challenge_past_its_deadline(
    app, db, owner, challenge_id, two_bids
):
    """The service itself accepts open-with-deadline-passed (no expiry run yet)."""
    owner.post(f"/proposals/{two_bids[0]}/shortlist")
    close_bidding(db, challenge_id)
    proposal = db.session.get(Proposal, two_bids[0])
    user = db.session.get(User, owner.user.id)
    with app.test_request_context(method="POST"):
        deal = decisions.select_winner(proposal, user, "timing")
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Challenge, challenge_id).status == ChallengeStatus.AWARDED
    assert db.session.get(Deal, deal.id).proposal_id == two_bids[0]
    moves = db.session.scalars(
        select(AuditEvent.from_state).where(AuditEvent.action == "challenge_awarded")
    ).all()
    assert moves == ["open"]


def test_bureau_awards_directly_to_an_organisation_that_did_not_bid(
    db, factory, owner, bureau_client, challenge_id, university_client
):
    panel_opinion(db, factory, challenge_id)
    justification = "该高校拥有相关发明专利三项，适合定向承担本项攻关任务，特此委托。"
    response = bureau_client.post(
        f"/proposals/challenge/{challenge_id}/direct-award",
        data={"org": university_client.org.name, "justification": justification},
    )
    assert response.status_code == 302
    bid = proposal_of(db, challenge_id, university_client.org.id)
    assert bid.status == ProposalStatus.SELECTED
    assert bid.submitted_by_id == bureau_client.user.id
    assert count(db, Deal, Deal.proposal_id == bid.id) == 1
    assert university_client.get(f"/proposals/{bid.id}").status_code == 200


# --- the panel on the challenge page and the lists ------------------------------------


def _panel(app, db, challenge_id, user) -> str:
    with app.test_request_context():
        challenge = db.session.get(Challenge, challenge_id)
        user = AnonymousUserMixin() if user is None else db.session.get(User, user.id)
        # The challenge page's view builds the panel's sections for its viewer.
        return render_template_string(
            '{% include "proposals/_challenge_panel.html" %}',
            challenge=challenge,
            current_user=user,
            proposal_panel=proposal_sections.proposal_panel(user, challenge),
            review_panel=panel_sections.review_panel(user, challenge),
        )


def test_challenge_panel(
    app,
    db,
    owner,
    challenge_id,
    institute_a,
    institute_b,
    unverified_client,
    bureau_client,
):
    assert "揭榜申报</a>" in _panel(app, db, challenge_id, institute_a.user)
    post_bid(institute_a, challenge_id)
    html = _panel(app, db, challenge_id, institute_a.user)
    assert "揭榜申报</a>" not in html and "已提交" in html
    assert "已收到有效申报 <strong>1</strong> 份" in _panel(
        app, db, challenge_id, owner.user
    )
    bureau_html = _panel(app, db, challenge_id, bureau_client.user)
    assert "定向委托" in bureau_html and "查看全部申报" in bureau_html
    assert "通过科技局审核后" in _panel(app, db, challenge_id, unverified_client.user)
    assert "登录后可揭榜" in _panel(app, db, challenge_id, None)
    close_bidding(db, challenge_id)
    assert "揭榜申报</a>" not in _panel(app, db, challenge_id, institute_b.user)


def test_mine_lists_bids_and_invitations(
    db, challenge_id, institute_a, university_client
):
    post_bid(institute_a, challenge_id, members=university_client.org.name)
    page = university_client.get("/proposals/mine")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "联合体邀请" in text and institute_a.org.name in text
    assert "待确认" in text
