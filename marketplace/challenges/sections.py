"""What a challenge's page decides from its state, as booleans its template reads."""

from __future__ import annotations

from marketplace.models import Challenge, ChallengeStatus


def state_flags(challenge: Challenge) -> dict[str, bool]:
    """The challenge's state as the page's yes/no questions (banners, buttons)."""
    status = challenge.status
    return {
        "bidding": status == ChallengeStatus.OPEN,
        "rejected": status == ChallengeStatus.REJECTED,
        "pending_review": status == ChallengeStatus.PENDING_REVIEW,
        "draft": status == ChallengeStatus.DRAFT,
        "expired": status == ChallengeStatus.EXPIRED,
        "evaluating": status == ChallengeStatus.EVALUATING,
        "withdrawn": status == ChallengeStatus.WITHDRAWN,
    }
