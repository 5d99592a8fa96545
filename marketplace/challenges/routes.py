"""Thin views over the challenge verbs: list, detail, post, edit, review, terms."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.challenges import bp, queries, sections, services
from marketplace.challenges.forms import (
    AcceptTermsForm,
    ActionForm,
    ChallengeForm,
    FilterForm,
    WithdrawForm,
)
from marketplace.clock import local_today
from marketplace.confirm import confirmed
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.listings import sections as listing_sections
from marketplace.listings.states import (
    EDITABLE_CHALLENGE_STATES,
    REJECT_REASONS,
    STATUS_LABELS,
)
from marketplace.models import Challenge, ChallengeStatus, OrgKind
from marketplace.ndas.context import nda_context
from marketplace.ndas.services import record_confidential_view
from marketplace.panels import sections as panel_sections
from marketplace.projects import sections as project_sections
from marketplace.proposals import sections as proposal_sections
from marketplace.views import EXPIRED_FORM, perform, perform_form
from marketplace.views import submit as submit_form

PER_PAGE = 20
MAX_PAGE = 10_000


def _visible_challenge(challenge_id: int) -> Challenge:
    """The challenge in its effective state; 404 when missing or not visible."""
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None:
        abort(404)
    # Expiry computed first, so what follows sees (and acts on) the effective state.
    expiry.show(challenge)
    # Not found and not visible look the same, so drafts' ids do not leak.
    if not permissions.can_view_challenge(current_user, challenge):
        abort(404)
    return challenge


def _page_number() -> int:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(page, 1), MAX_PAGE)


def _list(mine: bool):
    filters = FilterForm(request.args, mine=mine)
    query = queries.list_query(current_user, filters.to_query())
    page = db.paginate(
        query, page=_page_number(), per_page=PER_PAGE, error_out=False, count=True
    )
    for challenge in page.items:
        expiry.show(challenge)
    return render_template(
        "challenges/index.html",
        page=page,
        filters=filters,
        mine=mine,
        status_labels=STATUS_LABELS,
        can_post=permissions.can_post_challenge(current_user),
        seekers=permissions.shown_seekers(current_user, page.items),
        today=local_today(),
    )


@bp.route("/")
def index():
    """Published challenges with filters, sorting and pages (`mine=1`: own ones)."""
    mine = request.args.get("mine") == "1" and permissions.is_logged_in(current_user)
    return _list(mine)


@bp.route("/mine")
@login_required
def mine():
    """Every challenge of the user's organisation, in any state."""
    return _list(True)


def _save(challenge: Challenge | None, data: services.ChallengeData) -> Challenge:
    """Create or update the draft, and submit it when 保存并提交审核 was pressed."""
    if challenge is None:
        challenge = services.create_challenge(current_user, data)
    else:
        services.update_challenge(challenge, current_user, data)
    if request.form.get("action") != "submit":
        flash("草稿已保存。", "success")
        return challenge
    try:
        # The savepoint keeps the saved draft when only the submission fails.
        with db.session.begin_nested():
            services.submit_challenge(challenge, current_user)
    except ServiceError as error:
        flash(f"已保存为草稿，但未能提交审核：{error.message}", "warning")
    else:
        flash("已保存并提交科技局审核。", "success")
    return challenge


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """An enterprise drafts a new challenge."""
    permissions.require(permissions.can_post_challenge(current_user))
    form = ChallengeForm()
    if request.method == "GET":
        form.region.data = current_user.org.region_code
        form.allowed_bidder_kinds.data = ["university", "institute"]
    if form.validate_on_submit():
        done, challenge = submit_form(form, _save, None, form.to_data(), success=None)
        if done:
            return redirect(url_for("challenges.detail", challenge_id=challenge.id))
    return render_template(
        "challenges/form.html",
        form=form,
        challenge=None,
        today_iso=local_today().isoformat(),
    )


@bp.route("/<int:challenge_id>/edit", methods=["GET", "POST"])
@login_required
def edit(challenge_id: int):
    """The owner edits a draft or a rejected challenge."""
    challenge = _visible_challenge(challenge_id)
    permissions.require(permissions.can_edit(current_user, challenge))
    if request.method == "POST":
        form = ChallengeForm()
    else:
        form = ChallengeForm(data=ChallengeForm.data_of(challenge))
    if form.validate_on_submit():
        done, _ = submit_form(form, _save, challenge, form.to_data(), success=None)
        if done:
            return redirect(url_for("challenges.detail", challenge_id=challenge.id))
    return render_template(
        "challenges/form.html",
        form=form,
        challenge=challenge,
        rejected=challenge.status == ChallengeStatus.REJECTED,
        reject_reasons=REJECT_REASONS,
        today_iso=local_today().isoformat(),
    )


@bp.route("/<int:challenge_id>")
def detail(challenge_id: int):
    """A challenge's page; the confidential part only to those allowed."""
    challenge = _visible_challenge(challenge_id)
    user = current_user
    show_confidential = permissions.can_view_confidential(user, challenge)
    is_owner = permissions.is_member_of(user, challenge.org_id)
    if show_confidential and not is_owner:
        # End the read transaction first: on SQLite a read upgraded to a write
        # fails at once when another writer got in between.
        db.session.commit()
        record_confidential_view(challenge, user)
        db.session.commit()
    insider = permissions.is_insider(user, challenge.org_id)
    seeker_hidden = permissions.hides_seeker(user, challenge)
    context = {
        "challenge": challenge,
        "status_labels": STATUS_LABELS,
        "reject_reasons": REJECT_REASONS,
        "kind_labels": {k.value: k.label for k in OrgKind},
        "is_owner": is_owner,
        "insider": insider,
        "show_confidential": show_confidential,
        "may_accept": permissions.may_accept_terms(user, challenge)
        and not show_confidential,
        "show_contact": insider
        or (permissions.org_is_verified(user) and not seeker_hidden),
        "seeker_hidden": seeker_hidden,
        "seeker_name": permissions.seeker_name(user, challenge),
        "anonymous_name": permissions.anonymous_name(challenge),
        "terms": services.CONFIDENTIALITY_TERMS,
        **nda_context(user, challenge, show_confidential),
        "accept_form": AcceptTermsForm(),
        "withdraw_form": WithdrawForm(),
        "can_edit": permissions.can_edit(user, challenge),
        "can_withdraw": permissions.can_withdraw_challenge(user, challenge),
        # Closing early needs a bid to evaluate; the service refuses otherwise.
        "can_close_bidding": permissions.can_close_bidding(user, challenge)
        and services.has_live_proposals(challenge),
        "editable_states": EDITABLE_CHALLENGE_STATES,
        "event_labels": queries.EVENT_LABELS,
    }
    if insider:
        views_total, views = queries.confidential_views(challenge)
        context.update(
            acceptances=queries.acceptances(challenge),
            views_total=views_total,
            views=views,
            timeline=queries.timeline(challenge),
        )
    context.update(sections.state_flags(challenge))
    context.update(
        listing_sections.listing_page(user, challenge),
        proposal_panel=proposal_sections.proposal_panel(user, challenge),
        review_panel=panel_sections.review_panel(user, challenge),
        project_panel=project_sections.project_panel(user, challenge),
    )
    return render_template("challenges/detail.html", **context)


def _back(challenge: Challenge):
    return redirect(url_for("challenges.detail", challenge_id=challenge.id))


@bp.route("/<int:challenge_id>/submit", methods=["POST"])
@login_required
def submit(challenge_id: int):
    """Send the challenge to the bureau for review."""
    challenge = _visible_challenge(challenge_id)
    permissions.require(permissions.is_member_of(current_user, challenge.org_id))
    perform_form(
        ActionForm(),
        services.submit_challenge,
        challenge,
        current_user,
        success="已提交科技局审核。",
        problem=EXPIRED_FORM,
    )
    return _back(challenge)


@bp.route("/<int:challenge_id>/withdraw", methods=["POST"])
@login_required
def withdraw(challenge_id: int):
    """Withdraw the challenge (cannot be undone)."""
    challenge = _visible_challenge(challenge_id)
    permissions.require(permissions.is_member_of(current_user, challenge.org_id))
    form = WithdrawForm()
    perform_form(
        form,
        services.withdraw_challenge,
        challenge,
        current_user,
        form.note.data or "",
        success="需求已撤回。",
    )
    return _back(challenge)


@bp.route("/<int:challenge_id>/close-bidding", methods=["POST"])
@login_required
def close_bidding(challenge_id: int):
    """End bidding early and start evaluating the proposals."""
    challenge = _visible_challenge(challenge_id)
    permissions.require(permissions.can_decide_proposals(current_user, challenge))
    # Bidding cannot be reopened: the owner ticks a confirmation first.
    if not confirmed():
        return _back(challenge)
    perform(
        services.close_bidding_early,
        challenge,
        current_user,
        success="揭榜已截止，可以开始评审申报方案。",
    )
    return _back(challenge)


@bp.route("/<int:challenge_id>/accept-terms", methods=["POST"])
@login_required
def accept_terms(challenge_id: int):
    """Accept the confidentiality terms to see the confidential detail."""
    challenge = _visible_challenge(challenge_id)
    permissions.require(permissions.may_accept_terms(current_user, challenge))
    perform_form(
        AcceptTermsForm(),
        services.accept_terms,
        challenge,
        current_user,
        success="已接受保密承诺，现可查看保密内容。",
    )
    return _back(challenge)
