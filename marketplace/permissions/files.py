"""Who may add, remove and download files on listings and organisations."""

from __future__ import annotations

from typing import Any

from marketplace.models import (
    Challenge,
    ChallengeStatus,
    ListingAttachment,
    Organisation,
    Result,
    ResultStatus,
)
from marketplace.permissions.objects import (
    can_edit_org,
    can_view_challenge,
    can_view_confidential,
    can_view_result,
)
from marketplace.permissions.roles import is_bureau, is_member_of, is_org_admin

# A withdrawn listing is finished: its files stay as they were.
_FROZEN_STATES = frozenset({ChallengeStatus.WITHDRAWN, ResultStatus.WITHDRAWN})


def can_view_listing(user: Any, listing: Challenge | Result) -> bool:
    """Whether the user may see the challenge or result at all."""
    if isinstance(listing, Challenge):
        return can_view_challenge(user, listing)
    return can_view_result(user, listing)


def can_manage_listing_files(user: Any, listing: Challenge | Result) -> bool:
    """The owner's members add and remove files, in draft and once published."""
    return (
        is_member_of(user, listing.org_id) and listing.status not in _FROZEN_STATES
    )


def can_download_listing_file(
    user: Any, listing: Challenge | Result, item: ListingAttachment
) -> bool:
    """Public files go with the listing; confidential ones with its secret part."""
    if not can_view_listing(user, listing):
        return False
    return not item.confidential or can_view_confidential(user, listing)


def can_manage_org_documents(user: Any, org: Organisation) -> bool:
    """The organisation's admins (and sysadmins) upload verification documents."""
    return can_edit_org(user, org)


def can_view_org_documents(user: Any, org: Organisation) -> bool:
    """The bureau, which verifies, and the organisation's own admins; nobody else."""
    return is_bureau(user) or is_org_admin(user, org)
