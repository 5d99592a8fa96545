"""The settings page where a user manages their API tokens."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from marketplace.confirm import confirmed
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import ApiToken
from marketplace.tokens import bp, services
from marketplace.tokens.forms import TokenForm
from marketplace.views import perform


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """List the user's tokens; POST creates one and shows its secret once."""
    form = TokenForm()
    secret = None
    status = 200
    if form.validate_on_submit():
        try:
            secret = services.create_token(current_user, form.name.data or "")
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
            status = 400
        else:
            db.session.commit()
    elif request.method == "POST":
        status = 400
    response = make_response(
        render_template(
            "tokens/index.html",
            form=form,
            secret=secret,
            tokens=services.user_tokens(current_user),
        ),
        status,
    )
    # The secret is shown once: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one of the user's tokens; another user's token does not exist here."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    # A revoked token cannot be brought back: the user ticks a confirmation first.
    if confirmed():
        perform(services.revoke_token, current_user, token_id, success="令牌已撤销。")
    return redirect(url_for("tokens.index"))
