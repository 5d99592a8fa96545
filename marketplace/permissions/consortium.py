"""Consortium members (联合体成员) as parties to what their winning bid leads to.

The consortium agreement makes every confirmed member a party to the deal, the
contracts and the project that grow out of the bid: they read them as parties do.
Acting on them (stages, payments, milestones) stays with the lead parties.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    Contract,
    Deal,
    MemberStatus,
    Project,
    Proposal,
    ProposalMember,
    ProposalStatus,
)
from marketplace.permissions.roles import is_logged_in


def consortium_org_ids(proposal_id: int | None) -> list[int]:
    """The organisations that confirmed their place in the proposal's consortium."""
    if proposal_id is None:
        return []

    return list(
        db.session.scalars(
            select(ProposalMember.org_id)
            .where(
                ProposalMember.proposal_id == proposal_id,
                ProposalMember.status == MemberStatus.CONFIRMED,
            )
            .order_by(ProposalMember.id)
        )
    )


def deal_consortium_org_ids(deal_id: int | None) -> list[int]:
    """The confirmed consortium members behind a deal opened from a winning bid."""
    if deal_id is None:
        return []

    return consortium_org_ids(
        db.session.scalar(select(Deal.proposal_id).where(Deal.id == deal_id))
    )


def is_consortium_member(user: Any, proposal_id: int | None) -> bool:
    """Whether the user's organisation is a confirmed member of that consortium."""
    if not is_logged_in(user) or user.org_id is None:
        return False
    return user.org_id in consortium_org_ids(proposal_id)


def consortium_proposal_ids(user: Any) -> Select:
    """Ids of the proposals whose consortium the user's organisation confirmed."""
    return select(ProposalMember.proposal_id).where(
        ProposalMember.org_id == user.org_id,
        ProposalMember.status == MemberStatus.CONFIRMED,
    )


def consortium_deal_ids(user: Any) -> Select:
    """Ids of the deals opened from those proposals."""
    return select(Deal.id).where(Deal.proposal_id.in_(consortium_proposal_ids(user)))


def consortium_contracts(user: Any) -> ColumnElement[bool]:
    """Contracts of those deals, or under which their projects are delivered."""
    projects = select(Project.contract_id).where(
        Project.proposal_id.in_(consortium_proposal_ids(user))
    )
    return or_(
        Contract.deal_id.in_(consortium_deal_ids(user)), Contract.id.in_(projects)
    )


def is_consortium_contract(user: Any, contract: Contract) -> bool:
    """Whether the contract belongs to a consortium the user's organisation is in."""
    if not is_logged_in(user) or user.org_id is None:
        return False

    found = db.session.scalar(
        select(Contract.id).where(
            Contract.id == contract.id, consortium_contracts(user)
        )
    )
    return found is not None


def challenge_audience_org_ids(challenge: Challenge) -> set[int]:
    """Organisations with a live bid on the challenge and the members they named.

    They hear what changes the terms they bid on (a later deadline, a
    clarification); invited members too, who are deciding whether to join.
    """
    live = select(Proposal.id).where(
        Proposal.challenge_id == challenge.id,
        Proposal.status != ProposalStatus.WITHDRAWN,
    )
    bidders = db.session.scalars(select(Proposal.org_id).where(Proposal.id.in_(live)))
    members = db.session.scalars(
        select(ProposalMember.org_id).where(
            ProposalMember.proposal_id.in_(live),
            ProposalMember.status != MemberStatus.DECLINED,
        )
    )
    return {*bidders, *members} - {challenge.org_id}
