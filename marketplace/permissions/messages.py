"""Who takes part in a message thread, who may read or write it, and the inbox query.

Participants are computed from the thread's object, never stored: a listing
thread is the owner and the asker; a deal thread its two sides, its broker and
the confirmed consortium members of the proposal it came from; a project thread
its owner, its winner and the bureau. The bureau reads other threads only in an
audited review of a complaint (`can_review_thread`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, false, or_, select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    Deal,
    MemberStatus,
    MessageThread,
    Project,
    ProposalMember,
    Result,
    ThreadKind,
)
from marketplace.permissions.roles import (
    PUBLIC_CHALLENGE_STATES,
    PUBLIC_RESULT_STATES,
    is_bureau,
    is_logged_in,
    is_member_of,
    org_is_verified,
)


def _consortium_org_ids(proposal_id: int | None) -> set[int]:
    if proposal_id is None:
        return set()

    return set(
        db.session.scalars(
            select(ProposalMember.org_id).where(
                ProposalMember.proposal_id == proposal_id,
                ProposalMember.status == MemberStatus.CONFIRMED,
            )
        )
    )


def deal_party_org_ids(deal: Deal) -> set[int]:
    """The deal thread's organisations: both sides, the broker, the consortium."""
    orgs = {deal.demand_org_id, deal.supply_org_id, deal.broker_org_id}
    return {o for o in orgs if o is not None} | _consortium_org_ids(deal.proposal_id)


def thread_party_org_ids(thread: MessageThread) -> set[int]:
    """The organisations whose members take part in the thread (bureau aside)."""
    if thread.kind == ThreadKind.LISTING:
        listing = thread.challenge or thread.result
        owner = listing.org_id if listing is not None else None
        return {o for o in (owner, thread.asker_org_id) if o is not None}
    if thread.kind == ThreadKind.DEAL and thread.deal is not None:
        return deal_party_org_ids(thread.deal)
    if thread.kind == ThreadKind.PROJECT and thread.project is not None:
        return {thread.project.owner_org_id, thread.project.winner_org_id}
    return set()


def bureau_is_party(thread: MessageThread) -> bool:
    """The bureau takes part in project threads (it supervises delivery)."""
    return thread.kind == ThreadKind.PROJECT


def can_read_thread(user: Any, thread: MessageThread) -> bool:
    """Participants only: nobody outside a thread reads it."""
    if not is_logged_in(user):
        return False
    if is_bureau(user):
        return bureau_is_party(thread) or user.org_id in thread_party_org_ids(thread)
    return user.org_id in thread_party_org_ids(thread)


def can_post_in_thread(user: Any, thread: MessageThread) -> bool:
    """Participants of verified organisations write."""
    return org_is_verified(user) and can_read_thread(user, thread)


def can_review_thread(user: Any, thread: MessageThread) -> bool:
    """Bureau staff open a thread they are no party to only in a complaint review."""
    return is_bureau(user) and not can_read_thread(user, thread)


def can_ask_about(user: Any, listing: Challenge | Result) -> bool:
    """Members of verified organisations other than the owner ask a public listing."""
    public = (
        PUBLIC_CHALLENGE_STATES
        if isinstance(listing, Challenge)
        else PUBLIC_RESULT_STATES
    )
    return (
        org_is_verified(user)
        and not is_bureau(user)
        and not is_member_of(user, listing.org_id)
        and listing.status in public
    )


def can_use_deal_thread(user: Any, deal: Deal) -> bool:
    """The deal's parties, broker and confirmed consortium members."""
    return is_logged_in(user) and user.org_id in deal_party_org_ids(deal)


def can_use_project_thread(user: Any, project: Project) -> bool:
    """The project's owner and winner, and the bureau."""
    if not is_logged_in(user):
        return False
    return is_bureau(user) or user.org_id in (
        project.owner_org_id,
        project.winner_org_id,
    )


def can_publish_clarification(user: Any, thread: MessageThread) -> bool:
    """The challenge owner publishes a question from a listing thread."""
    return (
        thread.kind == ThreadKind.LISTING
        and thread.challenge is not None
        and org_is_verified(user)
        and is_member_of(user, thread.challenge.org_id)
    )


def visible_threads(user: Any) -> Select:
    """The threads the user takes part in (the inbox), bureau reviews aside."""
    query = select(MessageThread)
    if not is_logged_in(user):
        return query.where(false())
    org = user.org_id
    consortium = select(ProposalMember.proposal_id).where(
        ProposalMember.org_id == org, ProposalMember.status == MemberStatus.CONFIRMED
    )
    deals = select(Deal.id).where(
        or_(
            Deal.demand_org_id == org,
            Deal.supply_org_id == org,
            Deal.broker_org_id == org,
            Deal.proposal_id.in_(consortium),
        )
    )
    projects = select(Project.id)
    if not is_bureau(user):
        projects = projects.where(
            or_(Project.owner_org_id == org, Project.winner_org_id == org)
        )
    own_challenges = select(Challenge.id).where(Challenge.org_id == org)
    own_results = select(Result.id).where(Result.org_id == org)
    return query.where(
        or_(
            and_(
                MessageThread.kind == ThreadKind.LISTING,
                or_(
                    MessageThread.asker_org_id == org,
                    MessageThread.challenge_id.in_(own_challenges),
                    MessageThread.result_id.in_(own_results),
                ),
            ),
            and_(
                MessageThread.kind == ThreadKind.DEAL,
                MessageThread.deal_id.in_(deals),
            ),
            and_(
                MessageThread.kind == ThreadKind.PROJECT,
                MessageThread.project_id.in_(projects),
            ),
        )
    )
