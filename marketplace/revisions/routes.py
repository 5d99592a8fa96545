"""Thin views: the owner's edit of a published listing, the bureau's change queue."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions
from marketplace.challenges.forms import ActionForm, ChallengeForm
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.listings.review import listing_link
from marketplace.models import Challenge, ListingChange, Result, TechField
from marketplace.results.forms import ResultForm
from marketplace.revisions import bp, sections, services
from marketplace.revisions.fields import material_fields, summary
from marketplace.revisions.forms import ChangeApproveForm, ChangeRejectForm
from marketplace.views import EXPIRED_FORM, perform_form, submit


def _listing(model: type, listing_id: int) -> Challenge | Result:
    """The listing in its effective state; 404 unless the user may see it."""
    listing = db.session.get(model, listing_id)
    if listing is None:
        abort(404)
    expiry.show(listing)
    if not permissions.can_view(current_user, listing):
        abort(404)
    return listing


def _submit(form, revise, listing: Challenge | Result, done_url: str):
    """Validate and revise; the redirect on success, None to show the form again."""
    if not form.validate_on_submit():
        return None
    done, outcome = submit(
        form, revise, listing, current_user, form.to_data(), success=None
    )
    if not done:
        return None
    if outcome.applied is not None:
        flash("文字修改已生效，并记入修改记录。", "success")
    if outcome.pending is not None:
        flash("重要修改已提交科技局审核；审核通过前，页面继续显示原内容。", "info")
    return redirect(done_url)


@bp.route("/challenges/<int:challenge_id>/revise", methods=["GET", "POST"])
@login_required
def revise_challenge(challenge_id: int):
    """The owner edits a challenge that is open for bids."""
    challenge = _listing(Challenge, challenge_id)
    permissions.require(permissions.can_revise(current_user, challenge))
    if request.method == "POST":
        form = ChallengeForm()
    else:
        form = ChallengeForm(data=ChallengeForm.data_of(challenge))
    done = url_for("challenges.detail", challenge_id=challenge.id)
    if response := _submit(form, services.revise_challenge, challenge, done):
        return response
    pending = services.pending_change(challenge)
    return render_template(
        "challenges/form.html",
        form=form,
        challenge=challenge,
        revising=True,
        pending=pending,
        pending_rows=sections.change_rows(pending),
        today_iso=local_today().isoformat(),
    )


@bp.route("/results/<int:result_id>/revise", methods=["GET", "POST"])
@login_required
def revise_result(result_id: int):
    """The owner edits a published result."""
    result = _listing(Result, result_id)
    permissions.require(permissions.can_revise(current_user, result))
    form = ResultForm()
    form.set_field_choices(
        db.session.scalars(select(TechField).order_by(TechField.sort_order))
    )
    if request.method == "GET":
        form.fill_from(result)
    done = url_for("results.detail", result_id=result.id)
    if response := _submit(form, services.revise_result, result, done):
        return response
    pending = services.pending_change(result)
    return render_template(
        "results/edit.html",
        form=form,
        result=result,
        revising=True,
        pending=pending,
        pending_rows=sections.change_rows(pending),
    )


# --- the bureau's queue -----------------------------------------------------------


@bp.route("/bureau/changes")
@permissions.bureau_required
def queue():
    """Material changes of published listings waiting for review, oldest first."""
    return render_template(
        "revisions/queue.html",
        changes=sections.change_queue(services.change_queue()),
        approve_form=ChangeApproveForm(),
        reject_form=ChangeRejectForm(),
    )


def _decide(change_id: int, form_class: type, field: str, verb, words: tuple):
    """Run the bureau's verdict on a change with the text of its form's `field`."""
    refused, done = words
    change = db.session.get(ListingChange, change_id)
    if change is None:
        abort(404)
    form = form_class()
    text = form[field].data or ""
    perform_form(
        form,
        verb,
        change,
        current_user,
        text,
        success=done + change.listing.title,
        prefix=refused,
    )
    return redirect(url_for("revisions.queue"))


@bp.route("/bureau/changes/<int:change_id>/approve", methods=["POST"])
@permissions.bureau_required
def approve(change_id: int):
    """Apply a material change to the published listing."""
    return _decide(
        change_id,
        ChangeApproveForm,
        "note",
        services.approve_change,
        ("未生效：", "修改已生效："),
    )


@bp.route("/bureau/changes/<int:change_id>/reject", methods=["POST"])
@permissions.bureau_required
def reject(change_id: int):
    """Turn a material change down; the owner is told why."""
    return _decide(
        change_id,
        ChangeRejectForm,
        "reason",
        services.reject_change,
        ("未退回：", "已退回修改："),
    )


@bp.route("/listing-changes/<int:change_id>/withdraw", methods=["POST"])
@login_required
def withdraw(change_id: int):
    """The owner takes back a material change the bureau has not decided yet."""
    change = db.session.get(ListingChange, change_id)
    if change is None or not permissions.can_view(current_user, change.listing):
        abort(404)
    permissions.require(permissions.can_withdraw_change(current_user, change))
    perform_form(
        ActionForm(),
        services.withdraw_change,
        change,
        current_user,
        success="修改已撤回。",
        problem=EXPIRED_FORM,
    )
    return redirect(listing_link(change.listing))


# --- what the listing pages show -----------------------------------------------


@bp.app_template_global()
def material_labels(listing: Challenge | Result) -> str:
    """The names of the listing's material fields, in one line."""
    return summary(dict.fromkeys(material_fields(listing)))
