"""Opening the page a notification links to counts as reading it.

The issue asks that notifications "become read when the user acts on them":
the one place a GET writes on purpose, and only the visitor's own rows, only
when some of them are unread and point at this very page.
"""

from __future__ import annotations

from flask import request
from flask_login import current_user

from marketplace.database import page_write
from marketplace.extensions import db
from marketplace.notifications import bp, services

# Pages that are never a notification's target: files, the API, the list itself.
SKIPPED_BLUEPRINTS = frozenset({"api", "notifications"})


@bp.before_app_request
def read_on_visit() -> None:
    """Mark the user's unread notifications for the requested page read."""
    if request.method != "GET" or request.endpoint in (None, "static"):
        return
    if request.blueprint in SKIPPED_BLUEPRINTS:
        return
    if not getattr(current_user, "is_authenticated", False):
        return
    paths = [request.path]
    if request.query_string:
        paths.append(request.full_path)
    # The cheap read comes first, so a page with nothing unread does not write.
    if services.has_unread_on(current_user, paths):
        with page_write(db.session):
            services.mark_read_on_visit(current_user, paths)
