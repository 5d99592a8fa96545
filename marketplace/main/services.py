"""Figures and lists for the home page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace import permissions
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.models import (
    Challenge,
    Contract,
    ContractStatus,
    Deal,
    DealStage,
    Organisation,
    Result,
)


def home_figures() -> dict[str, int]:
    """Public figures the bureau publishes: this year's registered turnover too."""
    count = db.session.scalar
    year_start = local_today().replace(month=1, day=1)
    registered = (
        Contract.status == ContractStatus.REGISTERED,
        Contract.signed_on >= year_start,
        Contract.signed_on <= year_start.replace(month=12, day=31),
    )
    return {
        "year": year_start.year,
        "turnover_fen": int(
            count(
                select(func.coalesce(func.sum(Contract.amount_fen), 0)).where(
                    *registered
                )
            )
        ),
        "contracts_signed": count(select(func.count(Contract.id)).where(*registered)),
        "deals_signed": count(
            select(func.count(Deal.id)).where(Deal.stage == DealStage.SIGNED)
        ),
        "open_challenges": count(
            select(func.count(Challenge.id)).where(expiry.open_by_date())
        ),
        "published_results": count(
            select(func.count(Result.id)).where(expiry.published_by_date())
        ),
        "verified_orgs": count(
            select(func.count(Organisation.id)).where(Organisation.verified.is_(True))
        ),
    }


def latest_results(user: Any, limit: int = 12) -> list[Result]:
    """The newest published results the user may see."""
    query = (
        permissions.visible_results(user)
        .where(expiry.published_by_date())
        .order_by(Result.published_at.desc(), Result.id.desc())
        .limit(limit)
        # The cards show each owner and field: two queries, not two per card.
        .options(selectinload(Result.org), selectinload(Result.field))
    )
    return list(db.session.scalars(query))


def latest_challenges(user: Any, limit: int = 6) -> list[Challenge]:
    """The newest open challenges."""
    query = (
        permissions.visible_challenges(user)
        .where(expiry.open_by_date())
        .order_by(Challenge.published_at.desc(), Challenge.id.desc())
        .limit(limit)
        .options(selectinload(Challenge.org), selectinload(Challenge.field))
    )
    return list(db.session.scalars(query))
