"""Proposals (揭榜申报): bids on challenges, consortia and attachments."""

from flask import Blueprint

bp = Blueprint("proposals", __name__)

from marketplace.proposals import award_routes, routes  # noqa: E402,F401
