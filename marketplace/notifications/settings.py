"""Thin view: how the user wants notifications by e-mail (each, daily digest, off)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace import audit
from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.models import MailPreference, User
from marketplace.notifications import bp
from marketplace.notifications.forms import MailPreferenceForm


def set_mail_preference(user: User, preference: str) -> None:
    """Record the user's choice; a new digest starts from now, not from the past."""
    choice = MailPreference(preference)
    if choice == user.mail_preference:
        return
    audit.record(
        "mail_preference_changed",
        user=user,
        obj=user,
        from_state=user.mail_preference,
        to_state=choice,
    )
    if choice == MailPreference.DIGEST:
        user.digest_sent_at = utcnow()
    user.mail_preference = choice


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Choose e-mail for each notification, a daily digest, or none."""
    user = current_user._get_current_object()
    form = MailPreferenceForm()
    if not form.is_submitted():
        form.preference.data = user.mail_preference.value
    if form.validate_on_submit():
        set_mail_preference(user, form.preference.data)
        db.session.commit()
        flash(f"已保存：{MailPreference(form.preference.data).label}。", "success")
        return redirect(url_for("notifications.settings"))
    return render_template("notifications/settings.html", form=form, account=user)
