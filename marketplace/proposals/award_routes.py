"""The bureau's direct award (定向委托) of a challenge, with a justification."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import Proposal, ProposalStatus
from marketplace.proposals import bp, decisions, services
from marketplace.proposals.forms import DirectAwardForm
from marketplace.proposals.routes import LABELS, visible_challenge
from marketplace.views import submit


@bp.route("/challenge/<int:challenge_id>/direct-award", methods=["GET", "POST"])
@login_required
def direct_award(challenge_id: int):
    """The bureau awards a challenge directly (定向委托) with a justification."""
    challenge = visible_challenge(challenge_id)
    permissions.require(permissions.can_direct_award(current_user))
    if challenge.status not in services.DECIDING_STATES:
        flash("只有揭榜中或评审中的榜单可以定向委托。", "warning")
        return redirect(url_for("proposals.for_challenge", challenge_id=challenge.id))
    form = DirectAwardForm()
    if form.validate_on_submit():
        done, _ = submit(
            form,
            decisions.direct_award,
            challenge,
            current_user,
            form.org.data,
            form.justification.data,
            success="已定向委托，撮合项目已建立。",
        )
        if done:
            return redirect(
                url_for("proposals.for_challenge", challenge_id=challenge.id)
            )
    bidders = db.session.scalars(
        select(Proposal)
        .where(
            Proposal.challenge_id == challenge.id,
            Proposal.status != ProposalStatus.WITHDRAWN,
        )
        .order_by(Proposal.created_at, Proposal.id)
    ).all()
    return render_template(
        "proposals/direct_award.html",
        form=form,
        challenge=challenge,
        bidders=bidders,
        seeker_name=permissions.seeker_name(current_user, challenge),
        **LABELS,
    )
