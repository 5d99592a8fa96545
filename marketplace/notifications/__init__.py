"""In-app notifications."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from marketplace.notifications import routes, settings, visits  # noqa: E402,F401
