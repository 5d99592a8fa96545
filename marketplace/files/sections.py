"""Page sections about files that listing and organisation pages show."""

from __future__ import annotations

from typing import Any

from flask import url_for

from marketplace import permissions
from marketplace.files import services
from marketplace.models import Challenge, Organisation, Result


def kind_of(listing: Challenge | Result) -> str:
    """The listing's kind as URLs spell it."""
    return "challenge" if isinstance(listing, Challenge) else "result"


def listing_files(user: Any, listing: Challenge | Result) -> dict[str, Any]:
    """What the listing's page shows of its files to this user."""
    files = services.listing_files(listing)
    allowed = permissions.can_download_listing_file
    shown = [f for f in files if allowed(user, listing, f)]
    return {
        "files": shown,
        # Confidential files the user may not open are counted, never named.
        "hidden": len(files) - len(shown),
        "can_manage": permissions.can_manage_listing_files(user, listing),
        "manage_url": url_for(
            "files.listing", kind=kind_of(listing), listing_id=listing.id
        ),
    }


def org_documents(user: Any, org: Organisation) -> dict[str, Any] | None:
    """An organisation's verification documents, for the bureau and its admins."""
    if not permissions.can_view_org_documents(user, org):
        return None
    return {
        "documents": services.org_documents(org),
        "can_manage": permissions.can_manage_org_documents(user, org),
    }
