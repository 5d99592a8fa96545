"""Queries of what a user may see, shared by pages, the API, search and exports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, false, or_, select

from marketplace.models import (
    AuditEvent,
    Challenge,
    Contract,
    Deal,
    ExpertProfile,
    IntegrityRecord,
    Notification,
    Organisation,
    OrgKind,
    Project,
    Proposal,
    ProposalMember,
    Result,
    UnmetDemand,
    User,
    VerificationStatus,
)
from marketplace.permissions.consortium import (
    consortium_contracts,
    consortium_proposal_ids,
)
from marketplace.permissions.delivery import can_view_leads
from marketplace.permissions.roles import (
    PUBLIC_CHALLENGE_STATES,
    PUBLIC_RESULT_STATES,
    is_bureau,
    is_logged_in,
    is_org_admin,
    is_sysadmin,
)


def visible_organisations(user: Any) -> Select:
    """Organisations a user may list: verified ones, plus their own; all for staff."""
    query = select(Organisation)
    if is_bureau(user) or is_sysadmin(user):
        return query
    conditions = [Organisation.verified.is_(True)]
    if is_logged_in(user):
        conditions.append(Organisation.id == user.org_id)
    return query.where(or_(*conditions))


def verification_queue() -> Select:
    """Organisations waiting for the bureau, oldest first."""
    return (
        select(Organisation)
        .where(Organisation.verification_status == VerificationStatus.PENDING)
        .where(Organisation.kind != OrgKind.BUREAU)
        .order_by(Organisation.created_at)
    )


def _visible_listings(model: Any, public_states: Any, user: Any) -> Select:
    """Published listings of one kind, plus the user's organisation's own."""
    query = select(model)
    if is_bureau(user):
        return query
    conditions = [model.status.in_(public_states)]
    if is_logged_in(user):
        conditions.append(model.org_id == user.org_id)
    return query.where(or_(*conditions))


def visible_challenges(user: Any) -> Select:
    """Published challenges, plus the user's organisation's own; all for the bureau."""
    return _visible_listings(Challenge, PUBLIC_CHALLENGE_STATES, user)


def visible_results(user: Any) -> Select:
    """Published results, plus the user's organisation's own; all for the bureau."""
    return _visible_listings(Result, PUBLIC_RESULT_STATES, user)


def visible_proposals(user: Any) -> Select:
    """Proposals of the user's organisation, on its listings, or naming it."""
    query = select(Proposal)
    if is_bureau(user):
        return query
    if not is_logged_in(user):
        return query.where(false())
    own_challenges = select(Challenge.id).where(Challenge.org_id == user.org_id)
    own_results = select(Result.id).where(Result.org_id == user.org_id)
    named = select(ProposalMember.proposal_id).where(
        ProposalMember.org_id == user.org_id
    )
    return query.where(
        or_(
            Proposal.org_id == user.org_id,
            Proposal.challenge_id.in_(own_challenges),
            Proposal.result_id.in_(own_results),
            Proposal.id.in_(named),
        )
    )


def visible_deals(user: Any) -> Select:
    """Deals the user's organisation is a party to, brokers, or won in a consortium."""
    query = select(Deal)
    if is_bureau(user):
        return query
    if not is_logged_in(user):
        return query.where(false())
    return query.where(
        or_(
            Deal.demand_org_id == user.org_id,
            Deal.supply_org_id == user.org_id,
            Deal.broker_org_id == user.org_id,
            Deal.proposal_id.in_(consortium_proposal_ids(user)),
        )
    )


def visible_contracts(user: Any) -> Select:
    """Contracts the user's organisation is a party to or brokered; all for staff."""
    query = select(Contract)
    if is_bureau(user):
        return query
    if not is_logged_in(user):
        return query.where(false())
    return query.where(
        or_(
            Contract.buyer_org_id == user.org_id,
            Contract.seller_org_id == user.org_id,
            Contract.broker_org_id == user.org_id,
            consortium_contracts(user),
        )
    )


def visible_register(user: Any, register_filter: Any) -> Select:
    """The contracts a user may see that match a register filter, in its order."""
    return (
        visible_contracts(user)
        .where(*register_filter.conditions())
        .order_by(*register_filter.order_by())
    )


def visible_projects(user: Any) -> Select:
    """Projects the user's organisation owns, delivers or shares in; all for staff."""
    query = select(Project)
    if is_bureau(user):
        return query
    if not is_logged_in(user):
        return query.where(false())
    return query.where(
        or_(
            Project.owner_org_id == user.org_id,
            Project.winner_org_id == user.org_id,
            Project.proposal_id.in_(consortium_proposal_ids(user)),
        )
    )


def visible_integrity_records(user: Any) -> Select:
    """All records for the bureau; the party's own for an organisation or person."""
    query = select(IntegrityRecord).order_by(
        IntegrityRecord.decided_on.desc(), IntegrityRecord.id.desc()
    )
    if is_bureau(user):
        return query
    if not is_logged_in(user):
        return query.where(false())
    return query.where(
        or_(
            and_(
                IntegrityRecord.org_id == user.org_id,
                IntegrityRecord.user_id.is_(None),
            ),
            IntegrityRecord.user_id == user.id,
        )
    )


def visible_experts(user: Any) -> Select:
    """The expert pool is the bureau's: nobody else lists it."""
    query = select(ExpertProfile).order_by(ExpertProfile.id)
    return query if is_bureau(user) else query.where(false())


def visible_unmet_demands(user: Any) -> Select:
    """Unmet demands, newest first, for those who see leads; nothing for others."""
    query = select(UnmetDemand).order_by(
        UnmetDemand.created_at.desc(), UnmetDemand.id.desc()
    )
    return query if can_view_leads(user) else query.where(false())


def visible_notifications(user: Any) -> Select:
    """A user's own notifications, newest first."""
    if not is_logged_in(user):
        return select(Notification).where(false())
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def visible_audit_events(user: Any) -> Select:
    """The bureau and sysadmins see the whole log; an org admin their org's."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if is_bureau(user) or is_sysadmin(user):
        return query
    if is_org_admin(user):
        return query.where(AuditEvent.org_id == user.org_id)
    return query.where(false())


def org_members(org: Organisation) -> Select:
    """Users of an organisation, admins first."""
    return (
        select(User)
        .where(User.org_id == org.id)
        .order_by(User.role.desc(), User.created_at)
    )
