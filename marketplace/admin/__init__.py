"""The sysadmin's area: users, organisations and the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from marketplace.admin import audit_log, mailbox, routes  # noqa: E402,F401
