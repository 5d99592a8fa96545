"""NDA rules: who signs a listing's NDA, whose signature still counts, who downloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    NdaSignature,
    NdaTemplate,
    NdaVersion,
    Result,
)
from marketplace.permissions.roles import (
    PUBLIC_CHALLENGE_STATES,
    PUBLIC_RESULT_STATES,
    is_bureau,
    is_logged_in,
    is_member_of,
    org_is_verified,
)


def _naive(moment: datetime) -> datetime:
    # SQLite hands times back without their zone; all of them are UTC.
    return moment.replace(tzinfo=None)


def listing_signature_filter(listing: Challenge | Result):
    """The WHERE clause picking a listing's signatures."""
    if isinstance(listing, Challenge):
        return NdaSignature.challenge_id == listing.id
    return NdaSignature.result_id == listing.id


def current_nda_version(listing: Challenge | Result) -> NdaVersion | None:
    """The text a new signer of the listing's NDA signs (None: no NDA)."""
    if listing.nda_template_id is None:
        return None

    return db.session.scalar(
        select(NdaVersion)
        .where(NdaVersion.template_id == listing.nda_template_id)
        .order_by(NdaVersion.number.desc())
        .limit(1)
    )


def latest_signature(user: Any, listing: Challenge | Result) -> NdaSignature | None:
    """The user's newest signature on the listing's NDA, if any."""
    if not is_logged_in(user):
        return None

    return db.session.scalar(
        select(NdaSignature)
        .where(listing_signature_filter(listing), NdaSignature.user_id == user.id)
        .order_by(NdaSignature.signed_at.desc(), NdaSignature.id.desc())
        .limit(1)
    )


def signature_counts(
    signature: NdaSignature | None, listing: Challenge | Result
) -> bool:
    """Whether a signature still opens the confidential detail (README: NDA rule).

    A signature on the current text always does. One on an earlier text still
    shows the detail as it stood when that text was replaced (by a new version
    or another NDA); once the detail changes after that, it no longer does.
    """
    if signature is None:
        return False
    current = current_nda_version(listing)
    if current is not None and signature.version_id == current.id:
        return True
    changed = listing.confidential_changed_at
    if changed is None:
        return True
    return _naive(changed) <= superseded_at(signature, listing)


def superseded_at(signature: NdaSignature, listing: Challenge | Result) -> datetime:
    """When the signed text stopped being the listing's NDA (naive UTC)."""
    signed = signature.version
    moments = [_naive(signature.signed_at)]
    newer = db.session.scalar(
        select(NdaVersion.created_at)
        .where(
            NdaVersion.template_id == signed.template_id,
            NdaVersion.number > signed.number,
        )
        .order_by(NdaVersion.number)
        .limit(1)
    )
    if newer is not None:
        moments.append(_naive(newer))
    if listing.nda_chosen_at is not None:
        moments.append(_naive(listing.nda_chosen_at))
    later = [m for m in moments[1:] if m >= moments[0]]
    # Nothing later on record: judge from the signature itself (the strictest).
    return min(later) if later else moments[0]


def may_sign_nda(user: Any, listing: Challenge | Result) -> bool:
    """Members of verified organisations other than the owner, on a public listing."""
    public = (
        PUBLIC_CHALLENGE_STATES
        if isinstance(listing, Challenge)
        else PUBLIC_RESULT_STATES
    )
    return (
        listing.nda_template_id is not None
        and org_is_verified(user)
        and not is_bureau(user)
        and not is_member_of(user, listing.org_id)
        and listing.status in public
    )


def has_valid_signature(user: Any, listing: Challenge | Result) -> bool:
    """Whether the user signed the listing's NDA and the signature still counts."""
    return signature_counts(latest_signature(user, listing), listing)


def can_manage_nda(user: Any, listing: Challenge | Result) -> bool:
    """The owner's members choose the listing's NDA or write its text."""
    return is_member_of(user, listing.org_id)


def can_view_signatures(user: Any, listing: Challenge | Result) -> bool:
    """The owner's members and the bureau see who signed when."""
    return is_member_of(user, listing.org_id) or is_bureau(user)


def can_view_nda_template(user: Any, template: NdaTemplate) -> bool:
    """The bureau's templates to every user; an owner's own text to it and staff."""
    if not is_logged_in(user):
        return False
    if template.owner_org_id is None:
        return True
    return is_bureau(user) or user.org_id == template.owner_org_id


def can_manage_nda_templates(user: Any) -> bool:
    """The bureau keeps the NDA templates."""
    return is_bureau(user)


def can_edit_shared_template(user: Any, template: NdaTemplate) -> bool:
    """The bureau edits the shared templates; an organisation's own is not one."""
    return can_manage_nda_templates(user) and template.owner_org_id is None


def can_download_signed_nda(user: Any, signature: NdaSignature) -> bool:
    """The signer, the listing owner's members and the bureau."""
    if not is_logged_in(user):
        return False

    listing = (
        db.session.get(Challenge, signature.challenge_id)
        if signature.challenge_id is not None
        else db.session.get(Result, signature.result_id)
    )
    return (
        user.id == signature.user_id
        or is_bureau(user)
        or (listing is not None and is_member_of(user, listing.org_id))
    )
