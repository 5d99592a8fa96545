"""Thin views over the deal verbs."""

from __future__ import annotations

from flask import abort, redirect, request
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.deals import bp, services
from marketplace.extensions import db
from marketplace.forms_common import BaseForm
from marketplace.models import Challenge, Result
from marketplace.security import is_safe_next
from marketplace.views import perform


@bp.route("/from-match", methods=["POST"])
@login_required
def from_match():
    """Open a deal (a lead) from a suggested match."""
    if not BaseForm().validate_on_submit():
        abort(400)
    challenge = db.session.get(Challenge, request.form.get("challenge_id", type=int))
    result = db.session.get(Result, request.form.get("result_id", type=int))
    if (
        challenge is None
        or result is None
        or not permissions.can_view_challenge(current_user, challenge)
        or not permissions.can_view_result(current_user, result)
    ):
        abort(404)
    permissions.require(permissions.can_start_deal(current_user, challenge, result))
    perform(
        services.open_deal_from_match,
        current_user,
        challenge,
        result,
        success="已发起撮合，双方已收到通知。",
    )
    back = request.form.get("next")
    return redirect(back if is_safe_next(back) else f"/challenges/{challenge.id}")
