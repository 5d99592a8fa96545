"""Thin view: the 发信箱, every queued and sent mail, for sysadmins."""

from __future__ import annotations

from flask import current_app, render_template, request
from sqlalchemy import func, select

from marketplace.admin import bp
from marketplace.extensions import db
from marketplace.models import MailStatus, OutgoingMail
from marketplace.permissions import sysadmin_required

PER_PAGE = 30


@bp.get("/mail")
@sysadmin_required
def mailbox():
    """Queued and sent mails, newest first; bodies only while no SMTP is set."""
    status = request.args.get("status", "")
    query = select(OutgoingMail).order_by(OutgoingMail.id.desc())
    if status in {s.value for s in MailStatus}:
        query = query.where(OutgoingMail.status == status)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    counts = dict(
        db.session.execute(
            select(OutgoingMail.status, func.count(OutgoingMail.id)).group_by(
                OutgoingMail.status
            )
        ).all()
    )
    # Without SMTP (the demo) this page is how mails reach anyone, so it shows
    # them whole; with SMTP the links in them belong to their recipients alone.
    demo = not current_app.config.get("MAIL_SERVER")
    return render_template(
        "admin/mail.html",
        page=page,
        status=status,
        statuses=list(MailStatus),
        counts=counts,
        show_bodies=demo,
    )
