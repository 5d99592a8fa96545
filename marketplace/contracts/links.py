"""What a contract may link to, and what registering it does to those listings.

A contract names a challenge and a result only as its parties' own listings or
as its deal's: the ids come from hidden form fields and are never trusted as
sent. Registering moves an awarded challenge to contracted and a published
result to transferred; the bureau sees that in plain words before it registers,
and the listing's owner is told when it happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketplace import audit, permissions
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.listings.review import listing_link
from marketplace.listings.states import STATUS_LABELS
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    Deal,
    Result,
    ResultStatus,
)

# The one state change registration causes, per kind of listing.
MOVES = {
    Challenge: (ChallengeStatus.AWARDED, ChallengeStatus.CONTRACTED),
    Result: (ResultStatus.PUBLISHED, ResultStatus.TRANSFERRED),
}
KIND_LABELS = {Challenge: "技术需求", Result: "科技成果"}


@dataclass
class Effect:
    """A linked listing and what registering the contract does to it."""

    kind: str
    listing: Challenge | Result
    before: str
    after: str  # "" when registering leaves the state alone

    @property
    def words(self) -> str:
        """The effect as the bureau reads it on the registration page."""
        owner = self.listing.org.name
        head = f"{self.kind}“{self.listing.title}”（发布机构：{owner}）"
        if self.after:
            return f"{head}将由“{self.before}”变为“{self.after}”，并通知{owner}。"
        return f"{head}当前为“{self.before}”，登记后状态不变。"


def _refusal(model: type) -> ServiceError:
    label = KIND_LABELS[model]
    return ServiceError(
        f"合同只能关联买方或卖方自己的{label}，或所属撮合项目的{label}。"
    )


def _listing(model: type, listing_id: Any, allowed: set[int], deal_listing: Any):
    refusal = _refusal(model)
    listing = db.session.get(model, listing_id)
    # Missing and not allowed read alike, so listing ids do not leak.
    if listing is None:
        raise refusal
    if listing.id != deal_listing and listing.org_id not in allowed:
        raise refusal
    return listing


def refuse_hidden_challenge(user: Any, challenge_id: Any, deal: Deal | None) -> None:
    """An outsider may not link an anonymous challenge: it would test a guess
    of who posted it (refused as any other listing one may not link)."""
    challenge = db.session.get(Challenge, challenge_id) if challenge_id else None
    if challenge is None or (deal is not None and deal.challenge_id == challenge.id):
        return
    if permissions.hides_seeker(user, challenge):
        raise _refusal(Challenge)


def check_deal_parties(
    deal: Deal, buyer_id: int | None, seller_id: int | None, broker_id: int | None
) -> None:
    """A contract recorded on a deal is between that deal's two organisations."""
    if {buyer_id, seller_id} != {deal.demand_org_id, deal.supply_org_id}:
        raise ServiceError("来自撮合项目的合同，买卖双方须是该项目的双方机构。")
    if broker_id is not None and broker_id != deal.broker_org_id:
        raise ServiceError("技术转移机构须是该撮合项目的经纪机构。", "broker_org")


def linked_ids(
    data: dict[str, Any],
    deal: Deal | None,
    buyer_id: int | None,
    seller_id: int | None,
) -> tuple[int | None, int | None]:
    """(challenge_id, result_id) the contract may carry, refusing others' listings."""
    allowed = {buyer_id, seller_id} - {None}
    found = []
    for model, key in ((Challenge, "challenge_id"), (Result, "result_id")):
        deal_listing = getattr(deal, key) if deal is not None else None
        listing_id = data.get(key) or deal_listing
        if listing_id:
            _listing(model, listing_id, allowed, deal_listing)
        found.append(listing_id or None)
    return found[0], found[1]


def inherited_field_id(challenge_id: Any, result_id: Any) -> int | None:
    """The technology field of the linked challenge, else of the linked result."""
    for model, key in ((Challenge, challenge_id), (Result, result_id)):
        listing = db.session.get(model, key) if key else None
        if listing is not None and listing.field_id is not None:
            return listing.field_id
    return None


def registration_effects(contract: Contract) -> list[Effect]:
    """Each linked listing with the state change registering would cause."""
    effects = []
    for model, key in (
        (Challenge, contract.challenge_id),
        (Result, contract.result_id),
    ):
        listing = db.session.get(model, key) if key else None
        if listing is None:
            continue
        source, target = MOVES[model]
        status = listing.status
        effects.append(
            Effect(
                KIND_LABELS[model],
                listing,
                STATUS_LABELS.get(status, status),
                STATUS_LABELS[target] if status == source else "",
            )
        )
    return effects


def tell_owner(listing: Challenge | Result, contract: Contract) -> None:
    """Tell a listing's owner that a registered contract changed its state."""
    kind = KIND_LABELS[type(listing)]
    label = STATUS_LABELS.get(listing.status, listing.status)
    audit.notify_org(
        listing.org_id,
        f"技术合同（登记号 {contract.registration_no}）已登记，关联的{kind}"
        f"“{listing.title[:60]}”状态变为“{label}”。如非贵机构签订，请联系科技局。",
        # The owner may be no party to the contract: link the listing it can see.
        listing_link(listing),
    )
