"""JSON endpoints over the search and matching verbs."""

from __future__ import annotations

from flask import abort, current_app, jsonify, request
from flask_login import current_user

from marketplace import permissions
from marketplace.api import bp
from marketplace.api.openapi import document
from marketplace.api.services import (
    ApiError,
    int_param,
    item,
    kind_param,
    text_param,
)
from marketplace.extensions import csrf, db, limiter
from marketplace.matching import services as matching
from marketplace.models import Challenge, Result

csrf.exempt(bp)


def _api_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "120 per minute")


limiter.limit(_api_limit)(bp)


@bp.errorhandler(ApiError)
def _bad_request(error: ApiError):
    body = {"error": error.code, "message": str(error), "status": 400}
    if error.param:
        body["param"] = error.param
    return jsonify(body), 400


@bp.errorhandler(matching.SearchUnavailable)
def _unavailable(error):
    return jsonify(error="unavailable", message=str(error), status=503), 503


def _answer(matches, total=None):
    items = [item(m, current_user) for m in matches]
    return jsonify(total=len(items) if total is None else total, items=items)


@bp.get("/search")
def search():
    """Keyword search over published listings."""
    text = text_param(request.args.get("q"), "q", 200)
    kind = kind_param(request.args.get("kind"))
    limit = int_param(request.args.get("limit"), "limit", 10, 1, 50)
    page = int_param(request.args.get("page"), "page", 1, 1, 500)
    result, matches = matching.search_listings(
        current_user, text, {"kind": kind or ""}, page, per_page=limit
    )
    return _answer(matches, result.total)


@bp.post("/match")
def match():
    """Listings that fit a free-text description."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # JSON nested thousands deep; silent= only covers ValueError
        body = None
    if not isinstance(body, dict):
        raise ApiError("请求体应为 JSON 对象。", "invalid_body")
    text = text_param(body.get("text"), "text", 5000)
    kind = kind_param(body.get("kind")) or "result"
    limit = int_param(body.get("limit"), "limit", 10, 1, 50)
    return _answer(matching.match_text(current_user, text, kind, limit).matches)


def _public(model, listing_id: int):
    listing = db.session.get(model, listing_id)
    public = (
        permissions.PUBLIC_CHALLENGE_STATES
        if model is Challenge
        else permissions.PUBLIC_RESULT_STATES
    )
    if listing is None or listing.status not in public:
        abort(404)
    return listing


@bp.get("/challenges/<int:challenge_id>/matches")
def challenge_matches(challenge_id: int):
    """Results that fit a published challenge."""
    limit = int_param(request.args.get("limit"), "limit", 10, 1, 50)
    challenge = _public(Challenge, challenge_id)
    return _answer(matching.matches_for_challenge(current_user, challenge, limit))


@bp.get("/results/<int:result_id>/matches")
def result_matches(result_id: int):
    """Open challenges that fit a published result."""
    limit = int_param(request.args.get("limit"), "limit", 10, 1, 50)
    result = _public(Result, result_id)
    challenges, _ = matching.matches_for_result(current_user, result, limit)
    return _answer(challenges)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(document())


from marketplace.api import stats as _stats  # noqa: E402,F401
