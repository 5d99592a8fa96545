"""Page sections about deals that listing pages show under their matches."""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.deals import services
from marketplace.models import Challenge, Result


def match_actions(user: Any, anchor: Challenge | Result, matches: list) -> dict:
    """Per matched listing id: the pair's visible open deal, or may one start."""
    actions = {}
    for match in matches:
        pair = (
            (anchor, match.listing)
            if isinstance(anchor, Challenge)
            else (match.listing, anchor)
        )
        deal = None
        if permissions.is_logged_in(user):
            deal = services.open_deal_between(*pair)
            if deal is not None and not permissions.can_view_deal(user, deal):
                deal = None
        actions[match.listing.id] = {
            "deal": deal,
            "may_start": deal is None and permissions.can_start_deal(user, *pair),
        }
    return actions
