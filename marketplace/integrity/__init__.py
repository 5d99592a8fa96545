"""Research-integrity records (科研诚信) and the restrictions they impose."""

from flask import Blueprint

bp = Blueprint("integrity", __name__)

from marketplace.integrity import routes  # noqa: E402,F401
