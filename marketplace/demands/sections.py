"""Page sections about unmet demands that other pages show."""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import UnmetDemand


def board_leads(user: Any, limit: int = 5) -> list[dict] | None:
    """The newest leads not taken yet, for the deals board (None for others)."""
    if not permissions.can_view_leads(user):
        return None
    query = permissions.visible_unmet_demands(user)
    leads = db.session.scalars(query.where(UnmetDemand.taken_at.is_(None)).limit(limit))
    return [
        {
            "demand": lead,
            "org_visible": lead.org is not None
            and permissions.can_view_org(user, lead.org),
        }
        for lead in leads
    ]
