"""Files on challenges and results, and organisations' verification documents."""

from flask import Blueprint

bp = Blueprint("files", __name__)

from marketplace.files import routes  # noqa: E402,F401
