"""Editing published listings: wording at once, material changes via the bureau."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeReveal,
    ChallengeStatus,
    ChangeKind,
    ChangeStatus,
    ListingChange,
    MemberStatus,
    Notification,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalMember,
    Result,
    User,
)
from marketplace.search.sync import get_index
from tests.dates import iso, today
from tests.factories import make_challenge, make_result

DEADLINE_DAYS = 30  # make_challenge's deadline, in days from today


@pytest.fixture
def app_config(app_config):
    """Keep the search index in step with commits, as a web node does."""
    return {**app_config, "SEARCH_SYNC_ON_COMMIT": True}


@pytest.fixture
def firm(factory, login):
    """An enterprise with a logged-in member and an open challenge of its own."""
    org = factory.org(OrgKind.ENTERPRISE)
    client = login(factory.user(org))
    client.org = org
    return client


@pytest.fixture
def challenge_id(app, db, firm):
    challenge_id = make_challenge(firm.org.id, deadline=today(DEADLINE_DAYS)).id
    get_index().reindex(db.session)
    return challenge_id


def challenge_form(**overrides) -> dict:
    """The edit form of make_challenge's challenge, unchanged."""
    data = {
        "title": "食品加工废水高效处理技术",
        "description": "现有废水处理工艺能耗高，需要低能耗的生物处理方案。",
        "public_summary": "寻求低能耗废水处理方案。",
        "confidential_detail": "现有工艺参数：COD 3000mg/L，日处理量 500 吨。",
        "technical_targets": "COD 去除率 ≥ 95%",
        "keywords": "废水处理、生物处理",
        "field": "environment",
        "region": "411702",
        "bounty": "50",
        "deadline": iso(DEADLINE_DAYS),
        "allowed_bidder_kinds": ["university", "institute", "enterprise", "agency"],
        "consortium_allowed": "y",
        "contact_name": "",
        "contact_phone": "",
        "contact_email": "",
        "action": "revise",
    }
    data.update(overrides)
    return data


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def fetch(db, model, listing_id):
    db.session.expire_all()
    return db.session.get(model, listing_id)


def changes(db) -> list[ListingChange]:
    db.session.expire_all()
    return list(db.session.scalars(select(ListingChange).order_by(ListingChange.id)))


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def revise(client, challenge_id, **overrides):
    return client.post(
        f"/challenges/{challenge_id}/revise", data=challenge_form(**overrides)
    )


def bid_with_member(db, factory, challenge_id):
    """An institute's bid naming a university as consortium member."""
    institute = factory.org(OrgKind.INSTITUTE)
    university = factory.org(OrgKind.UNIVERSITY)
    bidder, member = factory.user(institute), factory.user(university)
    proposal = Proposal(
        kind=ProposalKind.BID, challenge_id=challenge_id, org_id=institute.id
    )
    proposal.members.append(
        ProposalMember(org_id=university.id, status=MemberStatus.CONFIRMED)
    )
    db.session.add(proposal)
    db.session.commit()
    return bidder, member


# --- wording --------------------------------------------------------------------------


def test_wording_change_applies_at_once_and_shows_in_history_and_search(
    db, firm, client, challenge_id
):
    assert "修改已发布的技术需求" in page(firm, f"/challenges/{challenge_id}/revise")
    response = revise(firm, challenge_id, title="秸秆沼气提纯技术需求")
    assert response.status_code == 302
    assert fetch(db, Challenge, challenge_id).title == "秸秆沼气提纯技术需求"
    [change] = changes(db)
    assert change.kind == ChangeKind.WORDING
    assert change.status == ChangeStatus.APPLIED
    assert change.changes == {
        "title": ["食品加工废水高效处理技术", "秸秆沼气提纯技术需求"]
    }
    assert "challenge_revised" in actions(db)
    public = page(client, f"/challenges/{challenge_id}")
    assert "修改记录" in public and "修改了：名称" in public and "已生效" in public
    # The index followed the commit (the hit's title comes back highlighted).
    found = page(client, "/search?q=沼气提纯")
    assert "找到 1 条结果" in found and f"/challenges/{challenge_id}" in found


def test_confidential_detail_never_appears_in_the_history(
    db, firm, client, challenge_id
):
    revise(firm, challenge_id, confidential_detail="新的机密参数 ZX-9981")
    assert fetch(db, Challenge, challenge_id).confidential_detail.endswith("ZX-9981")
    assert "ZX-9981" not in page(client, f"/challenges/{challenge_id}")
    assert "保密内容" in page(client, f"/challenges/{challenge_id}")


def test_anonymity_changes_with_the_wording_and_the_page_follows(
    db, firm, client, challenge_id
):
    name = firm.org.name
    assert name in page(client, f"/challenges/{challenge_id}")
    response = revise(firm, challenge_id, anonymous="y", reveal_to="when_selected")
    assert response.status_code == 302
    stored = fetch(db, Challenge, challenge_id)
    assert stored.anonymous and stored.reveal_to == ChallengeReveal.WHEN_SELECTED
    public = page(client, f"/challenges/{challenge_id}")
    assert name not in public and "修改了：匿名发布、向揭榜方公开企业名称" in public


def test_a_results_confidential_detail_is_revised_at_once(db, factory, login):
    institute = factory.org(OrgKind.INSTITUTE)
    owner = login(factory.user(institute))
    result = make_result(institute.id)
    data = {
        "title": result.title, "abstract": result.abstract,
        "confidential_detail": "菌种保藏编号 CGMCC-7781",
        "field": str(result.field_id), "discipline": result.discipline,
        "keywords": "、".join(result.keywords), "trl": str(result.trl),
        "ip_type": result.ip_type, "ip_numbers": result.ip_numbers,
        "transfer_modes": list(result.transfer_modes),
        "price": str(result.price_fen // 1_000_000),
        "benefit": result.benefit, "valid_until": result.valid_until.isoformat(),
        "contact_name": "", "contact_phone": "", "contact_email": "",
    }  # fmt: skip
    assert owner.post(f"/results/{result.id}/revise", data=data).status_code == 302
    stored = fetch(db, Result, result.id)
    assert stored.confidential_detail == "菌种保藏编号 CGMCC-7781"
    [change] = changes(db)
    assert change.status == ChangeStatus.APPLIED
    assert set(change.changes) == {"confidential_detail"}


def test_ticked_boxes_in_another_order_are_no_change(db, firm, challenge_id):
    # Stored in another order than the form's (imports and the demo data do).
    kinds = ["enterprise", "agency", "institute", "university"]
    fetch(db, Challenge, challenge_id).allowed_bidder_kinds = kinds
    db.session.commit()
    response = revise(firm, challenge_id, title="新名称")
    assert response.status_code == 302
    [change] = changes(db)
    assert set(change.changes) == {"title"}


def test_nothing_changed_is_refused(db, firm, challenge_id):
    response = revise(firm, challenge_id)
    assert response.status_code == 200
    assert "没有修改任何内容" in response.get_data(as_text=True)
    assert changes(db) == []


# --- material changes and the bureau --------------------------------------------------


def test_material_change_waits_while_the_published_value_stays(
    db, firm, client, bureau_client, challenge_id
):
    response = revise(firm, challenge_id, bounty="80", title="新名称的需求")
    assert response.status_code == 302
    challenge = fetch(db, Challenge, challenge_id)
    assert challenge.bounty_fen == 50_000_000  # still the published figure
    assert challenge.title == "新名称的需求"  # wording went through
    _wording, material = changes(db)
    assert material.kind == ChangeKind.MATERIAL
    assert material.status == ChangeStatus.PENDING
    assert material.changes == {"bounty_fen": [50_000_000, 80_000_000]}
    public = page(client, f"/challenges/{challenge_id}")
    assert "50.00 万元" in public and "80.00 万元" not in public
    assert "待科技局审核" not in public
    assert "待科技局审核" in page(firm, f"/challenges/{challenge_id}")
    queue = page(bureau_client, "/bureau/changes")
    assert "新名称的需求" in queue and "80.00 万元" in queue and "50.00 万元" in queue
    staff = db.session.get(User, bureau_client.user.id)
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == staff.id)
    )
    assert note is not None and note.link == "/bureau/changes"
    assert "challenge_change_submitted" in actions(db)


def test_a_second_material_change_is_refused_while_one_is_pending(
    db, firm, challenge_id
):
    revise(firm, challenge_id, bounty="80")
    response = revise(firm, challenge_id, bounty="90")
    assert response.status_code == 200
    assert "已有一项重要修改在等待科技局审核" in response.get_data(as_text=True)
    assert [c.changes for c in changes(db)] == [
        {"bounty_fen": [50_000_000, 80_000_000]}
    ]
    # Wording alone still goes through while the material change waits.
    assert revise(firm, challenge_id, title="只改名称").status_code == 302
    assert fetch(db, Challenge, challenge_id).title == "只改名称"


def test_bureau_approves_a_material_change(
    db, firm, client, bureau_client, challenge_id
):
    revise(firm, challenge_id, bounty="80", technical_targets="COD 去除率 ≥ 98%")
    [change] = changes(db)
    response = bureau_client.post(
        f"/bureau/changes/{change.id}/approve", data={"note": "同意", "confirm": "y"}
    )
    assert response.status_code == 302
    challenge = fetch(db, Challenge, challenge_id)
    assert challenge.bounty_fen == 80_000_000
    assert challenge.technical_targets == "COD 去除率 ≥ 98%"
    [change] = changes(db)
    assert change.status == ChangeStatus.APPROVED
    assert change.reviewer_id == bureau_client.user.id and change.reviewed_at
    assert "challenge_change_approved" in actions(db)
    public = page(client, f"/challenges/{challenge_id}")
    assert "80.00 万元" in public and "审核通过，已生效" in public
    owner_notes = db.session.scalars(
        select(Notification.message).join(User, User.id == Notification.user_id)
        .where(User.org_id == firm.org.id)
    ).all()
    assert any("重要修改已通过审核" in m for m in owner_notes)


def test_approval_needs_the_confirmation_tick(db, firm, bureau_client, challenge_id):
    revise(firm, challenge_id, bounty="80")
    [change] = changes(db)
    bureau_client.post(f"/bureau/changes/{change.id}/approve", data={"note": ""})
    assert changes(db)[0].status == ChangeStatus.PENDING
    assert fetch(db, Challenge, challenge_id).bounty_fen == 50_000_000


def test_bureau_rejects_with_a_reason_the_owner_is_told(
    db, firm, bureau_client, challenge_id
):
    revise(firm, challenge_id, bounty="5")
    [change] = changes(db)
    url = f"/bureau/changes/{change.id}/reject"
    bureau_client.post(url, data={"reason": ""})
    assert changes(db)[0].status == ChangeStatus.PENDING  # a reason is required
    bureau_client.post(url, data={"reason": "榜额大幅下调需说明原因"})
    [change] = changes(db)
    assert change.status == ChangeStatus.REJECTED
    assert change.review_note == "榜额大幅下调需说明原因"
    assert fetch(db, Challenge, challenge_id).bounty_fen == 50_000_000
    assert "challenge_change_rejected" in actions(db)
    messages = db.session.scalars(
        select(Notification.message).join(User, User.id == Notification.user_id)
        .where(User.org_id == firm.org.id)
    ).all()
    assert any("榜额大幅下调需说明原因" in m for m in messages)
    owner_page = page(firm, f"/challenges/{challenge_id}")
    assert "未通过审核" in owner_page and "榜额大幅下调需说明原因" in owner_page
    # Once decided, a change cannot be decided again.
    bureau_client.post(
        f"/bureau/changes/{change.id}/approve", data={"confirm": "y"}
    )
    assert changes(db)[0].status == ChangeStatus.REJECTED
    # And a new material change may now be proposed.
    assert revise(firm, challenge_id, bounty="60").status_code == 302
    assert changes(db)[-1].status == ChangeStatus.PENDING


# --- deadlines ------------------------------------------------------------------------


def test_deadline_earlier_is_refused_once_bids_exist(db, factory, firm, challenge_id):
    bid_with_member(db, factory, challenge_id)
    earlier = iso(DEADLINE_DAYS - 5)
    response = revise(firm, challenge_id, deadline=earlier)
    assert response.status_code == 200
    assert "揭榜截止日期只能延后，不能提前" in response.get_data(as_text=True)
    assert changes(db) == []


def test_deadline_earlier_without_bids_may_be_proposed_and_approved(
    db, firm, bureau_client, challenge_id
):
    earlier = today(DEADLINE_DAYS - 5)
    assert revise(firm, challenge_id, deadline=earlier.isoformat()).status_code == 302
    [change] = changes(db)
    bureau_client.post(f"/bureau/changes/{change.id}/approve", data={"confirm": "y"})
    assert fetch(db, Challenge, challenge_id).deadline == earlier


def test_approval_rechecks_an_earlier_deadline_against_bids_that_came_since(
    db, factory, firm, bureau_client, challenge_id
):
    earlier = today(DEADLINE_DAYS - 5)
    revise(firm, challenge_id, deadline=earlier.isoformat())
    bid_with_member(db, factory, challenge_id)
    [change] = changes(db)
    response = bureau_client.post(
        f"/bureau/changes/{change.id}/approve", data={"confirm": "y"}
    )
    assert response.status_code == 302
    assert changes(db)[0].status == ChangeStatus.PENDING
    assert fetch(db, Challenge, challenge_id).deadline == today(DEADLINE_DAYS)
    flashed = page(bureau_client, "/bureau/changes")
    assert "揭榜截止日期只能延后，不能提前" in flashed


def test_deadline_extension_notifies_bidders_and_consortium_members(
    db, factory, firm, bureau_client, challenge_id
):
    bidder, member = bid_with_member(db, factory, challenge_id)
    later = today(DEADLINE_DAYS + 20)
    revise(firm, challenge_id, deadline=later.isoformat())
    assert fetch(db, Challenge, challenge_id).deadline == today(DEADLINE_DAYS)
    [change] = changes(db)
    bureau_client.post(f"/bureau/changes/{change.id}/approve", data={"confirm": "y"})
    assert fetch(db, Challenge, challenge_id).deadline == later
    for user in (bidder, member):
        notes = db.session.scalars(
            select(Notification).where(Notification.user_id == user.id)
        ).all()
        assert [n.link for n in notes] == [f"/challenges/{challenge_id}"]
        assert f"延长至 {later:%Y-%m-%d}" in notes[0].message


def test_approval_refused_once_the_listing_left_the_market(
    db, firm, bureau_client, challenge_id
):
    revise(firm, challenge_id, bounty="80")
    challenge = fetch(db, Challenge, challenge_id)
    challenge.status = ChallengeStatus.WITHDRAWN
    db.session.commit()
    [change] = changes(db)
    bureau_client.post(f"/bureau/changes/{change.id}/approve", data={"confirm": "y"})
    assert changes(db)[0].status == ChangeStatus.PENDING
    assert fetch(db, Challenge, challenge_id).bounty_fen == 50_000_000


# --- results --------------------------------------------------------------------------


def test_result_wording_at_once_price_after_review(
    app, db, factory, login, client, bureau_client
):
    institute = factory.org(OrgKind.INSTITUTE)
    owner = login(factory.user(institute))
    result = make_result(institute.id)
    url = f"/results/{result.id}/revise"
    assert "修改已发布的科技成果" in page(owner, url)
    data = {
        "title": "改进的生物膜工艺", "abstract": result.abstract,
        "field": str(result.field_id), "discipline": result.discipline,
        "keywords": "生物膜、废水处理", "trl": "6", "ip_type": "发明专利",
        "ip_numbers": "", "transfer_modes": ["转让", "许可"], "price": "45",
        "benefit": "", "valid_until": result.valid_until.isoformat(),
        "contact_name": "", "contact_phone": "", "contact_email": "",
    }  # fmt: skip
    assert owner.post(url, data=data).status_code == 302
    stored = fetch(db, Result, result.id)
    assert stored.title == "改进的生物膜工艺"
    assert stored.price_fen == 30_000_000
    _wording, material = changes(db)
    assert material.changes == {"price_fen": [30_000_000, 45_000_000]}
    assert "30.00 万元" in page(client, f"/results/{result.id}")
    bureau_client.post(f"/bureau/changes/{material.id}/approve", data={"confirm": "y"})
    assert fetch(db, Result, result.id).price_fen == 45_000_000
    assert {"result_revised", "result_change_approved"} <= set(actions(db))
    # The valid-until date is renewed, not revised.
    later = (result.valid_until + timedelta(days=10)).isoformat()
    response = owner.post(url, data={**data, "title": "再改", "valid_until": later})
    assert "续期" in response.get_data(as_text=True)
    assert fetch(db, Result, result.id).title == "改进的生物膜工艺"


# --- who may --------------------------------------------------------------------------


def test_outsiders_and_non_owners_cannot_edit(
    db, firm, client, factory, login, bureau_client, challenge_id
):
    url = f"/challenges/{challenge_id}/revise"
    assert client.get(url).status_code == 302  # to the login page
    other = login(factory.user(factory.org(OrgKind.ENTERPRISE)))
    for outsider in (other, bureau_client):
        assert outsider.get(url).status_code == 403
        assert revise(outsider, challenge_id, bounty="1").status_code == 403
    assert changes(db) == []
    # Drafts are edited on the ordinary page, and unseen by outsiders.
    draft = make_challenge(firm.org.id, status=ChallengeStatus.DRAFT).id
    assert firm.get(f"/challenges/{draft}/revise").status_code == 403
    assert other.get(f"/challenges/{draft}/revise").status_code == 404
    assert "修改</a>" not in page(other, f"/challenges/{challenge_id}")
    assert "revise" in page(firm, f"/challenges/{challenge_id}")


def test_only_the_bureau_reviews_changes(db, firm, factory, login, challenge_id):
    revise(firm, challenge_id, bounty="80")
    [change] = changes(db)
    institute = login(factory.user(factory.org(OrgKind.INSTITUTE)))
    for someone in (firm, institute):
        assert someone.get("/bureau/changes").status_code == 403
        response = someone.post(
            f"/bureau/changes/{change.id}/approve", data={"confirm": "y"}
        )
        assert response.status_code == 403
        response = someone.post(
            f"/bureau/changes/{change.id}/reject", data={"reason": "不行"}
        )
        assert response.status_code == 403
    assert changes(db)[0].status == ChangeStatus.PENDING
    assert fetch(db, Challenge, challenge_id).bounty_fen == 50_000_000


def test_the_access_matrix_sends_edits_that_would_go_through(
    db, factory, login, firm, challenge_id
):
    """tests/access_revisions.py's forms must be valid, or a denial proves nothing."""
    from tests.access_revisions import REVISE_CHALLENGE, REVISE_RESULT

    challenge = fetch(db, Challenge, challenge_id)
    data = {**REVISE_CHALLENGE, "deadline": challenge.deadline.isoformat()}
    assert firm.post(f"/challenges/{challenge_id}/revise", data=data).status_code == 302
    university = factory.org(OrgKind.UNIVERSITY)
    owner = login(factory.user(university))
    result = make_result(university.id)
    data = {
        **REVISE_RESULT,
        "field": str(result.field_id),
        "valid_until": result.valid_until.isoformat(),
    }
    assert owner.post(f"/results/{result.id}/revise", data=data).status_code == 302
    assert [(c.kind, bool(c.challenge_id)) for c in changes(db)] == [
        (ChangeKind.WORDING, True),
        (ChangeKind.MATERIAL, True),
        (ChangeKind.WORDING, False),
        (ChangeKind.MATERIAL, False),
    ]


def test_owner_withdraws_a_pending_change_and_may_propose_another(
    db, firm, factory, login, bureau_client, challenge_id
):
    revise(firm, challenge_id, bounty="80")
    [change] = changes(db)
    url = f"/listing-changes/{change.id}/withdraw"
    other = login(factory.user(factory.org(OrgKind.ENTERPRISE)))
    for someone in (other, bureau_client):
        assert someone.post(url).status_code == 403
    assert changes(db)[0].status == ChangeStatus.PENDING
    assert "撤回该修改" in page(firm, f"/challenges/{challenge_id}")
    assert firm.post(url).status_code == 302
    assert changes(db)[0].status == ChangeStatus.WITHDRAWN
    assert "challenge_change_withdrawn" in actions(db)
    assert "目前没有待审核的重要修改" in page(bureau_client, "/bureau/changes")
    assert firm.post(url).status_code == 403  # only while pending
    assert revise(firm, challenge_id, bounty="70").status_code == 302
    assert fetch(db, Challenge, challenge_id).bounty_fen == 50_000_000
