"""Deadlines and valid-until dates: `flask listings expire`, states computed on read."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.listings import expiry
from marketplace.listings.states import RESULT_TRANSITIONS
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Notification,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Result,
    ResultStatus,
    UserRole,
)
from marketplace.workflow import move
from tests.factories import make_challenge, make_result


def bid(db, challenge_id, org_id, status=ProposalStatus.SUBMITTED):
    db.session.add(
        Proposal(
            kind=ProposalKind.BID,
            challenge_id=challenge_id,
            org_id=org_id,
            status=status,
            solution="方案",
        )
    )
    db.session.commit()


def expire(runner, today):
    result = runner.invoke(args=["listings", "expire", "--today", today.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def status_of(db, model, listing_id):
    db.session.expire_all()
    return db.session.get(model, listing_id).status


def messages(db, user_id):
    return db.session.scalars(
        select(Notification.message).where(Notification.user_id == user_id)
    ).all()


def totals(db):
    return (
        db.session.scalar(select(func.count(AuditEvent.id))),
        db.session.scalar(select(func.count(Notification.id))),
    )


def owners(factory):
    """A verified enterprise and university with one admin each, and a bidder."""
    ent = factory.org(OrgKind.ENTERPRISE)
    uni = factory.org(OrgKind.UNIVERSITY)
    bidder = factory.org(OrgKind.INSTITUTE)
    return (
        ent,
        factory.user(ent, role=UserRole.ORG_ADMIN),
        uni,
        factory.user(uni, role=UserRole.ORG_ADMIN),
        bidder,
    )


def test_expire_moves_overdue_listings_and_tells_owners(app, runner, factory, db):
    ent, ent_admin, uni, uni_admin, bidder = owners(factory)
    today = local_today()
    deadline = today + timedelta(days=10)
    with_bids = make_challenge(ent.id, title="有人揭榜", deadline=deadline)
    bid(db, with_bids.id, bidder.id)
    withdrawn_only = make_challenge(ent.id, title="申报已撤回", deadline=deadline)
    bid(db, withdrawn_only.id, bidder.id, ProposalStatus.WITHDRAWN)
    nobody = make_challenge(ent.id, title="无人揭榜", deadline=deadline)
    still_open = make_challenge(
        ent.id, title="仍在揭榜", deadline=today + timedelta(60)
    )
    draft = make_challenge(ent.id, status="draft", deadline=deadline)
    lapsed = make_result(uni.id, title="到期成果", valid_until=deadline)
    fresh = make_result(uni.id, valid_until=today + timedelta(days=365))
    transferred = make_result(uni.id, status="transferred", valid_until=deadline)

    later = today + timedelta(days=11)
    output = expire(runner, later)
    assert "转入评审 1 条" in output
    assert "技术需求过期 2 条" in output
    assert "科技成果过期 1 条" in output
    assert status_of(db, Challenge, with_bids.id) == ChallengeStatus.EVALUATING
    assert status_of(db, Challenge, withdrawn_only.id) == ChallengeStatus.EXPIRED
    assert status_of(db, Challenge, nobody.id) == ChallengeStatus.EXPIRED
    assert status_of(db, Challenge, still_open.id) == ChallengeStatus.OPEN
    assert status_of(db, Challenge, draft.id) == ChallengeStatus.DRAFT
    assert status_of(db, Result, lapsed.id) == ResultStatus.EXPIRED
    assert status_of(db, Result, fresh.id) == ResultStatus.PUBLISHED
    assert status_of(db, Result, transferred.id) == ResultStatus.TRANSFERRED

    ent_messages = messages(db, ent_admin.id)
    assert any("请评审申报方案：有人揭榜" in m for m in ent_messages)
    assert any("无人申报：无人揭榜" in m for m in ent_messages)
    assert any("可续期：到期成果" in m for m in messages(db, uni_admin.id))
    moves = db.session.scalars(
        select(AuditEvent.to_state).where(
            AuditEvent.action.in_(["challenge_deadline_passed", "result_expired"])
        )
    ).all()
    assert sorted(moves) == ["evaluating", "expired", "expired", "expired"]

    # A second run finds nothing more to do.
    before = totals(db)
    again = expire(runner, later)
    assert "转入评审 0 条" in again and "科技成果过期 0 条" in again
    assert "发送到期提醒 0 条" in again
    assert totals(db) == before


def test_deadline_day_itself_is_still_open(runner, factory, db):
    ent, *_ = owners(factory)
    deadline = local_today() + timedelta(days=3)
    challenge = make_challenge(ent.id, deadline=deadline)
    expire(runner, deadline)
    assert status_of(db, Challenge, challenge.id) == ChallengeStatus.OPEN
    expire(runner, deadline + timedelta(days=1))
    assert status_of(db, Challenge, challenge.id) == ChallengeStatus.EXPIRED


def test_reminders_go_out_once_seven_days_before(runner, factory, db):
    ent, ent_admin, uni, uni_admin, _ = owners(factory)
    today = local_today()
    soon = make_challenge(ent.id, title="七天后截止", deadline=today + timedelta(7))
    make_challenge(ent.id, title="八天后截止", deadline=today + timedelta(8))
    make_result(uni.id, title="三天后到期", valid_until=today + timedelta(days=3))
    make_challenge(
        ent.id, title="草稿不提醒", status="draft", deadline=today + timedelta(2)
    )

    output = expire(runner, today)
    assert "发送到期提醒 2 条" in output
    ent_messages = messages(db, ent_admin.id)
    assert any("揭榜截止：七天后截止" in m for m in ent_messages)
    assert not any("八天后截止" in m or "草稿不提醒" in m for m in ent_messages)
    assert any("有效期届满：三天后到期" in m for m in messages(db, uni_admin.id))
    db.session.expire_all()
    assert db.session.get(Challenge, soon.id).reminded_at is not None

    before = totals(db)
    assert "发送到期提醒 0 条" in expire(runner, today)
    assert totals(db) == before
    # The eight-day one is reminded the next day, and only it.
    assert "发送到期提醒 1 条" in expire(runner, today + timedelta(days=1))


def test_today_option_is_checked(runner):
    result = runner.invoke(args=["listings", "expire", "--today", "2026-02-30"])
    assert result.exit_code != 0
    result = runner.invoke(args=["listings", "expire", "--today", "tomorrow"])
    assert result.exit_code != 0


def test_expire_without_today_uses_the_real_date(runner, factory, db):
    ent, *_ = owners(factory)
    overdue = make_challenge(ent.id, deadline=local_today() - timedelta(days=1))
    result = runner.invoke(args=["listings", "expire"])
    assert result.exit_code == 0, result.output
    assert status_of(db, Challenge, overdue.id) == ChallengeStatus.EXPIRED


def test_show_computes_the_state_and_writes_nothing(factory, db):
    ent, _, uni, _, bidder = owners(factory)
    today = local_today()
    overdue = make_challenge(ent.id, deadline=today - timedelta(days=1))
    bid(db, overdue.id, bidder.id)
    lapsed = make_result(uni.id, valid_until=today - timedelta(days=1))
    before = totals(db)

    assert expiry.show(overdue) is True
    assert overdue.status == ChallengeStatus.EVALUATING
    assert expiry.show(overdue) is False
    assert expiry.show(lapsed) is True
    assert lapsed.status == ResultStatus.EXPIRED
    assert not db.session.dirty
    db.session.commit()
    assert totals(db) == before
    assert status_of(db, Challenge, overdue.id) == ChallengeStatus.OPEN
    assert status_of(db, Result, lapsed.id) == ResultStatus.PUBLISHED


def test_a_move_from_the_shown_state_writes_the_expiry_first(factory, db):
    _, _, uni, uni_admin, _ = owners(factory)
    lapsed = make_result(uni.id, valid_until=local_today() - timedelta(days=1))
    expiry.show(lapsed)
    move(
        lapsed,
        ResultStatus.PUBLISHED,
        RESULT_TRANSITIONS,
        action="result_renewed",
        user=uni_admin,
    )
    db.session.commit()
    assert status_of(db, Result, lapsed.id) == ResultStatus.PUBLISHED
    steps = db.session.execute(
        select(AuditEvent.action, AuditEvent.from_state, AuditEvent.to_state)
        .where(AuditEvent.object_type == "results", AuditEvent.object_id == lapsed.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(step) for step in steps] == [
        ("result_expired", "published", "expired"),
        ("result_renewed", "expired", "published"),
    ]
    assert any("可续期" in m for m in messages(db, uni_admin.id))


def test_show_leaves_current_listings_alone(factory, db):
    ent, _, uni, _, _ = owners(factory)
    challenge = make_challenge(ent.id)
    result = make_result(uni.id)
    assert expiry.show(challenge) is False
    assert expiry.show(result) is False
    # With a later "today" the same listings are overdue.
    later = local_today() + timedelta(days=400)
    assert expiry.show(challenge, later) is True
    assert challenge.status == ChallengeStatus.EXPIRED


def test_pages_show_the_effective_state_and_write_nothing(client, factory, db):
    ent, _, uni, _, bidder = owners(factory)
    today = local_today()
    lapsed = make_challenge(ent.id, title="逾期无人揭榜", deadline=today - timedelta(1))
    bidded = make_challenge(ent.id, title="逾期已有申报", deadline=today - timedelta(1))
    bid(db, bidded.id, bidder.id)
    current = make_challenge(ent.id, title="仍在揭榜", deadline=today)
    old = make_result(uni.id, title="过期成果", valid_until=today - timedelta(1))
    before = totals(db)
    home = client.get("/").get_data(as_text=True)
    assert "仍在揭榜" in home
    assert "逾期无人揭榜" not in home and "过期成果" not in home
    listing = client.get("/challenges/").get_data(as_text=True)
    assert "逾期无人揭榜" not in listing  # expired is not public
    assert "逾期已有申报" in listing and "评审中" in listing
    assert client.get(f"/challenges/{lapsed.id}").status_code == 404
    assert client.get(f"/results/{old.id}").status_code == 404
    # Nothing moved, nobody was told: that is `flask listings expire`'s job.
    assert totals(db) == before
    assert status_of(db, Challenge, bidded.id) == ChallengeStatus.OPEN
    assert status_of(db, Challenge, current.id) == ChallengeStatus.OPEN
    assert status_of(db, Result, old.id) == ResultStatus.PUBLISHED
    assert effective(db, Challenge, bidded.id) == ChallengeStatus.EVALUATING
    assert effective(db, Result, old.id) == ResultStatus.EXPIRED


def effective(db, model, listing_id):
    return expiry.effective_status(db.session.get(model, listing_id))
