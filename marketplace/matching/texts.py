"""The public text of a listing that matching reads, and its best sentence."""

from __future__ import annotations

from markupsafe import Markup

from marketplace.models import Challenge, Result
from marketplace.search import explain


def challenge_text(challenge: Challenge) -> str:
    """The public text of a challenge that matching reads."""
    return "\n".join(
        [
            challenge.title,
            challenge.public_summary,
            challenge.description,
            challenge.technical_targets,
        ]
    )


def result_text(result: Result) -> str:
    """The public text of a result that matching reads."""
    return "\n".join([result.title, result.abstract, result.benefit])


def public_text(listing: Challenge | Result) -> str:
    """The text of a listing that any visitor may read (never confidential)."""
    if isinstance(listing, Challenge):
        return challenge_text(listing)
    return result_text(listing)


def best_sentence(
    listing: Challenge | Result,
    terms: list[str],
    expansions: list[tuple[str, str]],
) -> Markup:
    """The listing's sentence that best shows a hit's shared terms."""
    weights = dict.fromkeys(terms, 1.0)
    weights.update({t: 0.5 for t, _ in expansions if t not in weights})
    # Keywords and title are shown already; the sentence comes from the body.
    body = public_text(listing).split("\n", 1)[-1]
    return explain.best_sentence(body, weights) or explain.best_sentence(
        public_text(listing), weights
    )
