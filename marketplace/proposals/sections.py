"""The 揭榜申报 panel on a challenge page: what this user may do with its bids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from marketplace import permissions
from marketplace.extensions import db
from marketplace.listings.states import STATUS_LABELS
from marketplace.models import (
    Challenge,
    MemberStatus,
    Proposal,
    ProposalMember,
    ProposalStatus,
)
from marketplace.proposals import services

LABELS = {
    "proposal_labels": services.PROPOSAL_STATUS_LABELS,
    "member_labels": services.MEMBER_STATUS_LABELS,
    "status_labels": STATUS_LABELS,
}


def own_proposals(challenge: Challenge, user: Any) -> list[Proposal]:
    """The user's organisation's bids on a challenge, live ones first."""
    if not permissions.is_logged_in(user):
        return []
    rows = db.session.scalars(
        select(Proposal)
        .where(Proposal.challenge_id == challenge.id, Proposal.org_id == user.org_id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    ).all()
    return sorted(rows, key=lambda p: p.status == ProposalStatus.WITHDRAWN)


def _refusal_reason(challenge: Challenge, user: Any) -> str:
    if not permissions.is_logged_in(user):
        return "登录后可揭榜申报。"
    if not user.org.verified:
        return "机构通过科技局审核后才能揭榜。"
    if permissions.is_member_of(user, challenge.org_id):
        return ""
    notice = permissions.restriction_notice(user)
    if notice:
        return notice
    if user.org.kind not in (challenge.allowed_bidder_kinds or []):
        return "本榜单不接受贵机构类型揭榜。"
    return ""


def proposal_panel(user: Any, challenge: Challenge) -> dict:
    """What the challenge page's 揭榜申报 panel shows to this user."""
    logged_in = permissions.is_logged_in(user)
    sees_all = logged_in and (
        permissions.can_decide_proposals(user, challenge) or permissions.is_bureau(user)
    )
    own = own_proposals(challenge, user) if logged_in and not sees_all else []
    live_own = next((p for p in own if p.status != ProposalStatus.WITHDRAWN), None)
    bidding_open = services.bidding_open(challenge)
    count = 0
    if sees_all:
        count = db.session.scalar(
            select(func.count(Proposal.id)).where(
                Proposal.challenge_id == challenge.id,
                Proposal.status != ProposalStatus.WITHDRAWN,
            )
        )
    invitations = []
    if logged_in and not sees_all:
        invitations = db.session.scalars(
            select(ProposalMember)
            .join(Proposal, Proposal.id == ProposalMember.proposal_id)
            .where(
                Proposal.challenge_id == challenge.id,
                ProposalMember.org_id == user.org_id,
            )
        ).all()
    return {
        "bidding_open": bidding_open,
        "can_bid": logged_in
        and bidding_open
        and live_own is None
        and permissions.can_bid(user, challenge),
        "refusal": _refusal_reason(challenge, user) if bidding_open else "",
        "own": own[0] if own else None,
        "invitations": invitations,
        "sees_all": sees_all,
        "count": count,
        "can_direct_award": permissions.can_direct_award(user)
        and challenge.status in services.DECIDING_STATES,
        **LABELS,
    }


def state_flags(
    proposal: Proposal, member: ProposalMember | None, deciding: bool
) -> dict:
    """The bid's states as the questions its page asks, answered yes or no."""
    pending = proposal.status in services.PENDING
    return {
        "declined": proposal.status == ProposalStatus.DECLINED,
        "selected": proposal.status == ProposalStatus.SELECTED,
        # A consortium member answers the invitation while the bid is undecided.
        "may_answer": member is not None
        and member.status == MemberStatus.INVITED
        and pending,
        "may_decide": deciding
        and pending
        and proposal.challenge.status in services.DECIDING_STATES,
        "shortlistable": proposal.status == ProposalStatus.SUBMITTED,
    }
