"""Messages (消息): threads about a listing, a deal or a project; clarifications."""

from flask import Blueprint

bp = Blueprint("messages", __name__)

from marketplace.messages import routes  # noqa: E402,F401
