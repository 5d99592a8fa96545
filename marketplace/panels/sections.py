"""What a challenge's page shows the owner and the bureau about its panel."""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.models import Challenge, PanelPurpose, PanelStatus
from marketplace.panels import results, rules, services


def review_panel(user: Any, challenge: Challenge) -> dict:
    """The proposals panel's progress, top bid or 组建 button, for those allowed."""
    if not permissions.can_view_panel_results(user, challenge):
        return {"visible": False}
    panel = services.existing_panel(challenge, PanelPurpose.PROPOSALS)
    info: dict[str, Any] = {"visible": True, "panel": panel, "top": None}
    if panel is None:
        info["can_form"] = permissions.can_form_panel(
            user, challenge, PanelPurpose.PROPOSALS
        ) and not services.formation_problem(challenge, PanelPurpose.PROPOSALS)
        return info
    info["completed"] = panel.status == PanelStatus.COMPLETED
    info["progress"] = results.progress(panel)
    info["status_label"] = rules.STATUS_LABELS[panel.status]
    if permissions.sees_panel_results(user, panel):
        ranked = services.ranking(panel)
        info["top"] = ranked[0] if ranked else None
    return info
