"""Editing published listings: wording at once, material changes via the bureau."""

from flask import Blueprint

bp = Blueprint("revisions", __name__)

from marketplace.revisions import routes  # noqa: E402,F401
