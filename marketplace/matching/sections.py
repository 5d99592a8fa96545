"""The 智能匹配 section under a challenge's or result's page."""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.deals import sections as deal_sections
from marketplace.matching import services
from marketplace.models import Challenge, Result


def listing_matches(user: Any, listing: Challenge | Result) -> dict:
    """Explained matches for a listing page, each with its deal action."""
    found = services.listing_matches(user, listing)
    matches = found.get("results") or found.get("challenges") or []
    found["actions"] = deal_sections.match_actions(user, listing, matches)
    found["seekers"] = match_seekers(user, matches)
    return found


def match_seekers(user: Any, matches: list) -> dict:
    """Per matched challenge, its poster as this viewer sees it."""
    challenges = [m.listing for m in matches if m.kind == "challenge"]
    return permissions.shown_seekers(user, challenges)
