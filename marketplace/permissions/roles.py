"""Roles and capabilities: who the user is and what their kind of org may do."""

from __future__ import annotations

from typing import Any

from marketplace.models import (
    ChallengeStatus,
    Organisation,
    OrgKind,
    ResultStatus,
)

PUBLIC_CHALLENGE_STATES = frozenset(
    {
        ChallengeStatus.OPEN,
        ChallengeStatus.EVALUATING,
        ChallengeStatus.AWARDED,
        ChallengeStatus.CONTRACTED,
        ChallengeStatus.CLOSED,
    }
)
PUBLIC_RESULT_STATES = frozenset({ResultStatus.PUBLISHED, ResultStatus.TRANSFERRED})
# Who may do what as a kind of organisation.
CHALLENGE_POSTER_KINDS = frozenset({OrgKind.ENTERPRISE})
RESULT_OWNER_KINDS = frozenset({OrgKind.UNIVERSITY, OrgKind.INSTITUTE})
BIDDER_KINDS = frozenset(
    {OrgKind.ENTERPRISE, OrgKind.UNIVERSITY, OrgKind.INSTITUTE, OrgKind.AGENCY}
)
ADOPTER_KINDS = frozenset({OrgKind.ENTERPRISE})
BROKER_KINDS = frozenset({OrgKind.AGENCY})
SIGNUP_KINDS = (
    OrgKind.ENTERPRISE,
    OrgKind.UNIVERSITY,
    OrgKind.INSTITUTE,
    OrgKind.AGENCY,
)


# --- who the user is -------------------------------------------------------


def is_logged_in(user: Any) -> bool:
    """Whether the user is a real, logged-in account."""
    return bool(getattr(user, "is_authenticated", False))


def is_bureau(user: Any) -> bool:
    """Bureau staff (users of the bureau organisation)."""
    return is_logged_in(user) and user.org.kind == OrgKind.BUREAU


def is_sysadmin(user: Any) -> bool:
    """Operators of the platform."""
    return is_logged_in(user) and user.is_sysadmin


def is_org_admin(user: Any, org: Organisation | None = None) -> bool:
    """An administrator of their organisation (or of `org` when given)."""
    if not is_logged_in(user) or not user.is_org_admin:
        return False
    return org is None or user.org_id == org.id


def org_is_verified(user: Any) -> bool:
    """Whether the user's organisation has been verified by the bureau."""
    return is_logged_in(user) and user.org.verified


def is_member_of(user: Any, org_id: int | None) -> bool:
    """Whether the user belongs to the organisation with this id."""
    return is_logged_in(user) and org_id is not None and user.org_id == org_id


def is_insider(user: Any, org_id: int | None) -> bool:
    """The organisation's own members and the bureau see its inside view."""
    return is_member_of(user, org_id) or is_bureau(user)


# --- what the user may do, by capability ------------------------------------


def can_manage_members(user: Any, org: Organisation) -> bool:
    """Org admins manage their own organisation's members; sysadmins any."""
    return is_org_admin(user, org) or is_sysadmin(user)


def can_publish(user: Any) -> bool:
    """Unverified organisations may draft but not publish, bid or see secrets."""
    return org_is_verified(user)


def can_post_challenge(user: Any) -> bool:
    """Enterprises post challenges (a draft needs no verification)."""
    return is_logged_in(user) and user.org.kind in CHALLENGE_POSTER_KINDS


def can_register_result(user: Any) -> bool:
    """Universities and institutes register research results."""
    return is_logged_in(user) and user.org.kind in RESULT_OWNER_KINDS


def can_review_listings(user: Any) -> bool:
    """Bureau staff review submitted listings."""
    return is_bureau(user)
