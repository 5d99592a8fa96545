"""Checks for expert review panels: who forms one, sits on it, sees its results."""

from __future__ import annotations

from typing import Any

from marketplace.models import (
    Challenge,
    PanelMember,
    PanelPurpose,
    PanelStatus,
    ReviewPanel,
)
from marketplace.permissions.delivery import (
    can_form_proposal_panel,
    can_manage_acceptance,
    can_view_panel_results,
)
from marketplace.permissions.roles import is_bureau, is_logged_in


def panel_seat(user: Any, panel: ReviewPanel) -> PanelMember | None:
    """The user's seat on the panel, if they sit on it."""
    if not is_logged_in(user):
        return None
    return next((m for m in panel.members if m.expert.user_id == user.id), None)


def can_form_panel(user: Any, challenge: Challenge, purpose: str) -> bool:
    """Who forms the panel: owner or bureau for bids, the bureau otherwise."""
    if PanelPurpose(purpose) == PanelPurpose.PROPOSALS:
        return can_form_proposal_panel(user, challenge)
    return can_manage_acceptance(user)


def can_view_panel(user: Any, panel: ReviewPanel) -> bool:
    """The owner, the bureau and the panel's own members; never the bidders."""
    if not is_logged_in(user):
        return False
    return (
        can_view_panel_results(user, panel.challenge)
        or panel_seat(user, panel) is not None
    )


def sees_panel_results(user: Any, panel: ReviewPanel) -> bool:
    """Everyone's scores or verdicts: only once complete, and not for every viewer."""
    if panel.status != PanelStatus.COMPLETED:
        return False
    if panel_seat(user, panel) is not None:
        return True
    if panel.purpose == PanelPurpose.PROPOSALS:
        return can_view_panel_results(user, panel.challenge)
    # Check, acceptance and exemption opinions advise the bureau, which decides.
    return is_bureau(user)
