"""Figures and lists for the home page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Organisation,
    Result,
    ResultStatus,
)


def home_figures() -> dict[str, int]:
    """Public counts shown on the home page."""
    count = db.session.scalar
    return {
        "open_challenges": count(
            select(func.count(Challenge.id)).where(
                Challenge.status == ChallengeStatus.OPEN
            )
        ),
        "published_results": count(
            select(func.count(Result.id)).where(Result.status == ResultStatus.PUBLISHED)
        ),
        "verified_orgs": count(
            select(func.count(Organisation.id)).where(Organisation.verified.is_(True))
        ),
    }


def latest_results(user: Any, limit: int = 12) -> list[Result]:
    """The newest published results the user may see."""
    query = (
        permissions.visible_results(user)
        .where(Result.status == ResultStatus.PUBLISHED)
        .order_by(Result.published_at.desc(), Result.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def latest_challenges(user: Any, limit: int = 6) -> list[Challenge]:
    """The newest open challenges."""
    query = (
        permissions.visible_challenges(user)
        .where(Challenge.status == ChallengeStatus.OPEN)
        .order_by(Challenge.published_at.desc(), Challenge.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
