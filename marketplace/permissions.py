"""Who may do what: role checks, route decorators, object checks and visible queries.

Every rule about access lives here. Pages, the API, search results and exports
build their queries with the `visible_*` functions so that one rule serves all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, and_, false, or_, select

from marketplace.exceptions import StateError
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    ConfidentialityAcceptance,
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
    ResultStatus,
    UnmetDemand,
    User,
    VerificationStatus,
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


# --- what the user may do, by capability ------------------------------------


def can_verify_orgs(user: Any) -> bool:
    """The bureau verifies or refuses organisations."""
    return is_bureau(user)


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


# --- object-level checks ------------------------------------------------------


def can_view_org(user: Any, org: Organisation) -> bool:
    """Verified organisations are public; others only to their members and staff."""
    return (
        org.verified
        or is_member_of(user, org.id)
        or is_bureau(user)
        or is_sysadmin(user)
    )


def can_edit_org(user: Any, org: Organisation) -> bool:
    """An organisation's admins edit its profile; sysadmins may too."""
    return is_org_admin(user, org) or is_sysadmin(user)


def can_view_challenge(user: Any, challenge: Challenge) -> bool:
    """Public once published; drafts and rejected ones only to owner and bureau."""
    return (
        challenge.status in PUBLIC_CHALLENGE_STATES
        or is_member_of(user, challenge.org_id)
        or is_bureau(user)
    )


def can_edit_challenge(user: Any, challenge: Challenge) -> bool:
    """The owner's members edit a challenge while it is a draft or rejected."""
    return is_member_of(user, challenge.org_id) and challenge.status in {
        ChallengeStatus.DRAFT,
        ChallengeStatus.REJECTED,
    }


def can_view_result(user: Any, result: Result) -> bool:
    """Public once published; otherwise only to owner and bureau."""
    return (
        result.status in PUBLIC_RESULT_STATES
        or is_member_of(user, result.org_id)
        or is_bureau(user)
    )


def can_edit_result(user: Any, result: Result) -> bool:
    """The owner's members edit a result while it is a draft or rejected."""
    return is_member_of(user, result.org_id) and result.status in {
        ResultStatus.DRAFT,
        ResultStatus.REJECTED,
    }


def has_accepted_terms(user: Any, challenge: Challenge) -> bool:
    """Whether this user accepted the challenge's confidentiality terms."""
    if not is_logged_in(user):
        return False
    from marketplace.extensions import db

    return (
        db.session.scalar(
            select(ConfidentialityAcceptance.id).where(
                ConfidentialityAcceptance.challenge_id == challenge.id,
                ConfidentialityAcceptance.user_id == user.id,
            )
        )
        is not None
    )


def may_accept_terms(user: Any, challenge: Challenge) -> bool:
    """Members of verified organisations other than the owner may ask to see more."""
    return (
        org_is_verified(user)
        and not is_member_of(user, challenge.org_id)
        and challenge.status in PUBLIC_CHALLENGE_STATES
    )


def can_view_confidential(user: Any, challenge: Challenge) -> bool:
    """The owner and the bureau; others after accepting the terms themselves."""
    if is_member_of(user, challenge.org_id) or is_bureau(user):
        return True
    return may_accept_terms(user, challenge) and has_accepted_terms(user, challenge)


def can_bid(user: Any, challenge: Challenge) -> bool:
    """A verified organisation of an allowed kind, not the poster (time aside)."""
    return (
        org_is_verified(user)
        and user.org.kind in BIDDER_KINDS
        and user.org.kind in (challenge.allowed_bidder_kinds or [])
        and not is_member_of(user, challenge.org_id)
        and not active_restrictions(user)
    )


def can_adopt(user: Any, result: Result) -> bool:
    """A verified enterprise may apply to adopt another organisation's result."""
    return (
        org_is_verified(user)
        and user.org.kind in ADOPTER_KINDS
        and not is_member_of(user, result.org_id)
        and not active_restrictions(user)
    )


def can_decide_proposals(user: Any, listing: Challenge | Result) -> bool:
    """The listing owner's members shortlist, select and decline."""
    return is_member_of(user, listing.org_id)


def can_start_deal(user: Any, challenge: Challenge, result: Result) -> bool:
    """Either side of a match, or a transfer agency, may open a deal from it."""
    if not org_is_verified(user):
        return False
    return (
        user.org_id in (challenge.org_id, result.org_id)
        or user.org.kind in BROKER_KINDS
    )


def can_direct_award(user: Any) -> bool:
    """Only the bureau awards directly (定向委托)."""
    return is_bureau(user)


def can_import_listings(user: Any) -> bool:
    """The bureau bulk-imports listings for organisations."""
    return is_bureau(user)


def can_download_attachment(user: Any, proposal: Proposal) -> bool:
    """The bidder, the listing owner and the bureau; nobody else."""
    if not is_logged_in(user):
        return False
    return is_bureau(user) or user.org_id in (
        proposal.org_id,
        _listing_owner_id(proposal),
    )


def _listing_owner_id(proposal: Proposal) -> int | None:
    listing = proposal.challenge or proposal.result
    return listing.org_id if listing is not None else None


def can_view_proposal(user: Any, proposal: Proposal) -> bool:
    """The bidder, its consortium members, the listing owner and the bureau."""
    if not is_logged_in(user):
        return False
    if is_bureau(user) or user.org_id in (proposal.org_id, _listing_owner_id(proposal)):
        return True
    return any(m.org_id == user.org_id for m in proposal.members)


def can_view_deal(user: Any, deal: Deal) -> bool:
    """The two parties, the broker and the bureau."""
    if not is_logged_in(user):
        return False
    return is_bureau(user) or user.org_id in (
        deal.demand_org_id,
        deal.supply_org_id,
        deal.broker_org_id,
    )


def can_view_contract(user: Any, contract: Contract) -> bool:
    """The parties, the broker and the bureau."""
    if not is_logged_in(user):
        return False
    return is_bureau(user) or user.org_id in (
        contract.buyer_org_id,
        contract.seller_org_id,
        contract.broker_org_id,
    )


def can_create_deal(user: Any) -> bool:
    """Members of verified organisations other than the bureau may open deals."""
    return org_is_verified(user) and not is_bureau(user)


def can_act_on_deal(user: Any, deal: Deal) -> bool:
    """The two parties and the broker move stages and add notes; the bureau reads."""
    if not org_is_verified(user) or is_bureau(user):
        return False
    return user.org_id in (deal.demand_org_id, deal.supply_org_id, deal.broker_org_id)


def can_set_broker(user: Any, deal: Deal) -> bool:
    """Either party chooses (or drops) the transfer agency brokering its deal."""
    if not org_is_verified(user) or is_bureau(user):
        return False
    return user.org_id in (deal.demand_org_id, deal.supply_org_id)


def can_record_contract(
    user: Any,
    buyer_id: int | None,
    seller_id: int | None,
    broker_id: int | None,
    deal: Deal | None = None,
) -> bool:
    """The bureau, or a verified member of a party or broker of the contract."""
    if is_bureau(user):
        return True
    if not org_is_verified(user):
        return False
    involved = {buyer_id, seller_id, broker_id}
    if deal is not None:
        involved |= {deal.demand_org_id, deal.supply_org_id, deal.broker_org_id}
    return user.org_id in involved - {None}


def can_record_payment(user: Any, contract: Contract) -> bool:
    """The parties, the broker and the bureau record payments received."""
    return can_view_contract(user, contract)


def can_view_certificate(user: Any, contract: Contract) -> bool:
    """The bureau and the contract's two parties print its registration proof."""
    if not is_logged_in(user):
        return False
    parties = {contract.buyer_org_id, contract.seller_org_id} - {None}
    return is_bureau(user) or user.org_id in parties


# --- expert panels, projects and integrity records (揭榜挂帅 delivery) ---------


def can_manage_experts(user: Any) -> bool:
    """The bureau adds, edits, retires and imports experts."""
    return is_bureau(user)


def expert_profile(user: Any) -> ExpertProfile | None:
    """The user's active expert profile, if they are in the pool."""
    if not is_logged_in(user):
        return None
    from marketplace.extensions import db

    return db.session.scalar(
        select(ExpertProfile).where(
            ExpertProfile.user_id == user.id, ExpertProfile.active.is_(True)
        )
    )


def can_form_proposal_panel(user: Any, challenge: Challenge) -> bool:
    """The challenge owner or the bureau forms the panel that scores its bids."""
    return is_member_of(user, challenge.org_id) or is_bureau(user)


def can_view_panel_results(user: Any, challenge: Challenge) -> bool:
    """The owner and the bureau see a completed panel's ranking and comments."""
    return is_member_of(user, challenge.org_id) or is_bureau(user)


def can_manage_acceptance(user: Any) -> bool:
    """The bureau schedules checks, forms their panels and records conclusions."""
    return is_bureau(user)


def can_view_project(user: Any, project: Project) -> bool:
    """The owner, the winner and the bureau."""
    if not is_logged_in(user):
        return False
    return is_bureau(user) or user.org_id in (
        project.owner_org_id,
        project.winner_org_id,
    )


def can_plan_project(user: Any, project: Project) -> bool:
    """The owner starts the project and plans its milestones; the owner accepts."""
    return org_is_verified(user) and is_member_of(user, project.owner_org_id)


def can_deliver(user: Any, project: Project) -> bool:
    """The winner submits deliverables and applies for exemption."""
    return org_is_verified(user) and is_member_of(user, project.winner_org_id)


def can_record_integrity(user: Any) -> bool:
    """Only the bureau records research-integrity findings."""
    return is_bureau(user)


def can_view_integrity_record(user: Any, record: IntegrityRecord) -> bool:
    """The bureau, and the party itself (its organisation or the person)."""
    if not is_logged_in(user):
        return False
    if record.user_id is not None:  # a person's record is the person's business
        return is_bureau(user) or record.user_id == user.id
    return is_bureau(user) or is_member_of(user, record.org_id)


def active_restrictions(user: Any, on: Any = None) -> list[IntegrityRecord]:
    """Integrity restrictions in force against the user or their organisation."""
    if not is_logged_in(user):
        return []
    from marketplace.extensions import db
    from marketplace.listings.states import local_today

    day = on or local_today()
    return list(
        db.session.scalars(
            select(IntegrityRecord)
            .where(
                or_(
                    and_(
                        IntegrityRecord.org_id == user.org_id,
                        IntegrityRecord.user_id.is_(None),
                    ),
                    # `== None` would be IS NULL: every org-wide record.
                    IntegrityRecord.user_id == user.id
                    if user.id is not None
                    else false(),
                ),
                IntegrityRecord.revoked_at.is_(None),
                IntegrityRecord.decided_on <= day,
                IntegrityRecord.restricted_until >= day,
            )
            .order_by(IntegrityRecord.restricted_until.desc())
        )
    )


def org_restriction(org_id: int | None, on: Any = None) -> IntegrityRecord | None:
    """The organisation-wide restriction in force (the longest running), if any."""
    if org_id is None:
        return None
    from marketplace.extensions import db
    from marketplace.listings.states import local_today

    day = on or local_today()
    return db.session.scalar(
        select(IntegrityRecord)
        .where(
            IntegrityRecord.org_id == org_id,
            IntegrityRecord.user_id.is_(None),
            IntegrityRecord.revoked_at.is_(None),
            IntegrityRecord.decided_on <= day,
            IntegrityRecord.restricted_until >= day,
        )
        .order_by(IntegrityRecord.restricted_until.desc())
        .limit(1)
    )


def org_restricted(org_id: int, on: Any = None) -> bool:
    """Whether an organisation-wide integrity restriction is in force."""
    return org_restriction(org_id, on) is not None


def refuse_restricted_org(
    org: Organisation | None, consequence: str, field: str | None = None
) -> None:
    """Refuse, saying why, a decision that would advance a restricted organisation.

    One rule for every decision (bid decisions, adoption, consortium, deals,
    contracts, direct award): a restriction recorded after the party applied
    still holds when the other side decides.
    """
    record = org_restriction(org.id) if org is not None else None
    if record is not None:
        raise StateError(
            f"“{org.name}”处于科研诚信限制期内（{record.source_document}，"
            f"至 {record.restricted_until:%Y-%m-%d}），{consequence}。",
            field,
        )


def restriction_notice(user: Any) -> str:
    """Why a restricted user may not bid, adopt or sit on panels ("" if free)."""
    records = active_restrictions(user)
    if not records:
        return ""
    first = records[0]
    return (
        f"因科研诚信记录（{first.type_label}，{first.source_document}），"
        f"{first.restricted_until:%Y-%m-%d} 前不得揭榜、承接成果或担任评审专家。"
    )


# --- unmet demands (free-text problems with no strong match) -------------------


def can_view_leads(user: Any) -> bool:
    """Verified transfer agencies and the bureau see unmet demands as leads."""
    return is_bureau(user) or (org_is_verified(user) and user.org.kind in BROKER_KINDS)


def can_take_leads(user: Any) -> bool:
    """Verified transfer agencies free of restrictions take (接手) leads."""
    return (
        org_is_verified(user)
        and user.org.kind in BROKER_KINDS
        and not active_restrictions(user)
    )


_VIEW_CHECKS: dict[type, Callable[[Any, Any], bool]] = {
    Organisation: can_view_org,
    Challenge: can_view_challenge,
    Result: can_view_result,
    Proposal: can_view_proposal,
    Deal: can_view_deal,
    Contract: can_view_contract,
    Project: can_view_project,
    IntegrityRecord: can_view_integrity_record,
}
_EDIT_CHECKS: dict[type, Callable[[Any, Any], bool]] = {
    Organisation: can_edit_org,
    Challenge: can_edit_challenge,
    Result: can_edit_result,
}


def can_view(user: Any, obj: Any) -> bool:
    """Object-level read check for any model the app shows."""
    check = _VIEW_CHECKS.get(type(obj))
    return bool(check and check(user, obj))


def can_edit(user: Any, obj: Any) -> bool:
    """Object-level write check for any model the app edits."""
    check = _EDIT_CHECKS.get(type(obj))
    return bool(check and check(user, obj))


def require(allowed: bool) -> None:
    """Abort with 403 (audited by the error handler) unless allowed."""
    if not allowed:
        abort(403)


# --- route decorators ---------------------------------------------------------


def _guard(predicate: Callable[[Any], bool]) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            require(predicate(current_user))
            return view(*args, **kwargs)

        return wrapped

    return decorator


bureau_required = _guard(is_bureau)
sysadmin_required = _guard(is_sysadmin)
org_admin_required = _guard(is_org_admin)
verified_org_required = _guard(org_is_verified)


def org_kind_required(*kinds: OrgKind) -> Callable:
    """Only members of organisations of these kinds may use the route."""
    return _guard(lambda user: user.org.kind in kinds)


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


def visible_register(user: Any, register_filter: Any) -> Select:
    """The contracts a user may see that match a register filter, in its order."""
    return (
        visible_contracts(user)
        .where(*register_filter.conditions())
        .order_by(*register_filter.order_by())
    )


def visible_projects(user: Any) -> Select:
    """Projects the user's organisation owns or delivers; all for the bureau."""
    query = select(Project)
    if is_bureau(user):
        return query
    if not is_logged_in(user):
        return query.where(false())
    return query.where(
        or_(Project.owner_org_id == user.org_id, Project.winner_org_id == user.org_id)
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
