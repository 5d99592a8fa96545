"""What a panel's work adds up to: the ranking, progress and opinions."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from marketplace.models import (
    PanelMember,
    PanelScore,
    Proposal,
    ReviewPanel,
)
from marketplace.panels.conflicts import live_proposals
from marketplace.panels.rules import CRITERIA, verdict_labels


@dataclass
class RankRow:
    """One bid's place in the aggregated ranking."""

    rank: int
    proposal: Proposal
    weighted: float | None
    means: dict[str, float] = field(default_factory=dict)
    sheets: list[tuple[PanelMember, PanelScore]] = field(default_factory=list)


def progress(panel: ReviewPanel) -> tuple[int, int]:
    """How many members have submitted, of how many."""
    done = sum(1 for m in panel.members if m.submitted_at is not None)
    return done, len(panel.members)


def ranking(panel: ReviewPanel) -> list[RankRow]:
    """Live bids by weighted score: criterion means over experts, panel weights."""
    sheets: dict[int, list[tuple[PanelMember, PanelScore]]] = defaultdict(list)
    for member in panel.members:
        if member.submitted_at is None:
            continue
        for score in member.scores:
            sheets[score.proposal_id].append((member, score))
    rows = []
    for bid in live_proposals(panel.challenge):
        found = sheets.get(bid.id, [])
        if not found:
            rows.append(RankRow(0, bid, None))
            continue
        means = {
            key: sum(getattr(score, key) for _, score in found) / len(found)
            for key, _ in CRITERIA
        }
        weighted = sum(means[key] * w for key, w in panel.weights.items()) / 100
        rows.append(RankRow(0, bid, round(weighted, 2), means, found))
    rows.sort(key=lambda r: (r.weighted is None, -(r.weighted or 0), r.proposal.id))
    previous, rank = None, 0
    for place, row in enumerate(rows, start=1):
        # Equal scores share a place (1, 2, 2, 4).
        if row.weighted != previous:
            rank, previous = place, row.weighted
        row.rank = rank
    return rows


def opinions(panel: ReviewPanel) -> tuple[list[tuple[str, str, int]], list]:
    """Verdict counts (code, label, count) and the submitted members' opinions."""
    labels = verdict_labels(panel.purpose)
    submitted = [m for m in panel.members if m.submitted_at is not None]
    counts = Counter(m.verdict for m in submitted)
    return [(code, label, counts[code]) for code, label in labels.items()], submitted
