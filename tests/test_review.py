"""The bureau's review queue: approve or reject submitted listings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.clock import local_today, utcnow
from marketplace.listings import review
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Notification,
    OrgKind,
    Result,
    ResultStatus,
    User,
    UserRole,
)
from tests.factories import make_challenge, make_result

PENDING = {"status": "pending_review", "published_at": None}


def pending_challenge(db, org_id, **fields):
    values = {**PENDING, "submitted_at": utcnow(), **fields}
    return make_challenge(org_id, **values)


def pending_result(db, org_id, **fields):
    values = {**PENDING, "submitted_at": utcnow(), **fields}
    return make_result(org_id, **values)


def state(db, model, listing_id):
    db.session.expire_all()
    return db.session.get(model, listing_id)


def notes_for(db, user_id):
    return db.session.scalars(
        select(Notification.message).where(Notification.user_id == user_id)
    ).all()


def event_count(db):
    return db.session.scalar(select(func.count(AuditEvent.id)))


def test_queue_shows_pending_listings_only(
    bureau_client, enterprise_client, university_client, db
):
    ent, uni = enterprise_client.org, university_client.org
    challenge = pending_challenge(db, ent.id, title="待审核的需求")
    result = pending_result(
        db,
        uni.id,
        title="再次提交的成果",
        reject_reason_code="unclear",
        reject_note="请补充中试数据",
    )
    make_challenge(ent.id, title="已发布的需求")
    make_challenge(ent.id, title="草稿需求", status="draft", published_at=None)
    make_result(uni.id, title="已发布的成果")
    page = bureau_client.get("/bureau/reviews").get_data(as_text=True)
    assert "待审核的需求" in page and "再次提交的成果" in page
    for absent in ("已发布的需求", "草稿需求", "已发布的成果"):
        assert absent not in page
    assert f'href="/challenges/{challenge.id}"' in page
    assert f'href="/results/{result.id}"' in page
    assert ent.name in page and uni.name in page
    assert "上次退回：描述不清" in page and "请补充中试数据" in page
    assert f"/bureau/reviews/challenge/{challenge.id}/approve" in page
    assert f"/bureau/reviews/result/{result.id}/reject" in page
    for label in review.REJECT_REASONS.values():
        assert label in page


def test_queue_escapes_listing_text(bureau_client, enterprise_client, db):
    pending_challenge(db, enterprise_client.org.id, title="<script>alert(1)</script>")
    page = bureau_client.get("/bureau/reviews").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_empty_queue(bureau_client):
    page = bureau_client.get("/bureau/reviews").get_data(as_text=True)
    assert "目前没有待审核的技术需求" in page
    assert "目前没有待审核的科技成果" in page


def test_approve_challenge_publishes_and_notifies(bureau_client, enterprise_client, db):
    challenge = pending_challenge(db, enterprise_client.org.id)
    response = bureau_client.post(
        f"/bureau/reviews/challenge/{challenge.id}/approve",
        data={"note": "内容完整"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "已通过并发布" in response.get_data(as_text=True)
    saved = state(db, Challenge, challenge.id)
    assert saved.status == ChallengeStatus.OPEN
    assert saved.published_at is not None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "challenge_approved")
    )
    assert (event.from_state, event.to_state) == ("pending_review", "open")
    assert (event.object_type, event.object_id) == ("challenges", challenge.id)
    assert event.user_id == bureau_client.user.id and event.note == "内容完整"
    assert any(
        "已通过审核并发布" in m for m in notes_for(db, enterprise_client.user.id)
    )


def test_approve_result_publishes_and_notifies(bureau_client, university_client, db):
    result = pending_result(db, university_client.org.id)
    bureau_client.post(f"/bureau/reviews/result/{result.id}/approve")
    saved = state(db, Result, result.id)
    assert saved.status == ResultStatus.PUBLISHED
    assert saved.published_at is not None
    assert any(
        "已通过审核并发布" in m for m in notes_for(db, university_client.user.id)
    )
    page = bureau_client.get("/bureau/reviews").get_data(as_text=True)
    assert f'href="/results/{result.id}"' not in page
    assert "目前没有待审核的科技成果" in page


def test_reject_stores_code_and_note_and_owner_sees_it(
    bureau_client, enterprise_client, db
):
    challenge = pending_challenge(db, enterprise_client.org.id)
    response = bureau_client.post(
        f"/bureau/reviews/challenge/{challenge.id}/reject",
        data={"reason_code": "unclear", "note": "技术指标请量化"},
        follow_redirects=True,
    )
    assert "已退回" in response.get_data(as_text=True)
    saved = state(db, Challenge, challenge.id)
    assert saved.status == ChallengeStatus.REJECTED
    assert (saved.reject_reason_code, saved.reject_note) == (
        "unclear",
        "技术指标请量化",
    )
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "challenge_rejected")
    )
    assert event.reason_code == "unclear" and event.note == "技术指标请量化"
    page = enterprise_client.get("/notifications/").get_data(as_text=True)
    assert "未通过审核（描述不清）" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason_code": "", "note": "x"}, "请选择退回理由"),
        ({"reason_code": "made_up", "note": "x"}, "未退回"),
        ({"note": "没有理由"}, "请选择退回理由"),
        ({"reason_code": "other", "note": "  "}, "请填写说明"),
        ({"reason_code": "unclear", "note": "x" * 1001}, "未退回"),
        ({"reason_code": "unclear", "note": "bad\x1bchar"}, "控制字符"),
    ],
)
def test_reject_needs_a_valid_reason(
    bureau_client, university_client, db, data, message
):
    result = pending_result(db, university_client.org.id)
    before = event_count(db)
    response = bureau_client.post(
        f"/bureau/reviews/result/{result.id}/reject",
        data=data,
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    saved = state(db, Result, result.id)
    assert saved.status == ResultStatus.PENDING_REVIEW
    assert saved.reject_reason_code is None
    assert event_count(db) == before
    assert not notes_for(db, university_client.user.id)


def test_other_reason_with_note_is_accepted(bureau_client, university_client, db):
    result = pending_result(db, university_client.org.id)
    bureau_client.post(
        f"/bureau/reviews/result/{result.id}/reject",
        data={"reason_code": "other", "note": "请附专利证书编号"},
    )
    saved = state(db, Result, result.id)
    assert saved.status == ResultStatus.REJECTED
    assert saved.reject_reason_code == "other"


def test_fix_and_resubmit_keeps_history(bureau_client, enterprise_client, db):
    challenge = pending_challenge(db, enterprise_client.org.id, title="初稿")
    bureau_client.post(
        f"/bureau/reviews/challenge/{challenge.id}/reject",
        data={"reason_code": "incomplete", "note": "缺少技术指标"},
    )
    saved = state(db, Challenge, challenge.id)
    owner = db.session.get(User, enterprise_client.user.id)
    saved.title = "修改稿"
    review.submit_for_review(saved, owner)
    db.session.commit()
    page = bureau_client.get("/bureau/reviews").get_data(as_text=True)
    assert "修改稿" in page and "上次退回：信息不完整" in page
    bureau_client.post(f"/bureau/reviews/challenge/{challenge.id}/approve")
    saved = state(db, Challenge, challenge.id)
    assert saved.status == ChallengeStatus.OPEN
    assert saved.reject_reason_code is None and saved.reject_note == ""
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(
            AuditEvent.object_type == "challenges",
            AuditEvent.object_id == challenge.id,
        )
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "challenge_rejected",
        "challenge_submitted",
        "challenge_approved",
    ]


@pytest.mark.parametrize(
    "who", ["enterprise_client", "university_client", "agency_client"]
)
def test_non_bureau_is_refused_and_nothing_changes(request, who, enterprise_client, db):
    client = request.getfixturevalue(who)
    challenge = pending_challenge(db, enterprise_client.org.id)
    assert client.get("/bureau/reviews").status_code == 403
    base = f"/bureau/reviews/challenge/{challenge.id}"
    assert client.post(f"{base}/approve").status_code == 403
    response = client.post(
        f"{base}/reject", data={"reason_code": "unclear", "note": "x"}
    )
    assert response.status_code == 403
    saved = state(db, Challenge, challenge.id)
    assert saved.status == ChallengeStatus.PENDING_REVIEW
    assert saved.reject_reason_code is None


def test_anonymous_is_sent_to_login(client, enterprise_client, db):
    challenge = pending_challenge(db, enterprise_client.org.id)
    assert client.get("/bureau/reviews").status_code == 302
    response = client.post(f"/bureau/reviews/challenge/{challenge.id}/approve")
    assert response.status_code == 302 and "/auth/login" in response.location
    assert state(db, Challenge, challenge.id).status == ChallengeStatus.PENDING_REVIEW


@pytest.mark.parametrize("status", ["draft", "open", "rejected", "withdrawn"])
def test_only_pending_listings_can_be_decided(
    bureau_client, enterprise_client, db, status
):
    challenge = make_challenge(enterprise_client.org.id, status=status)
    before = event_count(db)
    for action, data in (
        ("approve", {}),
        ("reject", {"reason_code": "unclear", "note": "x"}),
    ):
        response = bureau_client.post(
            f"/bureau/reviews/challenge/{challenge.id}/{action}",
            data=data,
            follow_redirects=True,
        )
        assert "该信息不在待审核状态" in response.get_data(as_text=True)
    assert state(db, Challenge, challenge.id).status == status
    assert event_count(db) == before


def test_listing_of_unverified_org_cannot_be_approved(bureau_client, factory, db):
    org = factory.org(OrgKind.UNIVERSITY, verified=False)
    member = factory.user(org, role=UserRole.ORG_ADMIN)
    result = pending_result(db, org.id)
    response = bureau_client.post(
        f"/bureau/reviews/result/{result.id}/approve", follow_redirects=True
    )
    assert "发布机构尚未通过审核" in response.get_data(as_text=True)
    assert state(db, Result, result.id).status == ResultStatus.PENDING_REVIEW
    assert not notes_for(db, member.id)


def test_overdue_listing_cannot_be_approved(bureau_client, enterprise_client, db):
    challenge = pending_challenge(
        db, enterprise_client.org.id, deadline=local_today() - timedelta(days=1)
    )
    response = bureau_client.post(
        f"/bureau/reviews/challenge/{challenge.id}/approve", follow_redirects=True
    )
    assert "揭榜截止日期已过" in response.get_data(as_text=True)
    assert state(db, Challenge, challenge.id).status == ChallengeStatus.PENDING_REVIEW


def test_unknown_kind_or_id_is_404(bureau_client, enterprise_client, db):
    challenge = pending_challenge(db, enterprise_client.org.id)
    assert (
        bureau_client.post(f"/bureau/reviews/proposal/{challenge.id}/approve")
    ).status_code == 404
    assert bureau_client.post("/bureau/reviews/result/99999/approve").status_code == (
        404
    )
    assert bureau_client.get(
        f"/bureau/reviews/challenge/{challenge.id}/approve"
    ).status_code in (404, 405)
    assert state(db, Challenge, challenge.id).status == ChallengeStatus.PENDING_REVIEW
