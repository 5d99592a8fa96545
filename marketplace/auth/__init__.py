"""Sign-up, login, logout, password changes and the sysadmin's login locks."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from marketplace.auth import locks, mail_routes, routes  # noqa: E402,F401
