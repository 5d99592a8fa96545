"""Technical challenges posted for open bidding (揭榜挂帅)."""

from flask import Blueprint

bp = Blueprint("challenges", __name__)

from marketplace.challenges import routes  # noqa: E402,F401
