"""Thin views: the search page and the free-text problem box."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from marketplace import pagecache
from marketplace.extensions import db
from marketplace.listings.states import STATUS_LABELS
from marketplace.matching import bp, services
from marketplace.models import Region, TechField

KINDS = {"challenge": "技术需求", "result": "科技成果"}
MAX_TEXT = 2000


def _labels() -> dict[str, dict[str, str]]:
    return {
        "kind": KINDS,
        "field": {f.code: f.name for f in db.session.scalars(select(TechField))},
        "region": {r.code: r.name for r in db.session.scalars(select(Region))},
        "status": STATUS_LABELS,
    }


def _page() -> int:
    try:
        return min(max(int(request.args.get("page", 1)), 1), 500)
    except ValueError:
        return 1


@bp.route("/search")
def search():
    """Keyword search over public listings with facets."""
    text = request.args.get("q", "").strip()[:200]
    labels = _labels()
    filters = {
        name: value
        for name in ("kind", "field", "region", "status")
        if (value := request.args.get(name, "")) in labels[name]
    }
    page = result = None
    matches, notice = [], None
    if text:
        try:
            result, matches = services.search_listings(
                current_user, text, filters, _page()
            )
        except services.SearchUnavailable as error:
            notice = str(error)
            pagecache.skip()
    return render_template(
        "matching/search.html",
        q=text,
        filters=filters,
        result=result,
        matches=matches,
        labels=labels,
        notice=notice,
        page=page,
        status_labels=STATUS_LABELS,
    )


@bp.route("/match")
def match():
    """A visitor describes a problem in free text and gets fitting results."""
    text = request.args.get("text", "").strip()
    error = None
    if len(text) > MAX_TEXT:
        error = f"描述不超过 {MAX_TEXT} 字。"
    matches, terms, notice = [], [], None
    if text and not error:
        try:
            outcome = services.match_text(current_user, text, "result", 10)
            matches, terms = outcome.matches, outcome.terms
        except services.SearchUnavailable as exc:
            notice = str(exc)
            pagecache.skip()
    return render_template(
        "matching/match.html",
        text=text[:MAX_TEXT],
        error=error,
        matches=matches,
        terms=terms,
        notice=notice,
        status_labels=STATUS_LABELS,
    )


@bp.app_template_global("listing_matches")
def listing_matches(listing):
    """Explained matches for a challenge or result page."""
    return services.listing_matches(current_user, listing)
