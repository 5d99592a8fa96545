"""Organisation profiles and member management."""

from flask import Blueprint

bp = Blueprint("orgs", __name__)

from marketplace.orgs import routes  # noqa: E402,F401
