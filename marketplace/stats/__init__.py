"""The bureau's turnover statistics, targets and exports."""

from flask import Blueprint

bp = Blueprint("stats", __name__)

from marketplace.stats import routes  # noqa: E402,F401
