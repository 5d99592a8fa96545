"""Deals (撮合项目): taking a match to a signed contract."""

from flask import Blueprint

bp = Blueprint("deals", __name__)

from marketplace.deals import routes  # noqa: E402,F401
