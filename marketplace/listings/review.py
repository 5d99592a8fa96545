"""Submitting listings for review and the bureau's verdict on them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from marketplace import audit, permissions
from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.listings.states import (
    REJECT_REASONS,
    deadline_too_far,
    transitions_for,
)
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Organisation,
    OrgKind,
    Result,
    ResultStatus,
    User,
)
from marketplace.workflow import move

Listing = Challenge | Result


def listing_kind(listing: Listing) -> str:
    """'challenge' or 'result'."""
    return "challenge" if isinstance(listing, Challenge) else "result"


def listing_link(listing: Listing) -> str:
    """The listing's page, for notifications."""
    return f"/{listing_kind(listing)}s/{listing.id}"


def _check_complete(listing: Listing) -> None:
    if isinstance(listing, Challenge):
        if not listing.description.strip():
            raise ServiceError("请填写问题描述后再提交审核。", "description")
        if listing.deadline is None or listing.deadline < local_today():
            raise ServiceError("揭榜截止日期必须是今天或以后的日期。", "deadline")
        if problem := deadline_too_far(listing.deadline):
            raise ServiceError(problem, "deadline")
        if not listing.allowed_bidder_kinds:
            raise ServiceError("请至少选择一类可揭榜的机构。", "allowed_bidder_kinds")
    else:
        if not listing.abstract.strip():
            raise ServiceError("请填写成果简介后再提交审核。", "abstract")
        if listing.valid_until is None or listing.valid_until < local_today():
            raise ServiceError("有效期必须是今天或以后的日期。", "valid_until")
    if listing.field_id is None:
        raise ServiceError("请选择技术领域。", "field")


def submit_for_review(listing: Listing, user: Any) -> None:
    """The owner sends a draft (or a fixed rejected listing) to the bureau."""
    if not permissions.can_edit(user, listing):
        raise StateError("只有发布机构的成员可以在草稿或退回状态下提交审核。")
    if not permissions.can_publish(user):
        raise StateError("机构通过科技局审核后才能提交发布。")
    _check_complete(listing)
    move(
        listing,
        ChallengeStatus.PENDING_REVIEW
        if isinstance(listing, Challenge)
        else ResultStatus.PENDING_REVIEW,
        transitions_for(listing),
        action=f"{listing_kind(listing)}_submitted",
        user=user,
    )
    listing.submitted_at = utcnow()
    bureau_staff = db.session.scalars(
        select(User)
        .join(Organisation, Organisation.id == User.org_id)
        .where(Organisation.kind == OrgKind.BUREAU, User.active.is_(True))
    )
    audit.notify(bureau_staff, f"待审核：{listing.title[:80]}", listing_link(listing))


def approve(listing: Listing, reviewer: Any, note: str = "") -> None:
    """The bureau publishes a listing under review."""
    if not permissions.can_review_listings(reviewer):
        raise StateError("只有科技局工作人员可以审核。")
    if not listing.org.verified:
        raise StateError("发布机构尚未通过审核，不能发布其信息。")
    if isinstance(listing, Challenge):
        if listing.deadline is None or listing.deadline < local_today():
            raise StateError("揭榜截止日期已过，请退回让发布方修改。")
        if problem := deadline_too_far(listing.deadline):
            raise StateError(problem + "请退回让发布方修改。")
        target = ChallengeStatus.OPEN
    else:
        if listing.valid_until is None or listing.valid_until < local_today():
            raise StateError("成果有效期已过，请退回让发布方修改。")
        target = ResultStatus.PUBLISHED
    move(
        listing,
        target,
        transitions_for(listing),
        action=f"{listing_kind(listing)}_approved",
        user=reviewer,
        note=note,
        refusal="该信息不在待审核状态。",
    )
    listing.published_at = utcnow()
    listing.reject_reason_code, listing.reject_note = None, ""
    audit.notify_org(
        listing.org_id, f"已通过审核并发布：{listing.title[:80]}", listing_link(listing)
    )


def reject(listing: Listing, reviewer: Any, reason_code: str, note: str = "") -> None:
    """The bureau sends a listing back with a reason code and a note."""
    if not permissions.can_review_listings(reviewer):
        raise StateError("只有科技局工作人员可以审核。")
    if reason_code not in REJECT_REASONS:
        raise ServiceError("请选择退回理由。", "reason_code")
    if reason_code == "other" and not note.strip():
        raise ServiceError("选择“其他”时请填写说明。", "note")
    move(
        listing,
        ChallengeStatus.REJECTED
        if isinstance(listing, Challenge)
        else ResultStatus.REJECTED,
        transitions_for(listing),
        action=f"{listing_kind(listing)}_rejected",
        user=reviewer,
        note=note,
        reason_code=reason_code,
        refusal="该信息不在待审核状态。",
    )
    listing.reject_reason_code, listing.reject_note = reason_code, note.strip()
    audit.notify_org(
        listing.org_id,
        f"未通过审核（{REJECT_REASONS[reason_code]}）：{listing.title[:80]}",
        listing_link(listing),
    )


def withdraw(listing: Listing, user: Any, note: str = "") -> None:
    """The owner takes a listing off the market (or out of review)."""
    if not permissions.is_member_of(user, listing.org_id):
        raise StateError("只有发布机构的成员可以撤回。")
    move(
        listing,
        ChallengeStatus.WITHDRAWN
        if isinstance(listing, Challenge)
        else ResultStatus.WITHDRAWN,
        transitions_for(listing),
        action=f"{listing_kind(listing)}_withdrawn",
        user=user,
        note=note,
        refusal="当前状态下不能撤回。",
    )


def review_queue() -> tuple[list[Challenge], list[Result]]:
    """Listings waiting for the bureau, oldest submission first."""
    challenges = db.session.scalars(
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.PENDING_REVIEW)
        .order_by(Challenge.submitted_at)
    ).all()
    results = db.session.scalars(
        select(Result)
        .where(Result.status == ResultStatus.PENDING_REVIEW)
        .order_by(Result.submitted_at)
    ).all()
    return list(challenges), list(results)
