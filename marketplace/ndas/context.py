"""What a listing's page needs to know about its NDA, for the viewing user."""

from __future__ import annotations

from typing import Any

from flask import url_for

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import Challenge, Result
from marketplace.ndas.services import record_confidential_view


def nda_context(user: Any, listing: Challenge | Result, shown: bool) -> dict:
    """Template values: the NDA in force, the signing link, the user's signature."""
    kind = "challenges" if isinstance(listing, Challenge) else "results"
    arg = "challenge_id" if kind == "challenges" else "result_id"
    may_sign = permissions.may_sign_nda(user, listing)
    signature = permissions.latest_signature(user, listing) if may_sign else None
    return {
        "nda_version": permissions.current_nda_version(listing),
        "nda_sign_url": url_for(f"ndas.sign_{kind[:-1]}", **{arg: listing.id})
        if may_sign and not shown
        else None,
        "nda_resign": signature is not None and not shown,
        "nda_signature": signature if shown else None,
        "nda_manage_url": url_for(f"ndas.{kind[:-1]}_nda", **{arg: listing.id})
        if permissions.can_view_signatures(user, listing)
        else None,
    }


def show_and_log(user: Any, listing: Challenge | Result) -> bool:
    """Whether the confidential tier is shown; an outsider's view is logged."""
    shown = permissions.can_view_confidential(user, listing)
    if shown and not permissions.is_member_of(user, listing.org_id):
        # End the read transaction first: on SQLite a read upgraded to a write
        # fails at once when another writer got in between.
        db.session.commit()
        record_confidential_view(listing, user)
        db.session.commit()
    return shown
