"""Research results offered for transfer (科技成果) and adoption applications."""

from flask import Blueprint

bp = Blueprint("results", __name__)

from marketplace.results import routes  # noqa: E402,F401
