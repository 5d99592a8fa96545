"""Challenges (技术需求榜单): posting, review flow, confidentiality, list, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import permissions
from marketplace.clock import local_today, utcnow
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    ConfidentialityAcceptance,
    ConfidentialView,
    Notification,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalStatus,
    User,
)
from tests.dates import iso, resolved
from tests.factories import make_challenge

SECRET = "机密标记-7F3A9-工艺参数"


def form_data(**overrides):
    """A complete, valid challenge form."""
    data = {
        "title": "食品加工废水低能耗处理",
        "description": "现有工艺能耗高。\n需要新的生物处理方案。",
        "technical_targets": "COD 去除率 ≥ 95%",
        "public_summary": "寻求低能耗废水处理方案。",
        "confidential_detail": SECRET,
        "field": "environment",
        "region": "411702",
        "keywords": "废水处理、生物处理, 节能；废水处理",
        "bounty": "50",
        "deadline": (local_today() + timedelta(days=30)).isoformat(),
        "allowed_bidder_kinds": ["university", "institute"],
        "consortium_allowed": "y",
        "contact_name": "张工",
        "contact_phone": "0396-1234567",
        "contact_email": "zhang@example.cn",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count(db, model=Challenge):
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)))


def text(response):
    return response.get_data(as_text=True)


def fetch(db, challenge_id):
    db.session.expire_all()
    return db.session.get(Challenge, challenge_id)


def bid(db, challenge_id, org_id, status=ProposalStatus.SUBMITTED):
    """A proposal row on the challenge (the proposals feature makes real ones)."""
    proposal = Proposal(
        kind=ProposalKind.BID, challenge_id=challenge_id, org_id=org_id, status=status
    )
    db.session.add(proposal)
    db.session.commit()
    return proposal.id


# --- creating and editing ------------------------------------------------------------


def test_enterprise_creates_draft(enterprise_client, db):
    assert enterprise_client.get("/challenges/new").status_code == 200
    response = enterprise_client.post("/challenges/new", data=form_data())
    assert response.status_code == 302
    challenge = db.session.scalar(select(Challenge))
    assert response.headers["Location"].endswith(f"/challenges/{challenge.id}")
    assert challenge.org_id == enterprise_client.org.id
    assert challenge.created_by_id == enterprise_client.user.id
    assert challenge.status == ChallengeStatus.DRAFT
    assert challenge.bounty_fen == 50_000_000
    assert challenge.keywords == ["废水处理", "生物处理", "节能"]
    assert challenge.allowed_bidder_kinds == ["university", "institute"]
    assert challenge.field.code == "environment"
    assert challenge.region_code == "411702"
    assert challenge.consortium_allowed is True
    assert challenge.confidential_detail == SECRET
    assert challenge.description.endswith("需要新的生物处理方案。")
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "challenge_created")
    )
    assert event.object_id == challenge.id and event.to_state == "draft"


def test_blank_bounty_means_negotiable(enterprise_client, db):
    enterprise_client.post(
        "/challenges/new", data=form_data(bounty="", consortium_allowed=None)
    )
    challenge = db.session.scalar(select(Challenge))
    assert challenge.bounty_fen is None
    assert challenge.consortium_allowed is False
    page = text(enterprise_client.get(f"/challenges/{challenge.id}"))
    assert "面议" in page


@pytest.mark.parametrize(
    "role", ["university_client", "institute_client", "agency_client", "bureau_client"]
)
def test_non_enterprise_cannot_create(role, request, db):
    client = request.getfixturevalue(role)
    assert client.get("/challenges/new").status_code == 403
    assert client.post("/challenges/new", data=form_data()).status_code == 403
    assert count(db) == 0


def test_anonymous_cannot_create(client, db):
    response = client.post("/challenges/new", data=form_data())
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert count(db) == 0


def test_unverified_enterprise_drafts_but_cannot_submit(unverified_client, db):
    response = unverified_client.post(
        "/challenges/new", data=form_data(action="submit"), follow_redirects=True
    )
    assert response.status_code == 200
    assert "机构通过科技局审核后才能提交发布" in text(response)
    challenge = db.session.scalar(select(Challenge))
    assert challenge.status == ChallengeStatus.DRAFT
    response = unverified_client.post(
        f"/challenges/{challenge.id}/submit", follow_redirects=True
    )
    assert "机构通过科技局审核后才能提交发布" in text(response)
    assert fetch(db, challenge.id).status == ChallengeStatus.DRAFT


def test_create_and_submit_in_one_step(enterprise_client, factory, db):
    bureau = factory.org(OrgKind.BUREAU)
    staff = factory.user(bureau)
    response = enterprise_client.post(
        "/challenges/new", data=form_data(action="submit"), follow_redirects=True
    )
    assert "已保存并提交科技局审核" in text(response)
    challenge = db.session.scalar(select(Challenge))
    assert challenge.status == ChallengeStatus.PENDING_REVIEW
    assert challenge.submitted_at is not None
    assert db.session.scalar(
        select(Notification).where(Notification.user_id == staff.id)
    )


def test_submit_then_withdraw(enterprise_client, db):
    enterprise_client.post("/challenges/new", data=form_data())
    cid = db.session.scalar(select(Challenge.id))
    assert enterprise_client.post(f"/challenges/{cid}/submit").status_code == 302
    assert fetch(db, cid).status == ChallengeStatus.PENDING_REVIEW
    # A second submission is refused by the state machine.
    response = enterprise_client.post(
        f"/challenges/{cid}/submit", follow_redirects=True
    )
    assert "草稿或退回状态" in text(response)
    # Withdrawing needs the confirmation box.
    enterprise_client.post(f"/challenges/{cid}/withdraw", data={"note": "不需要了"})
    assert fetch(db, cid).status == ChallengeStatus.PENDING_REVIEW
    enterprise_client.post(
        f"/challenges/{cid}/withdraw", data={"note": "不需要了", "confirm": "y"}
    )
    assert fetch(db, cid).status == ChallengeStatus.WITHDRAWN
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == cid)
    ).all()
    assert {"challenge_created", "challenge_submitted", "challenge_withdrawn"} <= set(
        actions
    )
    # Withdrawn is final.
    enterprise_client.post(f"/challenges/{cid}/submit")
    assert fetch(db, cid).status == ChallengeStatus.WITHDRAWN


def test_submit_incomplete_draft_refused(enterprise_client, db):
    cid = make_challenge(
        enterprise_client.org.id, status=ChallengeStatus.DRAFT, description=""
    ).id
    response = enterprise_client.post(
        f"/challenges/{cid}/submit", follow_redirects=True
    )
    assert "请填写问题描述" in text(response)
    assert fetch(db, cid).status == ChallengeStatus.DRAFT


def test_edit_draft(enterprise_client, db):
    cid = make_challenge(enterprise_client.org.id, status=ChallengeStatus.DRAFT).id
    page = text(enterprise_client.get(f"/challenges/{cid}/edit"))
    assert "食品加工废水高效处理技术" in page and 'value="50"' in page
    response = enterprise_client.post(
        f"/challenges/{cid}/edit",
        data=form_data(title="改过的标题", bounty="12.5", keywords="甲 乙"),
    )
    assert response.status_code == 302
    challenge = fetch(db, cid)
    assert challenge.title == "改过的标题"
    assert challenge.bounty_fen == 12_500_000
    assert challenge.keywords == ["甲", "乙"]
    assert challenge.status == ChallengeStatus.DRAFT
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "challenge_updated", AuditEvent.object_id == cid
        )
    )


def test_rejected_challenge_shows_reason_and_is_resubmitted(enterprise_client, db):
    cid = make_challenge(
        enterprise_client.org.id,
        status=ChallengeStatus.REJECTED,
        reject_reason_code="unclear",
        reject_note="请补充现有工艺说明",
    ).id
    page = text(enterprise_client.get(f"/challenges/{cid}"))
    assert "描述不清" in page and "请补充现有工艺说明" in page
    assert "描述不清" in text(enterprise_client.get(f"/challenges/{cid}/edit"))
    response = enterprise_client.post(
        f"/challenges/{cid}/edit", data=form_data(action="submit")
    )
    assert response.status_code == 302
    assert fetch(db, cid).status == ChallengeStatus.PENDING_REVIEW


def test_edit_open_challenge_refused(enterprise_client, db):
    cid = make_challenge(enterprise_client.org.id).id
    assert enterprise_client.get(f"/challenges/{cid}/edit").status_code == 403
    response = enterprise_client.post(
        f"/challenges/{cid}/edit", data=form_data(title="偷改标题")
    )
    assert response.status_code == 403
    challenge = fetch(db, cid)
    assert challenge.title == "食品加工废水高效处理技术"
    assert challenge.status == ChallengeStatus.OPEN
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "denied"))


def test_other_orgs_draft_is_404_and_unchanged(enterprise_client, factory, db):
    other = factory.org()
    cid = make_challenge(other.id, status=ChallengeStatus.DRAFT).id
    client = enterprise_client
    assert client.get(f"/challenges/{cid}").status_code == 404
    assert client.get(f"/challenges/{cid}/edit").status_code == 404
    assert client.post(f"/challenges/{cid}/edit", data=form_data()).status_code == 404
    assert client.post(f"/challenges/{cid}/submit").status_code == 404
    assert (
        client.post(f"/challenges/{cid}/withdraw", data={"confirm": "y"}).status_code
        == 404
    )
    assert client.post(f"/challenges/{cid}/close-bidding").status_code == 404
    assert (
        client.post(f"/challenges/{cid}/accept-terms", data={"agree": "y"}).status_code
        == 404
    )
    assert client.get("/challenges/999999").status_code == 404
    challenge = fetch(db, cid)
    assert challenge.status == ChallengeStatus.DRAFT
    assert challenge.title == "食品加工废水高效处理技术"
    assert count(db, ConfidentialityAcceptance) == 0


def test_other_org_cannot_act_on_public_challenge(enterprise_client, factory, db):
    other = factory.org()
    bidder = factory.org(OrgKind.INSTITUTE)
    cid = make_challenge(other.id).id
    bid(db, cid, bidder.id)
    client = enterprise_client
    assert client.get(f"/challenges/{cid}").status_code == 200
    assert client.get(f"/challenges/{cid}/edit").status_code == 403
    assert client.post(f"/challenges/{cid}/submit").status_code == 403
    assert (
        client.post(f"/challenges/{cid}/withdraw", data={"confirm": "y"}).status_code
        == 403
    )
    assert client.post(f"/challenges/{cid}/close-bidding").status_code == 403
    assert fetch(db, cid).status == ChallengeStatus.OPEN


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounty", "message"),
    [
        ("NaN", "非负数字"),
        ("inf", "非负数字"),
        ("Infinity", "非负数字"),
        ("1e3", "非负数字"),
        ("-1", "非负数字"),
        ("10000000.01", "金额过大"),
        ("五十万", "非负数字"),
        ("50万", "非负数字"),
        ("0.0000001", "非负数字"),
    ],
)
def test_bad_bounty_refused(enterprise_client, db, bounty, message):
    response = enterprise_client.post("/challenges/new", data=form_data(bounty=bounty))
    assert response.status_code == 200
    assert message in text(response)
    assert count(db) == 0


def test_largest_bounty_accepted(enterprise_client, db):
    enterprise_client.post("/challenges/new", data=form_data(bounty="10000000"))
    assert db.session.scalar(select(Challenge.bounty_fen)) == 10_000_000_000_000


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"deadline": lambda: iso(-1)}, "不能早于今天"),
        ({"deadline": "2030-13-45"}, "不是有效的日期值"),
        ({"deadline": ""}, "请选择揭榜截止日期"),
        ({"title": ""}, "请填写需求名称"),
        ({"title": "题" * 201}, "200"),
        ({"title": "标题\x1b"}, "控制字符"),
        ({"description": ""}, "请填写问题描述"),
        ({"description": "长" * 10001}, "10000"),
        ({"allowed_bidder_kinds": None}, "请至少选择一类"),
        ({"allowed_bidder_kinds": ["university", "bureau"]}, "所选项目无效"),
        ({"field": ""}, "请选择技术领域"),
        ({"field": "nope"}, "不是有效的选择"),
        ({"region": "999999"}, "不是有效的选择"),
        ({"keywords": " ".join(f"词{i}" for i in range(11))}, "最多 10 个"),
        ({"keywords": "很" * 21}, "不能超过 20 个字"),
        ({"keywords": "正常 坏\x1b词"}, "控制字符"),
        ({"contact_email": "not-an-email"}, "有效的邮箱"),
        ({"contact_phone": "<script>"}, "联系电话只能包含"),
    ],
)
def test_bad_input_refused(enterprise_client, db, overrides, message):
    response = enterprise_client.post(
        "/challenges/new", data=form_data(**resolved(overrides))
    )
    assert response.status_code == 200
    assert message in text(response)
    assert count(db) == 0


def test_bad_edit_changes_nothing(enterprise_client, db):
    cid = make_challenge(enterprise_client.org.id, status=ChallengeStatus.DRAFT).id
    for overrides in (
        {"bounty": "NaN"},
        {"deadline": (local_today() - timedelta(days=3)).isoformat()},
        {"title": ""},
    ):
        response = enterprise_client.post(
            f"/challenges/{cid}/edit", data=form_data(**overrides)
        )
        assert response.status_code == 200, overrides
    challenge = fetch(db, cid)
    assert challenge.title == "食品加工废水高效处理技术"
    assert challenge.bounty_fen == 50_000_000


def test_html_is_shown_escaped(enterprise_client, client, db):
    enterprise_client.post(
        "/challenges/new",
        data=form_data(
            title="<script>alert(1)</script>需求",
            description='<img src=x onerror="alert(2)">描述',
            keywords="<b>粗体</b>",
        ),
    )
    challenge = db.session.scalar(select(Challenge))
    assert challenge.title == "<script>alert(1)</script>需求"
    edit_page = text(enterprise_client.get(f"/challenges/{challenge.id}/edit"))
    assert "<script>alert(1)" not in edit_page
    assert "&lt;script&gt;alert(1)" in edit_page
    challenge = db.session.scalar(select(Challenge))
    challenge.status = ChallengeStatus.OPEN
    challenge.published_at = utcnow()
    db.session.commit()
    for page in (
        text(enterprise_client.get(f"/challenges/{challenge.id}")),
        text(client.get(f"/challenges/{challenge.id}")),
        text(client.get("/challenges/")),
        text(enterprise_client.get("/challenges/mine")),
    ):
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
        assert "<b>粗体" not in page
        assert "&lt;script&gt;alert(1)" in page


# --- confidentiality ------------------------------------------------------------------


@pytest.fixture
def secret_challenge(enterprise_client, db):
    """An open challenge of the enterprise_client's org with a marked secret."""
    return make_challenge(enterprise_client.org.id, confidential_detail=SECRET).id


def test_secret_hidden_from_anonymous_and_unverified(
    client, unverified_client, secret_challenge, db
):
    for visitor in (client, unverified_client):
        page = text(visitor.get(f"/challenges/{secret_challenge}"))
        assert "食品加工废水高效处理技术" in page
        assert SECRET not in page
        assert "接受保密承诺并查看" not in page
        assert SECRET not in text(visitor.get("/challenges/"))
    response = unverified_client.post(
        f"/challenges/{secret_challenge}/accept-terms", data={"agree": "y"}
    )
    assert response.status_code == 403
    anonymous = client.post(
        f"/challenges/{secret_challenge}/accept-terms", data={"agree": "y"}
    )
    assert anonymous.status_code == 302
    assert count(db, ConfidentialityAcceptance) == 0
    assert count(db, ConfidentialView) == 0


def test_secret_after_accepting_terms(
    institute_client, enterprise_client, secret_challenge, db
):
    url = f"/challenges/{secret_challenge}"
    page = text(institute_client.get(url))
    assert SECRET not in page
    assert "保密承诺" in page and "接受保密承诺并查看" in page
    assert count(db, ConfidentialView) == 0
    # Not ticking the box accepts nothing.
    response = institute_client.post(f"{url}/accept-terms", follow_redirects=True)
    assert "请先勾选同意保密承诺" in text(response)
    assert count(db, ConfidentialityAcceptance) == 0

    response = institute_client.post(f"{url}/accept-terms", data={"agree": "y"})
    assert response.status_code == 302
    # Accepting again records nothing new.
    institute_client.post(f"{url}/accept-terms", data={"agree": "y"})
    acceptance = db.session.scalar(select(ConfidentialityAcceptance))
    assert count(db, ConfidentialityAcceptance) == 1
    assert acceptance.user_id == institute_client.user.id
    assert acceptance.org_id == institute_client.org.id
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "confidentiality_accepted"
            )
        )
        == 1
    )

    page = text(institute_client.get(url))
    assert SECRET in page
    assert "接受保密承诺并查看" not in page
    institute_client.get(url)
    views = db.session.scalars(select(ConfidentialView)).all()
    assert len(views) == 2
    assert {v.user_id for v in views} == {institute_client.user.id}
    # Never in the list, even for someone who accepted.
    assert SECRET not in text(institute_client.get("/challenges/"))

    # The owner sees the secret (without a view being logged) and who looked.
    owner_page = text(enterprise_client.get(url))
    assert SECRET in owner_page
    assert count(db, ConfidentialView) == 2
    assert owner_page.count(institute_client.org.name) >= 2
    assert institute_client.user.email in owner_page
    assert "共 2 次" in owner_page
    # The bidder sees neither the records nor the timeline.
    assert "保密内容查看记录" not in page
    assert "办理记录" not in page


def test_simultaneous_acceptances_store_one_row(
    institute_client, secret_challenge, db, monkeypatch
):
    from marketplace.challenges import services

    user = db.session.get(User, institute_client.user.id)
    challenge = db.session.get(Challenge, secret_challenge)
    assert services.accept_terms(challenge, user) is True
    db.session.commit()
    # The second request did its check before the first one committed.
    monkeypatch.setattr(permissions, "has_accepted_terms", lambda *a: False)
    assert services.accept_terms(challenge, user) is False
    db.session.commit()
    assert count(db, ConfidentialityAcceptance) == 1


def test_owner_cannot_accept_own_terms(enterprise_client, secret_challenge, db):
    response = enterprise_client.post(
        f"/challenges/{secret_challenge}/accept-terms", data={"agree": "y"}
    )
    assert response.status_code == 403
    assert count(db, ConfidentialityAcceptance) == 0


def test_bureau_sees_secret_and_records(bureau_client, secret_challenge, db):
    page = text(bureau_client.get(f"/challenges/{secret_challenge}"))
    assert SECRET in page
    assert "保密承诺接受记录" in page and "办理记录" in page


def test_secret_hidden_in_pending_review_from_others(institute_client, factory, db):
    other = factory.org()
    cid = make_challenge(
        other.id, status=ChallengeStatus.PENDING_REVIEW, confidential_detail=SECRET
    ).id
    assert institute_client.get(f"/challenges/{cid}").status_code == 404
    response = institute_client.post(
        f"/challenges/{cid}/accept-terms", data={"agree": "y"}
    )
    assert response.status_code == 404
    assert count(db, ConfidentialityAcceptance) == 0


# --- the list -----------------------------------------------------------------------


@pytest.fixture
def catalogue(factory, db):
    """Challenges in several fields, regions, bounties and deadlines."""
    org = factory.org(name="发榜企业甲")
    today = local_today()
    now = utcnow()
    make_challenge(
        org.id,
        title="需求A环保高额",
        bounty_fen=900_000_000,
        deadline=today + timedelta(days=60),
        published_at=now - timedelta(days=3),
    )
    make_challenge(
        org.id,
        title="需求B农业面议",
        field_id=_field_id(db, "agriculture"),
        region_code="411721",
        bounty_fen=None,
        deadline=today + timedelta(days=5),
        published_at=now - timedelta(days=1),
    )
    make_challenge(
        org.id,
        title="需求C环保低额",
        bounty_fen=1_000_000,
        deadline=today + timedelta(days=20),
        published_at=now - timedelta(days=2),
    )
    make_challenge(
        org.id,
        title="需求D评审中",
        status=ChallengeStatus.EVALUATING,
        bounty_fen=5_000_000,
        deadline=today - timedelta(days=2),
        published_at=now - timedelta(days=10),
    )
    make_challenge(org.id, title="需求E草稿", status=ChallengeStatus.DRAFT)
    make_challenge(org.id, title="需求F待审", status=ChallengeStatus.PENDING_REVIEW)
    make_challenge(org.id, title="需求G撤回", status=ChallengeStatus.WITHDRAWN)
    return org


def _field_id(db, code):
    from marketplace.models import TechField

    return db.session.scalar(select(TechField.id).where(TechField.code == code))


def titles(page: str) -> list[str]:
    found = [(page.find(f"需求{c}"), f"需求{c}") for c in "ABCDEFG"]
    return [title for position, title in sorted(found) if position >= 0]


def test_public_list_shows_public_states_only(client, catalogue, db):
    page = text(client.get("/challenges/"))
    assert titles(page) == ["需求B", "需求C", "需求A", "需求D"]
    # Asking for a non-public status is ignored.
    page = text(client.get("/challenges/?status=draft"))
    assert "需求E" not in page and "需求B" in page


def test_bureau_sees_drafts_in_query_but_not_in_public_list(
    bureau_client, catalogue, db
):
    bureau = db.session.get(User, bureau_client.user.id)
    visible = db.session.scalars(
        permissions.visible_challenges(bureau).with_only_columns(Challenge.title)
    ).all()
    assert "需求E草稿" in visible and "需求F待审" in visible
    page = text(bureau_client.get("/challenges/"))
    assert "需求E" not in page and "需求F" not in page and "需求A" in page
    assert "需求E" not in text(bureau_client.get("/challenges/?mine=1"))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"field": "agriculture"}, ["需求B"]),
        ({"field": "environment"}, ["需求C", "需求A", "需求D"]),
        ({"region": "411721"}, ["需求B"]),
        ({"status": "evaluating"}, ["需求D"]),
        ({"status": "open", "sort": "deadline"}, ["需求B", "需求C", "需求A"]),
        ({"min_wan": "5"}, ["需求A", "需求D"]),
        ({"max_wan": "5"}, ["需求C", "需求D"]),
        ({"min_wan": "1", "max_wan": "5"}, ["需求C", "需求D"]),
        ({"soon": "y"}, ["需求B"]),
        ({"sort": "bounty"}, ["需求A", "需求D", "需求C", "需求B"]),
        ({"sort": "deadline"}, ["需求D", "需求B", "需求C", "需求A"]),
        ({"sort": "newest"}, ["需求B", "需求C", "需求A", "需求D"]),
    ],
)
def test_list_filters_and_sorts(client, catalogue, db, params, expected):
    response = client.get("/challenges/", query_string=params)
    assert response.status_code == 200
    assert titles(text(response)) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"min_wan": "abc"},
        {"min_wan": "NaN"},
        {"max_wan": "1e9"},
        {"max_wan": "-5"},
        {"min_wan": "99999999999"},
        {"min_wan": "10", "max_wan": "1"},
        {"field": "bogus"},
        {"region": "x"},
        {"status": "nonsense"},
        {"sort": "evil"},
        {"soon": "maybe"},
        {"page": "abc"},
        {"page": "-3"},
        {"page": str(10**30)},
    ],
)
def test_list_survives_bad_filters(client, catalogue, db, params):
    response = client.get("/challenges/", query_string=params)
    assert response.status_code == 200
    # The site refuses NUL bytes outright; never a 500.
    assert client.get("/challenges/", query_string={"field": "\x00"}).status_code == 400


def test_bad_bounty_filter_is_reported_and_ignored(client, catalogue, db):
    page = text(client.get("/challenges/", query_string={"min_wan": "abc"}))
    assert "已忽略" in page and "非负数字" in page
    assert titles(page) == ["需求B", "需求C", "需求A", "需求D"]
    page = text(
        client.get("/challenges/", query_string={"min_wan": "10", "max_wan": "1"})
    )
    assert "最高榜额不能低于最低榜额" in page
    assert titles(page) == ["需求A"]


def test_list_pages(client, factory, db):
    org = factory.org()
    now = utcnow()
    for number in range(25):
        make_challenge(
            org.id,
            title=f"分页需求{number:02d}号",
            published_at=now - timedelta(minutes=number),
        )
    first = text(client.get("/challenges/"))
    assert "分页需求00号" in first and "分页需求19号" in first
    assert "分页需求20号" not in first
    second = text(client.get("/challenges/?page=2"))
    assert "分页需求20号" in second and "分页需求24号" in second
    assert "分页需求00号" not in second
    assert client.get("/challenges/?page=99").status_code == 200


def test_mine_lists_every_state_of_own_org(login, factory, catalogue, db):
    member = factory.user(catalogue)
    own = login(member)
    outsider = login(factory.user(factory.org()))
    page = text(own.get("/challenges/mine"))
    assert set(titles(page)) == {f"需求{c}" for c in "ABCDEFG"}
    assert set(titles(text(own.get("/challenges/?mine=1")))) == {
        f"需求{c}" for c in "ABCDEFG"
    }
    assert titles(text(own.get("/challenges/mine?status=draft"))) == ["需求E"]
    assert titles(text(outsider.get("/challenges/mine"))) == []


def test_mine_needs_login(client):
    response = client.get("/challenges/mine")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


# --- expiry, closing early and the timeline ------------------------------------


def test_overdue_challenge_without_bids_shows_expired_and_expire_writes_it(
    enterprise_client, client, runner, db
):
    cid = make_challenge(enterprise_client.org.id).id
    challenge = fetch(db, cid)
    challenge.deadline = local_today() - timedelta(days=1)
    db.session.commit()
    assert "已过期" in text(enterprise_client.get(f"/challenges/{cid}"))
    # Reading the page wrote nothing: `flask listings expire` moves it.
    assert fetch(db, cid).status == ChallengeStatus.OPEN
    assert client.get(f"/challenges/{cid}").status_code == 404
    assert runner.invoke(args=["listings", "expire"]).exit_code == 0
    db.session.expire_all()
    assert fetch(db, cid).status == ChallengeStatus.EXPIRED
    page = text(enterprise_client.get(f"/challenges/{cid}"))
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "challenge_deadline_passed")
    )
    # The timeline shows the expiry even though the event has no object.
    assert "揭榜截止（系统自动处理）" in page
    # Expired challenges are no longer public.
    assert client.get(f"/challenges/{cid}").status_code == 404


def test_overdue_challenge_with_bids_moves_to_evaluating(
    enterprise_client, client, factory, db
):
    bidder = factory.org(OrgKind.UNIVERSITY)
    cid = make_challenge(enterprise_client.org.id).id
    bid(db, cid, bidder.id)
    challenge = fetch(db, cid)
    challenge.deadline = local_today() - timedelta(days=1)
    db.session.commit()
    page = text(client.get(f"/challenges/{cid}"))
    assert "评审中" in page
    assert fetch(db, cid).status == ChallengeStatus.OPEN  # a page never writes


def test_list_applies_expiry(client, factory, db):
    org = factory.org()
    bidder = factory.org(OrgKind.UNIVERSITY)
    cid = make_challenge(
        org.id, title="过期的需求", deadline=local_today() - timedelta(days=2)
    ).id
    bid_on = make_challenge(
        org.id, title="待评审的需求", deadline=local_today() - timedelta(days=2)
    ).id
    bid(db, bid_on, bidder.id)
    page = text(client.get("/challenges/?status=open"))
    assert "过期的需求" not in page and "待评审的需求" not in page
    evaluating = text(client.get("/challenges/?status=evaluating"))
    assert "待评审的需求" in evaluating and "过期的需求" not in evaluating
    assert "评审中" in evaluating
    # Listing computed the state; it wrote nothing.
    assert fetch(db, cid).status == ChallengeStatus.OPEN


def test_close_bidding_early(enterprise_client, factory, db):
    bidder = factory.org(OrgKind.INSTITUTE)
    bidder_user = factory.user(bidder)
    cid = make_challenge(enterprise_client.org.id).id
    response = enterprise_client.post(
        f"/challenges/{cid}/close-bidding",
        data={"confirm": "y"},
        follow_redirects=True,
    )
    assert "尚无揭榜申报" in text(response)
    assert fetch(db, cid).status == ChallengeStatus.OPEN
    bid(db, cid, bidder.id)
    assert "提前截止并开始评审" in text(enterprise_client.get(f"/challenges/{cid}"))
    # Without the confirmation tick nothing happens.
    unticked = enterprise_client.post(
        f"/challenges/{cid}/close-bidding", follow_redirects=True
    )
    assert "请先勾选确认框" in text(unticked)
    assert fetch(db, cid).status == ChallengeStatus.OPEN
    enterprise_client.post(f"/challenges/{cid}/close-bidding", data={"confirm": "y"})
    assert fetch(db, cid).status == ChallengeStatus.EVALUATING
    assert db.session.scalar(
        select(Notification).where(Notification.user_id == bidder_user.id)
    )


def test_withdraw_open_challenge_tells_bidders(enterprise_client, factory, db):
    bidder = factory.org(OrgKind.UNIVERSITY)
    bidder_user = factory.user(bidder)
    cid = make_challenge(enterprise_client.org.id).id
    bid(db, cid, bidder.id)
    enterprise_client.post(f"/challenges/{cid}/withdraw", data={"confirm": "y"})
    assert fetch(db, cid).status == ChallengeStatus.WITHDRAWN
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == bidder_user.id)
    )
    assert "撤回" in note.message


def test_timeline_for_owner_and_bureau_only(
    enterprise_client, bureau_client, institute_client, db
):
    enterprise_client.post("/challenges/new", data=form_data())
    cid = db.session.scalar(select(Challenge.id))
    enterprise_client.post(f"/challenges/{cid}/submit")
    page = text(enterprise_client.get(f"/challenges/{cid}"))
    assert "办理记录" in page
    assert page.index("提交审核") < page.index("创建草稿")  # newest first
    assert "草稿 → 待审核" in page
    assert "办理记录" in text(bureau_client.get(f"/challenges/{cid}"))
    # Published, the challenge is public, but its timeline is not.
    challenge = fetch(db, cid)
    challenge.status = ChallengeStatus.OPEN
    db.session.commit()
    page = text(institute_client.get(f"/challenges/{cid}"))
    assert "食品加工废水低能耗处理" in page
    assert "办理记录" not in page and "创建草稿" not in page
