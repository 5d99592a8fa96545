"""The expert pool (专家库): the bureau's experts and their profiles."""

from flask import Blueprint

bp = Blueprint("experts", __name__)

from marketplace.experts import routes  # noqa: E402,F401
