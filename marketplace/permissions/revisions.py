"""Who may edit published listings, review material changes and see the history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from marketplace.models import (
    Challenge,
    ChallengeStatus,
    ChangeStatus,
    ListingChange,
    Result,
    ResultStatus,
)
from marketplace.permissions.roles import can_publish, is_bureau, is_member_of

# A published listing is edited while it is on the market: a challenge open for
# bids, a result published. Drafts and rejected ones use the ordinary edit page.
REVISABLE_STATES = frozenset({ChallengeStatus.OPEN, ResultStatus.PUBLISHED})
# What everybody who sees the listing sees of its history.
PUBLIC_CHANGE_STATES = frozenset({ChangeStatus.APPLIED, ChangeStatus.APPROVED})


def can_revise(user: Any, listing: Challenge | Result) -> bool:
    """The owner's members edit a listing on the market (verified owners only)."""
    return (
        is_member_of(user, listing.org_id)
        and can_publish(user)
        and listing.status in REVISABLE_STATES
    )


def can_review_changes(user: Any) -> bool:
    """The bureau approves or rejects material changes of published listings."""
    return is_bureau(user)


def can_withdraw_change(user: Any, change: ListingChange) -> bool:
    """The owner's members take back a material change the bureau has not decided."""
    return (
        is_member_of(user, change.listing.org_id)
        and change.status == ChangeStatus.PENDING
    )


def visible_changes(user: Any, listing: Challenge | Result) -> Select:
    """The listing's changes this user may see, newest first.

    Pending and rejected changes only to the owner and the bureau.
    """
    column = (
        ListingChange.challenge_id
        if isinstance(listing, Challenge)
        else ListingChange.result_id
    )
    query = select(ListingChange).where(column == listing.id)
    if not (is_member_of(user, listing.org_id) or is_bureau(user)):
        query = query.where(ListingChange.status.in_(PUBLIC_CHANGE_STATES))
    return query.order_by(ListingChange.created_at.desc(), ListingChange.id.desc())
