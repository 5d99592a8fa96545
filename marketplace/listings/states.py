"""The state machines of challenges and results (DESIGN §2)."""

from __future__ import annotations

from datetime import date

from marketplace import clock
from marketplace.models import Challenge, ChallengeStatus, Result, ResultStatus
from marketplace.models.listing import (
    CHALLENGE_STATUS_LABELS,
    RESULT_STATUS_LABELS,
)

C, R = ChallengeStatus, ResultStatus

CHALLENGE_TRANSITIONS = {
    C.DRAFT: frozenset({C.PENDING_REVIEW, C.WITHDRAWN}),
    C.PENDING_REVIEW: frozenset({C.OPEN, C.REJECTED, C.WITHDRAWN}),
    C.REJECTED: frozenset({C.PENDING_REVIEW, C.WITHDRAWN}),
    C.OPEN: frozenset({C.EVALUATING, C.EXPIRED, C.AWARDED, C.WITHDRAWN}),
    C.EVALUATING: frozenset({C.AWARDED, C.CLOSED, C.WITHDRAWN}),
    C.AWARDED: frozenset({C.CONTRACTED, C.CLOSED}),
    C.CONTRACTED: frozenset({C.CLOSED}),
    C.EXPIRED: frozenset(),
    C.WITHDRAWN: frozenset(),
    C.CLOSED: frozenset(),
}

RESULT_TRANSITIONS = {
    R.DRAFT: frozenset({R.PENDING_REVIEW, R.WITHDRAWN}),
    R.PENDING_REVIEW: frozenset({R.PUBLISHED, R.REJECTED, R.WITHDRAWN}),
    R.REJECTED: frozenset({R.PENDING_REVIEW, R.WITHDRAWN}),
    R.PUBLISHED: frozenset({R.TRANSFERRED, R.EXPIRED, R.WITHDRAWN}),
    # Renewing an expired result puts it back on the market.
    R.EXPIRED: frozenset({R.PUBLISHED, R.WITHDRAWN}),
    R.TRANSFERRED: frozenset(),
    R.WITHDRAWN: frozenset(),
}

# Challenge and result states share their stored values, hence one mapping.
STATUS_LABELS = {**CHALLENGE_STATUS_LABELS, **RESULT_STATUS_LABELS}

# Reason codes the bureau gives when it sends a listing back.
REJECT_REASONS = {
    "incomplete": "信息不完整",
    "unclear": "描述不清",
    "not_technology": "非技术需求/非科技成果",
    "duplicate": "重复发布",
    "violation": "涉密或违规",
    "other": "其他",
}

EDITABLE_CHALLENGE_STATES = frozenset({C.DRAFT, C.REJECTED})
# While bids are decided on: shortlisted, selected, declined or directly awarded.
DECIDING_STATES = frozenset({C.OPEN, C.EVALUATING})


def transitions_for(listing: Challenge | Result):
    """The state machine that governs this listing."""
    return (
        CHALLENGE_TRANSITIONS if isinstance(listing, Challenge) else RESULT_TRANSITIONS
    )


# How far ahead a challenge's bidding deadline may lie: a longer call for bids is a
# typing slip (9999-12-31), not a policy, and would keep a listing open for ever.
MAX_DEADLINE_YEARS = 5
# A result's valid-until date: at most this far ahead, then renewed.
MAX_VALID_YEARS = 3


def years_ahead(years: int, today: date | None = None) -> date:
    """The same day `years` years after today (28 February for 29 February)."""
    today = today or clock.local_today()
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


def deadline_too_far(deadline: date | None, today: date | None = None) -> str:
    """Why a deadline lies too far ahead ("" when it does not)."""
    latest = years_ahead(MAX_DEADLINE_YEARS, today)
    if deadline is None or deadline <= latest:
        return ""
    return f"揭榜截止日期最远为 {MAX_DEADLINE_YEARS} 年后，请不晚于 {latest:%Y-%m-%d}。"
