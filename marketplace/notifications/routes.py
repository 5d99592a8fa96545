"""Thin views: the user's notifications, marking them read."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import Notification
from marketplace.notifications import bp, services

PER_PAGE = 20


@bp.route("/")
@login_required
def index():
    """The user's notifications, newest first, unread ones highlighted."""
    page = db.paginate(
        permissions.visible_notifications(current_user),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "notifications/index.html", page=page, safe_link=services.safe_link
    )


def _own_notification(notification_id: int) -> Notification:
    # Another user's notification looks the same as a missing one.
    notification = db.session.scalar(
        permissions.visible_notifications(current_user).where(
            Notification.id == notification_id
        )
    )
    if notification is None:
        abort(404)
    return notification


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    """Mark a notification read and go where it points (local paths only)."""
    notification = _own_notification(notification_id)
    services.mark_read(notification)
    target = services.safe_link(notification)
    db.session.commit()
    return redirect(target or url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark all the user's notifications read."""
    count = services.mark_all_read(current_user)
    db.session.commit()
    flash(f"已将 {count} 条通知标为已读。" if count else "没有未读通知。", "success")
    return redirect(url_for("notifications.index"))
