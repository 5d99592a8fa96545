"""Object-level checks on listings, proposals, deals and contracts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.listings.states import CHALLENGE_TRANSITIONS, DECIDING_STATES
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    ConfidentialityAcceptance,
    Contract,
    ContractStatus,
    Deal,
    Organisation,
    Payment,
    Proposal,
    Result,
    ResultStatus,
)
from marketplace.permissions.consortium import (
    is_consortium_contract,
    is_consortium_member,
)
from marketplace.permissions.nda import has_valid_signature, may_sign_nda
from marketplace.permissions.restrictions import active_restrictions
from marketplace.permissions.roles import (
    ADOPTER_KINDS,
    BIDDER_KINDS,
    PUBLIC_CHALLENGE_STATES,
    PUBLIC_RESULT_STATES,
    is_bureau,
    is_logged_in,
    is_member_of,
    is_org_admin,
    is_sysadmin,
    org_is_verified,
)

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


def can_withdraw_challenge(user: Any, challenge: Challenge) -> bool:
    """The owner's members withdraw a challenge from any state that allows it."""
    if not is_member_of(user, challenge.org_id):
        return False
    return ChallengeStatus.WITHDRAWN in CHALLENGE_TRANSITIONS.get(challenge.status, ())


def can_close_bidding(user: Any, challenge: Challenge) -> bool:
    """The owner's members may end an open challenge's bidding early."""
    if not is_member_of(user, challenge.org_id):
        return False
    return challenge.status == ChallengeStatus.OPEN


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
        # A listing's NDA replaces the fixed terms.
        challenge.nda_template_id is None
        and org_is_verified(user)
        and not is_member_of(user, challenge.org_id)
        and challenge.status in PUBLIC_CHALLENGE_STATES
    )


def can_view_confidential(user: Any, listing: Challenge | Result) -> bool:
    """The owner and the bureau; others after signing the NDA or accepting terms.

    A listing with an NDA needs a signature that still counts; a challenge
    without one needs the fixed terms accepted; a result without one shows its
    confidential detail to nobody else.
    """
    if is_member_of(user, listing.org_id) or is_bureau(user):
        return True
    if listing.nda_template_id is not None:
        return may_sign_nda(user, listing) and has_valid_signature(user, listing)
    if isinstance(listing, Challenge):
        return may_accept_terms(user, listing) and has_accepted_terms(user, listing)
    return False


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


def can_direct_award(user: Any) -> bool:
    """Only the bureau awards directly (定向委托)."""
    return is_bureau(user)


def sees_all_bids(user: Any, challenge: Challenge) -> bool:
    """The owner's members and the bureau see every bid; a bidder sees its own."""
    return can_decide_proposals(user, challenge) or is_bureau(user)


def may_decide_bids(user: Any, challenge: Challenge) -> bool:
    """The owner's members decide on bids while the challenge is open or evaluated."""
    return can_decide_proposals(user, challenge) and challenge.status in DECIDING_STATES


def may_direct_award(user: Any, challenge: Challenge) -> bool:
    """The bureau awards directly while the challenge is open or evaluated."""
    return can_direct_award(user) and challenge.status in DECIDING_STATES


def can_download_attachment(user: Any, proposal: Proposal) -> bool:
    """The bidder, the listing owner and the bureau; nobody else."""
    if not is_logged_in(user):
        return False
    return is_bureau(user) or user.org_id in (
        proposal.org_id,
        _listing_owner_id(proposal),
    )


def is_bidder(user: Any, proposal: Proposal) -> bool:
    """Members of the bidding organisation edit and withdraw its bid."""
    return is_member_of(user, proposal.org_id)


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
    """The two parties, the broker, the winning consortium and the bureau."""
    if not is_logged_in(user):
        return False
    parties = (deal.demand_org_id, deal.supply_org_id, deal.broker_org_id)
    return (
        is_bureau(user)
        or user.org_id in parties
        or is_consortium_member(user, deal.proposal_id)
    )


def _is_contract_party(user: Any, contract: Contract) -> bool:
    return is_bureau(user) or user.org_id in (
        contract.buyer_org_id,
        contract.seller_org_id,
        contract.broker_org_id,
    )


def can_view_contract(user: Any, contract: Contract) -> bool:
    """The parties, the broker, the winning consortium and the bureau."""
    if not is_logged_in(user):
        return False
    return _is_contract_party(user, contract) or is_consortium_contract(user, contract)


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


def can_register_contract(user: Any, contract: Contract) -> bool:
    """The bureau registers (or refuses) a contract awaiting registration."""
    return is_bureau(user) and contract.status == ContractStatus.SUBMITTED


def can_record_payment(user: Any, contract: Contract) -> bool:
    """The parties, the broker and the bureau record payments received."""
    # Not the consortium members: they read the contract, the lead parties act.
    return is_logged_in(user) and _is_contract_party(user, contract)


def can_reverse_payment(user: Any, payment: Payment) -> bool:
    """Whoever recorded a payment, or the bureau, may reverse it."""
    if not can_record_payment(user, payment.contract):
        return False
    return is_bureau(user) or payment.recorded_by_id == user.id


def can_resubmit_contract(user: Any, contract: Contract) -> bool:
    """A party, the broker or the bureau may edit and resubmit a rejected contract."""
    return contract.status == ContractStatus.REJECTED and (
        can_view_contract(user, contract)
        and can_record_contract(
            user, contract.buyer_org_id, contract.seller_org_id, contract.broker_org_id
        )
    )


def can_view_certificate(user: Any, contract: Contract) -> bool:
    """The bureau and the contract's two parties print its registration proof."""
    if not is_logged_in(user):
        return False
    parties = {contract.buyer_org_id, contract.seller_org_id} - {None}
    return is_bureau(user) or user.org_id in parties
