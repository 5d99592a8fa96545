"""Personal API tokens: create (shown once), list and revoke."""

from flask import Blueprint

bp = Blueprint("tokens", __name__)

from marketplace.tokens import routes  # noqa: E402,F401
