"""Thin views: forming a panel, its page, the scoring sheet, opinions, my panels."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.listings.review import listing_link
from marketplace.models import (
    Acceptance,
    Attachment,
    Challenge,
    Exemption,
    ExpertProfile,
    PanelMember,
    PanelPurpose,
    PanelStatus,
    ReviewPanel,
)
from marketplace.panels import bp, members, results, rules, services
from marketplace.panels.forms import (
    OpinionForm,
    PanelForm,
    ReplaceMemberForm,
    ScoredPanelForm,
    comment_field,
    score_field,
    score_sheet,
)
from marketplace.proposals import attachments
from marketplace.proposals.services import PROPOSAL_STATUS_LABELS
from marketplace.views import id_arg, perform_form, submit

# The form offers the best-fitting experts; more can be added by their number.
CANDIDATE_LIMIT = 30
LABELS = {
    "purpose_labels": rules.PURPOSE_LABELS,
    "panel_status_labels": rules.STATUS_LABELS,
    "criteria": rules.CRITERIA,
    "proposal_labels": PROPOSAL_STATUS_LABELS,
}


def _get(model: Any, object_id: int | None) -> Any:
    found = db.session.get(model, object_id) if object_id is not None else None
    if found is None:
        abort(404)
    return found


def _subject() -> tuple[PanelPurpose, Challenge, Acceptance | None, Exemption | None]:
    values = {p.value for p in PanelPurpose}
    purpose = request.args.get("purpose", PanelPurpose.PROPOSALS.value)
    if purpose not in values:
        abort(404)
    purpose = PanelPurpose(purpose)
    acceptance = exemption = subject = None
    if purpose in (PanelPurpose.MIDTERM, PanelPurpose.FINAL):
        acceptance = subject = _get(
            Acceptance, request.args.get("acceptance", type=id_arg)
        )
    elif purpose == PanelPurpose.EXEMPTION:
        exemption = subject = _get(
            Exemption, request.args.get("exemption", type=id_arg)
        )
    challenge_id = request.args.get("challenge", type=id_arg)
    if challenge_id is None and subject is not None:
        challenge_id = subject.project.challenge_id
    challenge = _get(Challenge, challenge_id)
    if subject is not None and subject.project.challenge_id != challenge.id:
        abort(404)
    if not permissions.can_view_challenge(current_user, challenge):
        abort(404)
    return purpose, challenge, acceptance, exemption


def _panel(panel_id: int) -> ReviewPanel:
    panel = db.session.get(ReviewPanel, panel_id)
    # Bidders, other organisations and strangers cannot tell a panel exists.
    if panel is None or not permissions.can_view_panel(current_user, panel):
        abort(404)
    return panel


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Form a panel for a challenge's bids, or for a check, acceptance or exemption."""
    purpose, challenge, acceptance, exemption = _subject()
    expiry.show(challenge)
    permissions.require(permissions.can_form_panel(current_user, challenge, purpose))
    existing = services.existing_panel(challenge, purpose, acceptance, exemption)
    if existing is not None:
        flash("该事项已组建评审专家组。", "info")
        return redirect(url_for("panels.detail", panel_id=existing.id))
    problem = services.formation_problem(challenge, purpose, acceptance, exemption)
    scored = purpose == PanelPurpose.PROPOSALS
    form = ScoredPanelForm() if scored else PanelForm()
    proposed = services.propose_experts(
        challenge,
        purpose,
        limit=CANDIDATE_LIMIT,
        project=(acceptance or exemption).project if not scored else None,
    )
    form.expert_ids.choices = [
        (c.expert.id, c.expert.name) for c in proposed.candidates
    ]
    if not problem and form.validate_on_submit():
        done, panel = submit(
            form,
            services.form_panel,
            current_user,
            challenge,
            purpose,
            form.expert_ids.data or [],
            form.weights() if scored else None,
            acceptance=acceptance,
            exemption=exemption,
            success="评审专家组已组建，已通知各位专家。",
        )
        if done:
            return redirect(url_for("panels.detail", panel_id=panel.id))
    elif problem and request.method == "POST":
        flash(problem, "warning")
    chosen = set(form.expert_ids.data or [])
    return render_template(
        "panels/new.html",
        form=form,
        challenge=challenge,
        purpose=purpose,
        acceptance=acceptance,
        exemption=exemption,
        problem=problem,
        proposed=proposed,
        chosen=chosen,
        scored=scored,
        challenge_link=listing_link(challenge),
        seeker_name=permissions.seeker_name(current_user, challenge),
        **LABELS,
    )


@bp.route("/<int:panel_id>")
@login_required
def detail(panel_id: int):
    """The panel: members and progress; the results for those who may see them."""
    panel = _panel(panel_id)
    member = permissions.panel_seat(current_user, panel)
    sees_results = permissions.sees_panel_results(current_user, panel)
    proposals_panel = panel.purpose == PanelPurpose.PROPOSALS
    return render_template(
        "panels/detail.html",
        panel=panel,
        challenge=panel.challenge,
        member=member,
        progress=results.progress(panel),
        sees_results=sees_results,
        ranking=services.ranking(panel) if sees_results and proposals_panel else [],
        opinions=results.opinions(panel)
        if sees_results and not proposals_panel
        else ([], []),
        verdicts=rules.verdict_labels(panel.purpose),
        # Before completion an expert sees their own sheet only.
        own_scores={s.proposal_id: s for s in member.scores} if member else {},
        bids=services.live_proposals(panel.challenge) if member else [],
        challenge_link=listing_link(panel.challenge),
        links_bids=permissions.can_view_panel_results(current_user, panel.challenge),
        project_id=_project_id(panel),
        replacements=_replacements(panel),
        replace_form=ReplaceMemberForm(),
        **LABELS,
    )


def _replacements(panel: ReviewPanel) -> list[Any]:
    """Experts who could take a pending seat, for those who formed the panel."""
    if panel.status != PanelStatus.SCORING or not permissions.can_form_panel(
        current_user, panel.challenge, panel.purpose
    ):
        return []
    if all(m.submitted_at is not None for m in panel.members):
        return []
    seated = {m.expert_id for m in panel.members}
    proposed = services.propose_experts(
        panel.challenge, panel.purpose, CANDIDATE_LIMIT, members.project_of(panel)
    )
    return [c.expert for c in proposed.candidates if c.expert.id not in seated]


@bp.route("/<int:panel_id>/members/<int:member_id>/replace", methods=["POST"])
@login_required
def replace(panel_id: int, member_id: int):
    """Give a pending seat to another eligible expert."""
    panel = _panel(panel_id)
    permissions.require(
        permissions.can_form_panel(current_user, panel.challenge, panel.purpose)
    )
    form = ReplaceMemberForm()
    perform_form(
        form,
        members.replace_member,
        panel,
        current_user,
        member_id,
        form.expert_id.data,
        form.reason.data,
        success="已更换评审专家，并已通知相关专家。",
    )
    return redirect(url_for("panels.detail", panel_id=panel.id))


def _project_id(panel: ReviewPanel) -> int | None:
    subject = None
    if panel.acceptance_id is not None:
        subject = db.session.get(Acceptance, panel.acceptance_id)
    elif panel.exemption_id is not None:
        subject = db.session.get(Exemption, panel.exemption_id)
    return subject.project_id if subject is not None else None


def _seat(panel_id: int, purpose_ok: bool, other: str):
    panel = _panel(panel_id)
    member = permissions.panel_seat(current_user, panel)
    permissions.require(member is not None)
    if not purpose_ok(panel):
        return panel, member, redirect(url_for(other, panel_id=panel.id))
    if member.submitted_at is not None or panel.status != PanelStatus.SCORING:
        flash("您已提交评审意见，或该专家组的评审已结束。", "info")
        return panel, member, redirect(url_for("panels.detail", panel_id=panel.id))
    return panel, member, None


@bp.route("/<int:panel_id>/score", methods=["GET", "POST"])
@login_required
def score(panel_id: int):
    """A member's scoring sheet for every live bid on the challenge."""
    panel, member, done = _seat(
        panel_id, lambda p: p.purpose == PanelPurpose.PROPOSALS, "panels.opinion"
    )
    if done is not None:
        return done
    bids = services.live_proposals(panel.challenge)
    form = score_sheet(bids, panel.max_score)()
    if form.validate_on_submit():
        scores = {
            bid.id: {
                key: getattr(form, score_field(bid.id, key)).data
                for key, _ in rules.CRITERIA
            }
            for bid in bids
        }
        comments = {bid.id: getattr(form, comment_field(bid.id)).data for bid in bids}
        done, _ = submit(
            form,
            services.submit_scores,
            member,
            current_user,
            scores,
            comments,
            form.overall.data,
            success="评分已提交。",
        )
        if done:
            return redirect(url_for("panels.detail", panel_id=panel_id))
    return render_template(
        "panels/score.html",
        panel=panel,
        challenge=panel.challenge,
        bids=bids,
        form=form,
        score_field=score_field,
        comment_field=comment_field,
        seeker_name=permissions.seeker_name(current_user, panel.challenge),
        **LABELS,
    )


@bp.route("/<int:panel_id>/opinion", methods=["GET", "POST"])
@login_required
def opinion(panel_id: int):
    """A member's verdict and reasons on a check, acceptance or exemption."""
    panel, member, done = _seat(
        panel_id, lambda p: p.purpose != PanelPurpose.PROPOSALS, "panels.score"
    )
    if done is not None:
        return done
    form = OpinionForm()
    form.verdict.choices = list(rules.verdict_labels(panel.purpose).items())
    if form.validate_on_submit():
        done, _ = submit(
            form,
            services.submit_opinion,
            member,
            current_user,
            form.verdict.data,
            form.comment.data,
            success="评审意见已提交。",
        )
        if done:
            return redirect(url_for("panels.detail", panel_id=panel_id))
    return render_template(
        "panels/opinion.html",
        panel=panel,
        challenge=panel.challenge,
        form=form,
        seeker_name=permissions.seeker_name(current_user, panel.challenge),
        **LABELS,
    )


@bp.route("/mine")
@login_required
def mine():
    """The logged-in expert's panels, those waiting for their opinion first."""
    experts = db.session.scalars(
        select(ExpertProfile.id).where(ExpertProfile.user_id == current_user.id)
    ).all()
    permissions.require(bool(experts))
    seats = db.session.scalars(
        select(PanelMember)
        .join(ReviewPanel, ReviewPanel.id == PanelMember.panel_id)
        .where(PanelMember.expert_id.in_(experts))
        .order_by(
            PanelMember.submitted_at.is_not(None),
            ReviewPanel.status != PanelStatus.SCORING,
            ReviewPanel.created_at.desc(),
            ReviewPanel.id.desc(),
        )
        .limit(200)
    ).all()
    return render_template("panels/mine.html", seats=seats, **LABELS)


@bp.route("/<int:panel_id>/attachments/<int:attachment_id>")
@login_required
def attachment(panel_id: int, attachment_id: int):
    """A bid's attachment, for the experts scoring it."""
    panel = _panel(panel_id)
    found = db.session.get(Attachment, attachment_id)
    if (
        found is None
        or permissions.panel_seat(current_user, panel) is None
        or panel.purpose != PanelPurpose.PROPOSALS
        or found.proposal.challenge_id != panel.challenge_id
    ):
        abort(404)
    return attachments.send_stored(found)
