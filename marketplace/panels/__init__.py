"""Expert review panels: forming them, scoring sheets and the aggregated ranking."""

from flask import Blueprint

bp = Blueprint("panels", __name__)

from marketplace.panels import routes  # noqa: E402,F401
