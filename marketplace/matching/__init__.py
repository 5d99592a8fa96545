"""The search page, the free-text problem box and explained matches."""

from flask import Blueprint

bp = Blueprint("matching", __name__)

from marketplace.matching import routes  # noqa: E402,F401
