"""Thin views over the bidding verbs, the attachment download and the panel."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions
from marketplace.challenges.queries import EVENT_LABELS
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.listings.review import listing_link
from marketplace.listings.states import STATUS_LABELS
from marketplace.models import (
    Attachment,
    AuditEvent,
    Challenge,
    Deal,
    DeclineReason,
    MemberStatus,
    Proposal,
    ProposalKind,
    ProposalMember,
    ProposalStatus,
)
from marketplace.proposals import attachments, bp, decisions, sections, services
from marketplace.proposals.forms import (
    BidEditForm,
    BidForm,
    DecisionForm,
    DeclineForm,
    MembershipForm,
    SelectWinnerForm,
    member_list,
)
from marketplace.views import form_problem, id_arg, perform, perform_form, submit

PER_PAGE = 20
# The proposal's own history uses the challenge timeline's wording.
ACTION_LABELS = EVENT_LABELS
LABELS = {
    "proposal_labels": services.PROPOSAL_STATUS_LABELS,
    "member_labels": services.MEMBER_STATUS_LABELS,
    "status_labels": STATUS_LABELS,
}


def visible_challenge(challenge_id: int) -> Challenge:
    """The challenge in its effective state; 404 unless the user may see it."""
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or not permissions.can_view_challenge(current_user, challenge):
        abort(404)
    expiry.show(challenge)
    return challenge


def _proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    # Not found and not visible look the same: ids of others' bids do not leak.
    if (
        proposal is None
        or proposal.kind != ProposalKind.BID
        or not permissions.can_view_proposal(current_user, proposal)
    ):
        abort(404)
    expiry.show(proposal.challenge)
    return proposal


def _bid_data(form: BidForm) -> services.BidData:
    return services.BidData(
        solution=form.solution.data or "",
        technical_route=form.technical_route.data or "",
        price_fen=form.price.data,
        duration_months=form.duration_months.data,
        team=form.team.data or "",
        members=member_list(form.members.data),
    )


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/challenge/<int:challenge_id>/new", methods=["GET", "POST"])
@login_required
def new(challenge_id: int | None = None):
    """Bid on a challenge (揭榜申报)."""
    if challenge_id is None:
        challenge_id = request.args.get("challenge", type=id_arg)
        if challenge_id is None:
            abort(404)
    challenge = visible_challenge(challenge_id)
    notice = permissions.restriction_notice(current_user)
    if notice:  # say why, where a bare 403 would not
        flash(notice, "danger")
        return redirect(listing_link(challenge))
    permissions.require(permissions.can_bid(current_user, challenge))
    if not services.bidding_open(challenge):
        flash("该榜单已截止或未开放，不能再揭榜申报。", "warning")
        return redirect(listing_link(challenge))
    own = sections.own_proposals(challenge, current_user)
    if request.method == "GET" and own and own[0].status != ProposalStatus.WITHDRAWN:
        flash("贵机构已对该榜单提交过申报。", "info")
        return redirect(url_for("proposals.detail", proposal_id=own[0].id))
    form = BidForm()
    if form.validate_on_submit():
        done, proposal = submit(
            form,
            services.submit_bid,
            challenge,
            current_user,
            _bid_data(form),
            form.attachments.data,
            success="申报已提交。",
        )
        if done:
            return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template(
        "proposals/form.html",
        form=form,
        challenge=challenge,
        proposal=None,
        seeker_name=permissions.seeker_name(current_user, challenge),
    )


@bp.route("/<int:proposal_id>")
@login_required
def detail(proposal_id: int):
    """A bid, for the bidder, its consortium, the challenge owner and the bureau."""
    proposal = _proposal(proposal_id)
    challenge = proposal.challenge
    deciding = permissions.can_decide_proposals(current_user, challenge)
    member = services.membership(proposal, current_user)
    history = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == Proposal.__tablename__,
            AuditEvent.object_id == proposal.id,
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ).all()
    return render_template(
        "proposals/detail.html",
        proposal=proposal,
        challenge=challenge,
        is_bidder=permissions.is_bidder(current_user, proposal),
        member=member,
        deciding=deciding,
        sees_all_bids=permissions.sees_all_bids(current_user, challenge),
        **sections.state_flags(proposal, member, deciding),
        decision_time=services.decision_time(challenge),
        editable=services.bidding_open(challenge)
        and proposal.status in services.PENDING,
        can_download=permissions.can_download_attachment(current_user, proposal),
        deal=_visible_deal_of(proposal),
        others_pending=len(decisions.pending_others(challenge, proposal))
        if deciding
        else 0,
        decline_reasons=list(DeclineReason),
        reason_labels={r.value: r.label for r in DeclineReason},
        history=history,
        action_labels=ACTION_LABELS,
        **LABELS,
    )


def _visible_deal_of(proposal: Proposal) -> Deal | None:
    deal = db.session.scalar(select(Deal).where(Deal.proposal_id == proposal.id))
    if deal is None or not permissions.can_view_deal(current_user, deal):
        return None
    return deal


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    """The bidder edits its bid until the deadline."""
    proposal = _proposal(proposal_id)
    permissions.require(permissions.is_bidder(current_user, proposal))
    challenge = proposal.challenge
    if not (services.bidding_open(challenge) and proposal.status in services.PENDING):
        flash("揭榜已截止或申报已有结论，不能再修改。", "warning")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    if request.method == "GET":
        form = BidEditForm(
            data={
                "solution": proposal.solution,
                "technical_route": proposal.technical_route,
                "price": proposal.price_fen,
                "duration_months": proposal.duration_months,
                "team": proposal.team,
                "members": "\n".join(m.org.name for m in proposal.members),
            }
        )
    else:
        form = BidEditForm()
    form.remove_attachments.choices = [
        (a.id, a.original_name) for a in proposal.attachments
    ]
    if form.validate_on_submit():
        done, gone = submit(
            form,
            services.update_bid,
            proposal,
            current_user,
            _bid_data(form),
            form.attachments.data,
            form.remove_attachments.data or [],
            success=None,
        )
        if done:
            # Only once the rows are gone for good may their files go too.
            attachments.discard(gone)
            flash("申报已修改。", "success")
            return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template(
        "proposals/form.html",
        form=form,
        challenge=challenge,
        proposal=proposal,
        seeker_name=permissions.seeker_name(current_user, challenge),
    )


def _act(proposal: Proposal, verb, success: str, *args) -> None:
    perform(verb, proposal, current_user, *args, success=success)


@bp.route("/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(proposal_id: int):
    """The bidder withdraws its bid before the deadline."""
    proposal = _proposal(proposal_id)
    permissions.require(permissions.is_bidder(current_user, proposal))
    if DecisionForm().validate_on_submit():
        _act(proposal, services.withdraw_bid, "申报已撤回。")
    return redirect(url_for("proposals.detail", proposal_id=proposal.id))


@bp.route("/<int:proposal_id>/membership", methods=["POST"])
@login_required
def membership(proposal_id: int):
    """An invited consortium member confirms or declines."""
    proposal = _proposal(proposal_id)
    permissions.require(services.membership(proposal, current_user) is not None)
    form = MembershipForm()
    accept = form.answer.data == "confirm"
    perform_form(
        form,
        services.confirm_membership,
        proposal,
        current_user,
        accept,
        success="已确认参加联合体。" if accept else "已拒绝参加联合体。",
        problem="请求无效。",
    )
    return redirect(url_for("proposals.detail", proposal_id=proposal.id))


def _decide(proposal_id: int, verb, success: str, form_class=DecisionForm):
    proposal = _proposal(proposal_id)
    permissions.require(
        permissions.can_decide_proposals(current_user, proposal.challenge)
    )
    form = form_class()
    if not form.validate_on_submit():
        flash(form_problem(form), "danger")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    if hasattr(form, "reason_code"):
        _act(proposal, verb, success, form.reason_code.data, form.note.data or "")
    else:
        _act(proposal, verb, success)
    return redirect(
        url_for("proposals.for_challenge", challenge_id=proposal.challenge_id)
    )


@bp.route("/<int:proposal_id>/shortlist", methods=["POST"])
@login_required
def shortlist(proposal_id: int):
    """The owner shortlists a bid."""
    return _decide(proposal_id, decisions.shortlist, "已列入入围名单。")


@bp.route("/<int:proposal_id>/select", methods=["POST"])
@login_required
def select_winner(proposal_id: int):
    """The owner selects the winner (ticked); the other bids are declined."""
    return _decide(
        proposal_id,
        decisions.select_winner,
        "已选定中选方，其他申报已告知未中选，撮合项目已建立。",
        SelectWinnerForm,
    )


@bp.route("/<int:proposal_id>/decline", methods=["POST"])
@login_required
def decline(proposal_id: int):
    """The owner declines a bid with a reason code and an optional note."""
    return _decide(proposal_id, decisions.decline, "已告知申报方未中选。", DeclineForm)


@bp.route("/challenge/<int:challenge_id>")
@login_required
def for_challenge(challenge_id: int):
    """All bids on a challenge for its owner and the bureau; a bidder sees its own."""
    challenge = visible_challenge(challenge_id)
    sees_all = permissions.sees_all_bids(current_user, challenge)
    proposals = db.session.scalars(
        permissions.visible_proposals(current_user)
        .where(Proposal.challenge_id == challenge.id, Proposal.kind == ProposalKind.BID)
        .order_by(Proposal.created_at, Proposal.id)
    ).all()
    if not sees_all and not proposals:
        abort(403)
    return render_template(
        "proposals/list.html",
        challenge=challenge,
        proposals=proposals,
        sees_all=sees_all,
        deciding=permissions.may_decide_bids(current_user, challenge),
        decision_time=services.decision_time(challenge),
        can_direct_award=permissions.may_direct_award(current_user, challenge),
        decision_form=DecisionForm(),
        **LABELS,
    )


@bp.route("/mine")
@login_required
def mine():
    """The organisation's bids and the consortia it was invited to."""
    page = db.paginate(
        select(Proposal)
        .where(
            Proposal.org_id == current_user.org_id, Proposal.kind == ProposalKind.BID
        )
        .order_by(Proposal.created_at.desc(), Proposal.id.desc()),
        per_page=PER_PAGE,
        error_out=False,
    )
    invitations = db.session.scalars(
        select(ProposalMember)
        .join(Proposal, Proposal.id == ProposalMember.proposal_id)
        .where(
            ProposalMember.org_id == current_user.org_id,
            Proposal.kind == ProposalKind.BID,
        )
        .order_by(
            (ProposalMember.status != MemberStatus.INVITED), ProposalMember.id.desc()
        )
        .limit(100)
    ).all()
    return render_template(
        "proposals/mine.html",
        page=page,
        invitations=invitations,
        seekers=permissions.shown_seekers(
            current_user, [p.challenge for p in page.items]
        ),
        **LABELS,
    )


@bp.route("/attachments/<int:attachment_id>")
def download(attachment_id: int):
    """An attachment as a download, for the bidder, the owner and the bureau."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not permissions.can_download_attachment(
        current_user, attachment.proposal
    ):
        abort(404)
    return attachments.send_stored(attachment)
