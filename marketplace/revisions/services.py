"""Revision verbs: edit a published listing, approve or reject a material change."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select

from marketplace import audit, permissions
from marketplace.challenges import services as challenge_services
from marketplace.challenges.services import ChallengeData
from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.listings.review import listing_kind, listing_link
from marketplace.listings.states import deadline_too_far
from marketplace.models import (
    Challenge,
    ChangeKind,
    ChangeStatus,
    ListingChange,
    Organisation,
    OrgKind,
    Proposal,
    Result,
    User,
)
from marketplace.results import services as result_services
from marketplace.results.services import ResultData, latest_valid_until
from marketplace.revisions.fields import (
    loaded,
    material_fields,
    stored,
    summary,
    wording_fields,
)

Listing = Challenge | Result

ONE_PENDING = "已有一项重要修改在等待科技局审核，审核完成前不能再提交新的重要修改。"
EARLIER_WITH_BIDS = "已有揭榜申报，揭榜截止日期只能延后，不能提前。"


@dataclass
class Outcome:
    """What an edit did: wording applied at once, material change sent for review."""

    applied: ListingChange | None = None
    pending: ListingChange | None = None


def pending_change(listing: Listing) -> ListingChange | None:
    """The listing's material change waiting for the bureau, if any."""
    return db.session.scalar(
        select(ListingChange).where(
            _listing_column(listing) == listing.id,
            ListingChange.status == ChangeStatus.PENDING,
        )
    )


def _listing_column(listing: Listing):
    return (
        ListingChange.challenge_id
        if isinstance(listing, Challenge)
        else ListingChange.result_id
    )


def has_proposals(challenge: Challenge) -> bool:
    """Whether anyone ever bid on the challenge (a withdrawn bid counts too)."""
    found = db.session.scalar(
        select(Proposal.id).where(Proposal.challenge_id == challenge.id).limit(1)
    )
    return found is not None


def _check_deadline(challenge: Challenge, new: date | None, refusal=ServiceError):
    """A deadline lies ahead, not too far, and moves earlier only without bids."""
    if new is None:
        raise refusal("请选择揭榜截止日期。", "deadline")
    if new < local_today():
        raise refusal("揭榜截止日期不能早于今天。", "deadline")
    if problem := deadline_too_far(new):
        raise refusal(problem, "deadline")
    if challenge.deadline and new < challenge.deadline and has_proposals(challenge):
        raise refusal(EARLIER_WITH_BIDS, "deadline")


def _diff(listing: Listing, draft: Listing, names: tuple[str, ...]) -> dict:
    changes = {}
    for name in names:
        old, new = getattr(listing, name), getattr(draft, name)
        if stored(name, old) != stored(name, new):
            changes[name] = [stored(name, old), stored(name, new)]
    return changes


def _new_change(listing: Listing, user: Any, kind: ChangeKind, changes: dict):
    change = ListingChange(
        kind=kind,
        # Wording is in force at once; material changes wait for the bureau.
        status=ChangeStatus.APPLIED
        if kind == ChangeKind.WORDING
        else ChangeStatus.PENDING,
        changes=changes,
        user_id=user.id,
    )
    if isinstance(listing, Challenge):
        change.challenge_id = listing.id
    else:
        change.result_id = listing.id
    db.session.add(change)
    db.session.flush()
    return change


def _revise(listing: Listing, user: Any, draft: Listing) -> Outcome:
    if not permissions.can_revise(user, listing):
        raise StateError("只有发布机构的成员可以修改已发布的信息。")
    wording = _diff(listing, draft, wording_fields(listing))
    material = _diff(listing, draft, material_fields(listing))
    if not wording and not material:
        raise ServiceError("没有修改任何内容。")
    if material:
        if pending_change(listing) is not None:
            raise ServiceError(ONE_PENDING)
        if isinstance(listing, Challenge) and "deadline" in material:
            _check_deadline(listing, draft.deadline)
    kind = listing_kind(listing)
    outcome = Outcome()
    if wording:
        for name, (_, new) in wording.items():
            setattr(listing, name, loaded(name, new))
        outcome.applied = _new_change(listing, user, ChangeKind.WORDING, wording)
        audit.record(f"{kind}_revised", obj=listing, user=user, note=summary(wording))
    if material:
        outcome.pending = _new_change(listing, user, ChangeKind.MATERIAL, material)
        audit.record(
            f"{kind}_change_submitted", obj=listing, user=user, note=summary(material)
        )
        staff = db.session.scalars(
            select(User)
            .join(Organisation, Organisation.id == User.org_id)
            .where(Organisation.kind == OrgKind.BUREAU, User.active.is_(True))
        )
        message = f"待审核的重要修改：{listing.title[:80]}"
        audit.notify(staff, message, "/bureau/changes")
    return outcome


def revise_challenge(challenge: Challenge, user: Any, data: ChallengeData) -> Outcome:
    """The owner edits an open challenge."""
    return _revise(challenge, user, challenge_services.preview(data))


def revise_result(result: Result, user: Any, data: ResultData) -> Outcome:
    """The owner edits a published result (its valid-until date is renewed apart)."""
    if data.valid_until != result.valid_until:
        raise ServiceError("有效期请在成果页面通过“续期”修改。", "valid_until")
    # Checked as a renewal would be, not here: any stored date passes.
    draft = result_services.preview(replace(data, valid_until=latest_valid_until()))
    return _revise(result, user, draft)


# --- the bureau's verdict ------------------------------------------------------


def _reviewable(change: ListingChange, reviewer: Any) -> Listing:
    if not permissions.can_review_changes(reviewer):
        raise StateError("只有科技局工作人员可以审核修改。")
    if change.status != ChangeStatus.PENDING:
        raise StateError("该修改已审核过。")
    return change.listing


def approve_change(change: ListingChange, reviewer: Any, note: str = "") -> None:
    """The bureau applies a material change to the published listing."""
    listing = _reviewable(change, reviewer)
    if listing.status not in permissions.REVISABLE_STATES:
        raise StateError("该信息已不在发布状态，不能再修改，请退回该修改。")
    values = {name: loaded(name, new) for name, (_, new) in change.changes.items()}
    old_deadline = getattr(listing, "deadline", None)
    if isinstance(listing, Challenge) and "deadline" in values:
        _check_deadline(listing, values["deadline"], refusal=StateError)
    for name, value in values.items():
        setattr(listing, name, value)
    change.status = ChangeStatus.APPROVED
    change.reviewer_id, change.reviewed_at = reviewer.id, utcnow()
    change.review_note = note.strip()
    kind = listing_kind(listing)
    audit.record(
        f"{kind}_change_approved",
        obj=listing,
        user=reviewer,
        note=summary(change.changes) + (f"；{note.strip()}" if note.strip() else ""),
    )
    link = listing_link(listing)
    audit.notify_org(listing.org_id, f"重要修改已通过审核：{listing.title[:80]}", link)
    new_deadline = values.get("deadline")
    if isinstance(listing, Challenge) and new_deadline and new_deadline != old_deadline:
        # A new date deserves a new reminder before it.
        listing.reminded_at = None
        if old_deadline is None or new_deadline > old_deadline:
            message = (
                f"揭榜截止日期延长至 {new_deadline:%Y-%m-%d}：{listing.title[:80]}"
            )
            for org_id in sorted(permissions.challenge_audience_org_ids(listing)):
                audit.notify_org(org_id, message, link)


def reject_change(change: ListingChange, reviewer: Any, reason: str) -> None:
    """The bureau turns a material change down; the published values stay."""
    listing = _reviewable(change, reviewer)
    reason = reason.strip()
    if not reason:
        raise ServiceError("请填写不予通过的理由。", "reason")
    change.status = ChangeStatus.REJECTED
    change.reviewer_id, change.reviewed_at = reviewer.id, utcnow()
    change.review_note = reason
    audit.record(
        f"{listing_kind(listing)}_change_rejected",
        obj=listing,
        user=reviewer,
        note=f"{summary(change.changes)}；{reason}",
    )
    audit.notify_org(
        listing.org_id,
        f"重要修改未通过审核（{reason[:60]}）：{listing.title[:80]}",
        listing_link(listing),
    )


def withdraw_change(change: ListingChange, user: Any) -> None:
    """The owner takes back a material change before the bureau decides on it."""
    if not permissions.can_withdraw_change(user, change):
        raise StateError("只有发布机构的成员可以撤回待审核的修改。")
    change.status = ChangeStatus.WITHDRAWN
    listing = change.listing
    audit.record(
        f"{listing_kind(listing)}_change_withdrawn",
        obj=listing,
        user=user,
        note=summary(change.changes),
    )


def change_queue() -> list[ListingChange]:
    """Material changes waiting for the bureau, oldest first."""
    return list(
        db.session.scalars(
            select(ListingChange)
            .where(ListingChange.status == ChangeStatus.PENDING)
            .order_by(ListingChange.created_at, ListingChange.id)
        )
    )
