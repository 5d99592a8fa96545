"""Search and match verbs whose results are re-checked against the database."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from marketplace import pagecache, permissions
from marketplace.extensions import db
from marketplace.matching import stored
from marketplace.matching.texts import (  # noqa: F401  (callers import them here)
    best_sentence,
    challenge_text,
    public_text,
    result_text,
)
from marketplace.models import Challenge, ChallengeStatus, Organisation, Result
from marketplace.search import query as engine
from marketplace.search.documents import key_of
from marketplace.search.index import IndexState, IndexUnavailable
from marketplace.search.sync import get_index

log = logging.getLogger(__name__)
MODELS = {"challenge": Challenge, "result": Result}
PUBLIC_STATES = {
    "challenge": permissions.PUBLIC_CHALLENGE_STATES,
    "result": permissions.PUBLIC_RESULT_STATES,
}
_rebuilding = threading.Lock()


class SearchUnavailable(RuntimeError):
    """The index cannot be read right now; it is being rebuilt."""


@dataclass
class Match:
    """A listing that fits, with its score and the reasons."""

    listing: Any
    kind: str
    score: float
    matched_terms: list[str]
    same_field: bool = False
    maturity_note: str = ""
    highlight: str = ""
    # Expansion terms that matched, as (term used, the user's word it came from).
    expansions: list[tuple[str, str]] = field(default_factory=list)
    # The other listing's best matching sentence, matched terms marked (escaped).
    sentence: str = ""


@dataclass
class TextMatch:
    """The answer to a free-text problem: strong matches apart from weak ones."""

    strong: list[Match]
    partial: list[Match]
    terms: list[str]
    expansions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def best_score(self) -> float:
        """The best calibrated score (0–100) of any match, 0 when none."""
        return max((m.score for m in (*self.strong, *self.partial)), default=0.0)

    @property
    def matches(self) -> list[Match]:
        """Every match, strong ones first."""
        return [*self.strong, *self.partial]


def _rebuild_in_background(app, seen: IndexState) -> None:
    """Rebuild the index that failed at `seen`, in a thread, once per worker."""
    if not app.config.get("SEARCH_REBUILD_IN_BACKGROUND", True):
        return
    if not _rebuilding.acquire(blocking=False):
        return

    def work():
        try:
            with app.app_context(), Session(db.engine) as session:
                get_index().rebuild_from(session, seen)
        except Exception:
            log.exception("background rebuild of the search index failed")
        finally:
            _rebuilding.release()

    threading.Thread(target=work, name="search-rebuild", daemon=True).start()


def _unavailable(index, seen: IndexState) -> SearchUnavailable:
    _rebuild_in_background(current_app._get_current_object(), seen)
    return SearchUnavailable("搜索索引正在重建，请稍后再试。")


def _guarded(call, *args, **kwargs):
    index = get_index()
    for attempt in range(2):
        seen = index.state()
        if not index.exists():
            raise _unavailable(index, seen)
        try:
            return call(index, *args, **kwargs)
        except (SearchUnavailable, SQLAlchemyError):
            # A database error (stored matches are read in here) is no index
            # trouble.
            raise
        except Exception as error:
            if attempt == 0 and index.state() != seen:
                # A rebuild swapped the generation in mid-search and removed
                # the files this one was reading: ask the new one.
                continue
            # A garbled index file surfaces as whatever its decoder raises
            # (zlib.error, OSError, struct.error …) from inside a search: show
            # the notice, not a 500.
            if not isinstance(error, IndexUnavailable):
                log.exception("search index unreadable")
                engine.forget_searchers()
            raise _unavailable(index, seen) from error
    raise AssertionError("unreachable")


def _visible(user: Any, hits: list[engine.Hit]) -> dict[str, Any]:
    """Load the hit listings that the user may see and that are public."""
    found: dict[str, Any] = {}
    for kind, model in MODELS.items():
        ids = [h.doc_id for h in hits if h.kind == kind]
        if not ids:
            continue
        builder = (
            permissions.visible_challenges
            if kind == "challenge"
            else permissions.visible_results
        )
        rows = db.session.scalars(
            builder(user).where(
                model.id.in_(ids), model.status.in_(PUBLIC_STATES[kind])
            )
        )
        found.update({key_of(kind, row.id): row for row in rows})
    return found


def search_listings(user: Any, text: str, filters: dict, page: int, per_page: int = 10):
    """One page of search results, each re-checked for visibility."""
    result = _guarded(
        engine.search, text, filters=filters, page=page, per_page=per_page
    )
    rows = _visible(user, result.hits)
    matches = []
    for h in result.hits:
        listing = rows.get(key_of(h.kind, h.doc_id))
        if listing is None:
            continue
        matches.append(
            Match(
                listing=listing,
                kind=h.kind,
                score=h.score,
                matched_terms=h.matched_terms,
                highlight=h.highlight,
                sentence=_sentence(listing, h),
            )
        )
    return result, matches


def _maturity_note(result: Result) -> str:
    if result.trl is None:
        return ""
    if result.trl >= 7:
        return f"成熟度 TRL {result.trl}，已达中试/产业化阶段"
    if result.trl >= 4:
        return f"成熟度 TRL {result.trl}，处于小试/中试阶段"
    return f"成熟度 TRL {result.trl}，仍在研发阶段"


def _sentence(listing: Challenge | Result, hit) -> str:
    """The hit's stored sentence, or the listing's best one for its shared terms."""
    found = getattr(hit, "sentence", None)
    if found is not None:
        return found
    return best_sentence(listing, hit.matched_terms, hit.expansions)


def _explain(user: Any, hits: list[engine.Hit], field_id: int | None):
    rows = _visible(user, hits)
    out = []
    for hit in hits:
        listing = rows.get(key_of(hit.kind, hit.doc_id))
        if listing is None:
            continue
        out.append(
            Match(
                listing=listing,
                kind=hit.kind,
                score=hit.score,
                matched_terms=hit.matched_terms[:8],
                expansions=hit.expansions[:6],
                sentence=_sentence(listing, hit),
                same_field=field_id is not None and listing.field_id == field_id,
                maturity_note=_maturity_note(listing) if hit.kind == "result" else "",
            )
        )
    return out


def matches_for_challenge(user: Any, challenge: Challenge, limit: int = 10):
    """Results that fit a challenge."""
    hits = _guarded(stored.hits_for, challenge, limit)
    return _explain(user, hits, challenge.field_id)


def matches_for_result(user: Any, result: Result, limit: int = 10):
    """Open challenges that fit a result, and the enterprises behind them."""
    hits = _guarded(stored.hits_for, result, limit * 3)
    matches = _explain(user, hits, result.field_id)
    open_ones = [m for m in matches if m.listing.status == ChallengeStatus.OPEN][:limit]
    enterprises: dict[int, dict] = {}
    for m in matches:
        if permissions.hides_seeker(user, m.listing):
            # Counting it under its enterprise would name the anonymous poster.
            continue
        entry = enterprises.setdefault(
            m.listing.org_id, {"score": 0.0, "terms": [], "challenges": 0}
        )
        entry["score"] += m.score
        entry["challenges"] += 1
        entry["terms"] = list(dict.fromkeys(entry["terms"] + m.matched_terms))[:8]
    orgs = {
        o.id: o
        for o in db.session.scalars(
            select(Organisation).where(Organisation.id.in_(list(enterprises)))
        )
    }
    firms = sorted(
        (
            {"org": orgs[org_id], **info}
            for org_id, info in enterprises.items()
            if org_id in orgs and permissions.can_view_org(user, orgs[org_id])
        ),
        key=lambda item: -item["score"],
    )[:limit]
    return open_ones, firms


def match_text(
    user: Any, text: str, kind: str = "result", limit: int = 10
) -> TextMatch:
    """Listings that fit a visitor's free-text description of a problem."""
    hits, terms = _guarded(engine.match, text, kind=kind, limit=limit)
    matches = _explain(user, hits, None)
    strong = [m for m in matches if m.score >= engine.STRONG_MATCH]
    partial = [m for m in matches if m.score < engine.STRONG_MATCH]
    used = {t: src for hit in hits for t, src in hit.expansions}
    return TextMatch(
        strong=strong, partial=partial, terms=terms, expansions=list(used.items())
    )


def listing_matches(user: Any, listing: Challenge | Result, limit: int = 8) -> dict:
    """What a listing page shows under 智能匹配: fits, or why there are none."""
    kind = "challenge" if isinstance(listing, Challenge) else "result"
    if listing.status not in PUBLIC_STATES[kind]:
        return {"kind": kind, "shown": False}
    try:
        if kind == "challenge":
            return {
                "kind": kind,
                "shown": True,
                "results": matches_for_challenge(user, listing, limit),
            }
        challenges, firms = matches_for_result(user, listing, limit)
        return {"kind": kind, "shown": True, "challenges": challenges, "firms": firms}
    except SearchUnavailable as error:
        pagecache.skip()
        return {"kind": kind, "shown": True, "notice": str(error)}
