"""The public JSON API (/api/v1): published listings only."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from marketplace.api import routes  # noqa: E402,F401
