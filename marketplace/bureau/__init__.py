"""The bureau's work: verification queue and certifications."""

from flask import Blueprint

bp = Blueprint("bureau", __name__)

from marketplace.bureau import import_routes, routes  # noqa: E402,F401
