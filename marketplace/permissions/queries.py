"""Queries of what a user may see; pages, the API, search and exports build on them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, or_, select

from marketplace.models import (
    AuditEvent,
    Challenge,
    Contract,
    Deal,
    Notification,
    Organisation,
    OrgKind,
    Proposal,
    ProposalMember,
    Result,
    User,
    VerificationStatus,
)
from marketplace.permissions.roles import (
    PUBLIC_CHALLENGE_STATES,
    PUBLIC_RESULT_STATES,
    is_bureau,
    is_logged_in,
    is_org_admin,
    is_sysadmin,
)

# --- queries of what a user may see --------------------------------------------


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


def visible_challenges(user: Any) -> Select:
    """Published challenges, plus the user's organisation's own; all for the bureau."""
    query = select(Challenge)
    if is_bureau(user):
        return query
    conditions = [Challenge.status.in_(PUBLIC_CHALLENGE_STATES)]
    if is_logged_in(user):
        conditions.append(Challenge.org_id == user.org_id)
    return query.where(or_(*conditions))


def visible_results(user: Any) -> Select:
    """Published results, plus the user's organisation's own; all for the bureau."""
    query = select(Result)
    if is_bureau(user):
        return query
    conditions = [Result.status.in_(PUBLIC_RESULT_STATES)]
    if is_logged_in(user):
        conditions.append(Result.org_id == user.org_id)
    return query.where(or_(*conditions))


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
    """Deals the user's organisation is a party to or brokers."""
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
        )
    )


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
