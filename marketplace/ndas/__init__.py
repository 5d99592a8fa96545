"""Non-disclosure agreements (保密协议): templates, a listing's NDA, signatures."""

from flask import Blueprint

bp = Blueprint("ndas", __name__)

from marketplace.ndas import routes  # noqa: E402,F401
