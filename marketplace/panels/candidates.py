"""Proposing experts for a panel: who fits the challenge, and who may not sit.

The challenge's text is weighted the way the matching engine weights a demand:
its words ranked by frequency × idf over the search catalogue, so that words
every listing uses count for little. An expert scores the weight of the terms
found in their specialities, field names and title, as a share of the whole,
plus a bonus when they review in the challenge's technology field. Without a
readable index only the field is compared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Challenge, ExpertProfile, Project, TechField
from marketplace.panels.conflicts import (
    conflicted_org_ids,
    expert_conflict,
    expert_restricted,
)
from marketplace.search.analysis import words
from marketplace.search.index import IndexUnavailable
from marketplace.search.query import demand_terms, forget_searchers, searcher_for
from marketplace.search.sync import get_index
from marketplace.search.tuning import idf

log = logging.getLogger(__name__)
# A field match counts as much as a third of the challenge's weighted terms.
FIELD_BONUS = 0.35
RESTRICTED_REASON = "科研诚信限制期内，不得担任评审专家"


@dataclass
class Candidate:
    """An expert who may sit on the panel, with why they fit."""

    expert: ExpertProfile
    score: float
    matched_terms: list[str] = field(default_factory=list)
    field_match: bool = False


@dataclass
class Excluded:
    """An expert who may not sit on the panel, and why."""

    expert: ExpertProfile
    reason: str


@dataclass
class Proposed:
    """The ranked candidates, the excluded experts and how they were ranked."""

    candidates: list[Candidate]
    excluded: list[Excluded]
    index_used: bool
    terms: list[str] = field(default_factory=list)


def challenge_text(challenge: Challenge) -> str:
    """What the challenge is about, as the matching engine reads it."""
    parts = [
        challenge.title,
        challenge.public_summary,
        challenge.description,
        challenge.technical_targets,
        " ".join(challenge.keywords or []),
    ]
    return "\n".join(p for p in parts if p)


def weighted_terms(challenge: Challenge) -> list[tuple[str, float]] | None:
    """The challenge's terms weighted by the catalogue's idf; None without index."""
    try:
        index = get_index()
        if not index.exists():
            return None
        searcher = searcher_for(index)
        return [
            (term, weight * idf(searcher, "body", term))
            for term, weight in demand_terms(searcher, challenge_text(challenge))
        ]
    except IndexUnavailable:
        return None
    except Exception:
        # A garbled index raises whatever its decoder raises; fall back to
        # fields rather than refuse to form a panel.
        log.exception("search index unreadable while proposing experts")
        forget_searchers()
        return None


def _field_names() -> dict[str, str]:
    return dict(db.session.execute(select(TechField.code, TechField.name)).all())


def expert_text(expert: ExpertProfile, names: dict[str, str]) -> str:
    """The expert's specialities, field names and title."""
    fields = [names.get(code, "") for code in expert.field_codes or []]
    return "\n".join([expert.specialities or "", " ".join(fields), expert.title or ""])


def propose_experts(
    challenge: Challenge,
    purpose: str,
    limit: int = 10,
    project: Project | None = None,
) -> Proposed:
    """Active experts ranked by fit, conflicted or restricted ones set apart."""
    conflicts = conflicted_org_ids(challenge, purpose, project)
    terms = weighted_terms(challenge)
    total = sum(w for _, w in terms or []) or 1.0
    field_code = challenge.field.code if challenge.field is not None else None
    names = _field_names()
    candidates, excluded = [], []
    pool = db.session.scalars(
        select(ExpertProfile)
        .where(ExpertProfile.active.is_(True))
        .order_by(ExpertProfile.id)
    )
    for expert in pool:
        reason = expert_conflict(expert, conflicts)
        if not reason and expert_restricted(expert):
            reason = RESTRICTED_REASON
        if reason:
            excluded.append(Excluded(expert, reason))
            continue
        own = set(words(expert_text(expert, names)))
        matched = [t for t, _ in terms or [] if t in own]
        score = sum(w for t, w in terms or [] if t in own) / total
        field_match = bool(field_code) and field_code in (expert.field_codes or [])
        if field_match:
            score += FIELD_BONUS
        candidates.append(Candidate(expert, round(score, 3), matched, field_match))
    candidates.sort(key=lambda c: (-c.score, c.expert.id))
    return Proposed(
        candidates=candidates[:limit],
        excluded=excluded,
        index_used=terms is not None,
        terms=[t for t, _ in terms or []],
    )
