"""Unmet demands: weak free-text matches, kept as drafts and shown as leads."""

from flask import Blueprint

bp = Blueprint("demands", __name__)

from marketplace.demands import routes  # noqa: E402,F401
