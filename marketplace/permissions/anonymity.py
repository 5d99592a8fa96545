"""Anonymous challenges (匿名发布): who learns which enterprise posted one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import exists, or_, select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeReveal,
    Deal,
    MemberStatus,
    Proposal,
    ProposalMember,
    ProposalStatus,
    Result,
)
from marketplace.permissions.objects import can_view_confidential
from marketplace.permissions.roles import (
    BROKER_KINDS,
    is_bureau,
    is_logged_in,
    is_member_of,
    is_sysadmin,
    org_is_verified,
)

ANONYMOUS_SEEKER = "某企业"


def anonymous_name(challenge: Challenge) -> str:
    """The name outsiders see, 某企业（县区、行业）, from region and field."""
    region = challenge.region or getattr(challenge.org, "region", None)
    parts = [region.name if region is not None else ""]
    parts.append(challenge.field.name if challenge.field is not None else "")
    shown = "、".join(p for p in parts if p)
    return f"{ANONYMOUS_SEEKER}（{shown}）" if shown else ANONYMOUS_SEEKER


def _selected_side(user: Any, challenge: Challenge) -> bool:
    """The winner of the challenge, its confirmed consortium members, deal parties."""
    org_id = user.org_id
    winner = select(Proposal.id).where(
        Proposal.challenge_id == challenge.id,
        Proposal.status == ProposalStatus.SELECTED,
        or_(
            Proposal.org_id == org_id,
            exists().where(
                ProposalMember.proposal_id == Proposal.id,
                ProposalMember.org_id == org_id,
                ProposalMember.status == MemberStatus.CONFIRMED,
            ),
        ),
    )
    # A deal on the challenge names both parties on its page; its parties
    # reached the owner through the owner or through selection.
    party = select(Deal.id).where(
        Deal.challenge_id == challenge.id,
        or_(
            Deal.supply_org_id == org_id,
            Deal.demand_org_id == org_id,
            Deal.broker_org_id == org_id,
        ),
    )
    return bool(
        db.session.scalar(select(exists(winner)))
        or db.session.scalar(select(exists(party)))
    )


def sees_seeker(user: Any, challenge: Challenge) -> bool:
    """Whether this viewer may learn which enterprise posted the challenge."""
    if not challenge.anonymous:
        return True
    if not is_logged_in(user):
        return False
    if is_member_of(user, challenge.org_id) or is_bureau(user) or is_sysadmin(user):
        return True
    if user.org_id is None:
        return False
    if challenge.reveal_to == ChallengeReveal.AFTER_TERMS and can_view_confidential(
        user, challenge
    ):
        return True
    return _selected_side(user, challenge)


def seeker_name(user: Any, challenge: Challenge) -> str:
    """The poster's name as this viewer may see it (匿名 → 某企业（县区、行业）)."""
    if sees_seeker(user, challenge):
        return challenge.org.name
    return anonymous_name(challenge)


def hides_seeker(user: Any, challenge: Challenge) -> bool:
    """Whether the poster must be hidden from this viewer (no link to its profile)."""
    return not sees_seeker(user, challenge)


class ShownSeeker(NamedTuple):
    """A poster's name as one viewer sees it, and whether to link its profile."""

    name: str
    linked: bool


def shown_seekers(user: Any, challenges: Iterable[Challenge]) -> dict[int, ShownSeeker]:
    """Per challenge id, the poster as this viewer sees it, for a list page."""
    shown = {}
    for challenge in challenges:
        if challenge.id not in shown:
            sees = sees_seeker(user, challenge)
            name = challenge.org.name if sees else anonymous_name(challenge)
            shown[challenge.id] = ShownSeeker(name, sees)
    return shown


def thread_challenge(thread: Any) -> Challenge | None:
    """The challenge a message thread is about (its listing, project or deal)."""
    if thread is None:
        return None
    if thread.challenge is not None:
        return thread.challenge
    if thread.project is not None:
        return thread.project.challenge
    return thread.deal.challenge if thread.deal is not None else None


def org_name_for(user: Any, org: Any, challenge: Challenge | None) -> str:
    """An organisation's name as this viewer may see it beside the challenge.

    The challenge's own poster reads as its anonymous name to those who may not
    learn it; every other organisation keeps its name.
    """
    if (
        challenge is not None
        and org is not None
        and org.id == challenge.org_id
        and hides_seeker(user, challenge)
    ):
        return anonymous_name(challenge)
    return org.name if org is not None else ""


def person_for(user: Any, person: Any, challenge: Challenge | None) -> str:
    """A user's name with their organisation, 发布方（某企业…） for a hidden poster."""
    org = getattr(person, "org", None)
    shown = org_name_for(user, org, challenge)
    if org is not None and shown != org.name:
        # A personal name beside the region and field would identify the poster.
        return f"发布方（{shown}）"
    who = person.name or person.email
    return f"{who}（{shown}）" if shown else who


def can_start_deal(user: Any, challenge: Challenge, result: Result) -> bool:
    """Either side of a match, or a transfer agency, may open a deal from it."""
    if not org_is_verified(user):
        return False
    if hides_seeker(user, challenge):
        return False  # the deal would name the anonymous poster
    return (
        user.org_id in (challenge.org_id, result.org_id)
        or user.org.kind in BROKER_KINDS
    )
