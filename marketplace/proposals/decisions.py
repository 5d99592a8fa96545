"""Decisions on bids: shortlist, select a winner, decline, and direct award."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, permissions
from marketplace.clock import utcnow
from marketplace.deals import services as deals
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.listings.states import CHALLENGE_TRANSITIONS, DECIDING_STATES
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Deal,
    DeclineReason,
    MemberStatus,
    Organisation,
    PanelPurpose,
    PanelStatus,
    Proposal,
    ProposalKind,
    ReviewPanel,
)
from marketplace.proposals.services import (
    DIRECT_AWARD_DECLINE_REASON,
    DIRECT_AWARD_TRANSITIONS,
    MIN_JUSTIFICATION,
    PENDING,
    PROPOSAL_TRANSITIONS,
    P,
    decision_time,
    find_org,
    lock_challenge,
    lock_for_proposal,
    proposal_link,
)
from marketplace.workflow import move


def _require_decider(user: Any, proposal: Proposal) -> None:
    if proposal.challenge is None or not permissions.can_decide_proposals(
        user, proposal.challenge
    ):
        raise StateError("只有发榜企业可以评审申报。")


def _refuse_restricted(proposal: Proposal, consequence: str) -> None:
    # A restriction recorded after the bid went in still holds at decision time,
    # for the bidder and for every consortium member that has not declined.
    permissions.refuse_restricted_org(proposal.org, consequence)
    for member in proposal.members:
        if member.status != MemberStatus.DECLINED:
            permissions.refuse_restricted_org(
                member.org, f"其所在联合体的申报{consequence}"
            )


def shortlist(proposal: Proposal, user: Any) -> None:
    """The owner puts a submitted bid on the shortlist (入围)."""
    _require_decider(user, proposal)
    challenge, proposal = lock_for_proposal(proposal)
    if challenge.status not in DECIDING_STATES:
        raise StateError("该榜单已不在评审阶段。")
    _refuse_restricted(proposal, "不能入围")
    move(
        proposal,
        P.SHORTLISTED,
        PROPOSAL_TRANSITIONS,
        action="proposal_shortlisted",
        user=user,
        refusal="只有已提交的申报可以入围。",
    )
    audit.notify_org(
        proposal.org_id,
        f"您的申报已入围：{challenge.title[:80]}",
        proposal_link(proposal),
    )


def decline_reason(code: str | None) -> DeclineReason:
    """The reason code the owner picked, refused when missing or unknown."""
    try:
        return DeclineReason(code or "")
    except ValueError:
        raise ServiceError("请选择未中选原因。", "reason_code") from None


def _notify_consortium(proposal: Proposal, message: str, link: str) -> None:
    # Confirmed members are parties under the consortium agreement: they hear
    # the outcome as the lead bidder does.
    for org_id in permissions.consortium_org_ids(proposal.id):
        audit.notify_org(org_id, message, link)


def _decline(
    proposal: Proposal,
    challenge: Challenge,
    user: Any,
    code: DeclineReason,
    note: str,
) -> None:
    move(
        proposal,
        P.DECLINED,
        PROPOSAL_TRANSITIONS,
        action="proposal_declined",
        user=user,
        note=note,
        reason_code=code.value,
        refusal="该申报已有结论。",
    )
    proposal.decline_reason_code, proposal.decline_reason = code, note
    proposal.decided_at = utcnow()
    title, summary = challenge.title[:60], proposal.decline_summary[:160]
    link = proposal_link(proposal)
    audit.notify_org(proposal.org_id, f"您对“{title}”的{summary}", link)
    _notify_consortium(proposal, f"贵机构所在联合体对“{title}”的{summary}", link)


def decline(
    proposal: Proposal, user: Any, reason_code: str | None, note: str = ""
) -> None:
    """The owner declines one bid with a reason code and a note the bidder sees."""
    _require_decider(user, proposal)
    code = decline_reason(reason_code)
    challenge, proposal = lock_for_proposal(proposal)
    if challenge.status not in DECIDING_STATES:
        raise StateError("该榜单已不在评审阶段。")
    _decline(proposal, challenge, user, code, (note or "").strip())


def pending_others(challenge: Challenge, winner: Proposal) -> list[Proposal]:
    """The other live bids that selecting `winner` would decline."""
    return list(
        db.session.scalars(
            select(Proposal)
            .where(
                Proposal.challenge_id == challenge.id,
                Proposal.id != winner.id,
                Proposal.status.in_(PENDING),
            )
            .order_by(Proposal.id)
            .execution_options(populate_existing=True)
        )
    )


def _decline_others(
    challenge: Challenge, winner: Proposal, user: Any, code: DeclineReason, note: str
) -> None:
    for other in pending_others(challenge, winner):
        _decline(other, challenge, user, code, note)


def _award(challenge: Challenge, winner: Proposal, user: Any, action: str, note: str):
    move(
        challenge,
        ChallengeStatus.AWARDED,
        CHALLENGE_TRANSITIONS,
        action=action,
        user=user,
        note=note,
        refusal="该榜单当前不能确定中选方。",
    )
    challenge.awarded_at = winner.decided_at = utcnow()
    deal = deals.open_from_proposal(
        winner, user, f"揭榜中选：{winner.org.name}", "该榜单已确定中选方。"
    )
    title, link = challenge.title[:80], f"/deals/{deal.id}"
    audit.notify_org(
        winner.org_id, f"贵机构的申报已中选，撮合项目已建立：{title}", link
    )
    _notify_consortium(
        winner,
        f"贵机构所在联合体（牵头单位 {winner.org.name}）的申报已中选，"
        f"撮合项目已建立：{title}",
        link,
    )
    audit.notify_org(
        challenge.org_id,
        f"已确定中选方 {winner.org.name}，撮合项目已建立：{title}",
        link,
    )
    return deal


def select_winner(
    proposal: Proposal, user: Any, reason_code: str | None = None, note: str = ""
) -> Deal:
    """The owner selects the one winner; the others are declined with one reason."""
    _require_decider(user, proposal)
    challenge, proposal = lock_for_proposal(proposal)
    if challenge.status == ChallengeStatus.AWARDED:
        raise StateError("该榜单已确定中选方。")
    if not decision_time(challenge):
        raise StateError("揭榜截止后才能选定中选方。")
    _refuse_restricted(proposal, "不能中选")
    # The other bidders are told why: a code is needed as soon as there are any.
    others = pending_others(challenge, proposal)
    code = decline_reason(reason_code) if others else DeclineReason.OTHER
    move(
        proposal,
        P.SELECTED,
        PROPOSAL_TRANSITIONS,
        action="proposal_selected",
        user=user,
        refusal="请先将该申报列入入围名单，再选定中选。",
    )
    _decline_others(challenge, proposal, user, code, (note or "").strip())
    return _award(
        challenge, proposal, user, "challenge_awarded", f"中选：{proposal.org.name}"
    )


def _award_target(challenge: Challenge, org_text: str) -> Organisation:
    org = find_org(org_text)
    if org is None:
        raise ServiceError("未找到该机构，请填写全称或统一社会信用代码。", "org")
    if org.id == challenge.org_id:
        raise ServiceError("不能委托给发榜企业自身。", "org")
    if not org.verified or org.kind not in permissions.BIDDER_KINDS:
        raise ServiceError(f"“{org.name}”不能承担该榜单。", "org")
    permissions.refuse_restricted_org(org, "不能承担该榜单", "org")
    return org


def _has_panel_opinion(challenge: Challenge) -> bool:
    # The expert consultation the policy asks for before a directed award.
    return (
        db.session.scalar(
            select(ReviewPanel.id).where(
                ReviewPanel.challenge_id == challenge.id,
                ReviewPanel.purpose == PanelPurpose.PROPOSALS,
                ReviewPanel.status == PanelStatus.COMPLETED,
            )
        )
        is not None
    )


def direct_award(
    challenge: Challenge, user: Any, org_text: str, justification: str
) -> Deal:
    """The bureau awards a challenge directly (定向委托) with a written reason."""
    if not permissions.can_direct_award(user):
        raise StateError("只有科技局可以定向委托。")
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise ServiceError(
            f"请填写不少于 {MIN_JUSTIFICATION} 字的定向委托理由。", "justification"
        )
    org = _award_target(challenge, org_text)
    challenge = lock_challenge(challenge)
    if challenge.status not in DECIDING_STATES:
        raise StateError("只有揭榜中或评审中的榜单可以定向委托。")
    if not _has_panel_opinion(challenge):
        raise StateError(
            "定向委托须有评审专家组的评审意见：请先组建评审专家组，"
            "待全体专家提交评分后再委托。"
        )
    proposal = db.session.scalar(
        select(Proposal)
        .where(
            Proposal.challenge_id == challenge.id,
            Proposal.org_id == org.id,
            Proposal.status != P.WITHDRAWN,
        )
        .execution_options(populate_existing=True)
    )
    if proposal is None:
        proposal = Proposal(
            kind=ProposalKind.BID,
            challenge_id=challenge.id,
            org_id=org.id,
            submitted_by_id=user.id,
            status=P.SELECTED,
            solution="科技局定向委托",
        )
        try:
            with db.session.begin_nested():
                db.session.add(proposal)
                db.session.flush()
        except IntegrityError:
            raise StateError("该机构的申报刚刚发生变化，请刷新后重试。") from None
        audit.record(
            "proposal_selected",
            obj=proposal,
            user=user,
            to_state=P.SELECTED,
            note="定向委托",
        )
    else:
        move(
            proposal,
            P.SELECTED,
            DIRECT_AWARD_TRANSITIONS,
            action="proposal_selected",
            user=user,
            note="定向委托",
            refusal="该机构的申报已有结论。",
        )
        proposal.decline_reason, proposal.decline_reason_code = "", None
    challenge.direct_award_justification = justification
    _decline_others(
        challenge, proposal, user, DeclineReason.OTHER, DIRECT_AWARD_DECLINE_REASON
    )
    return _award(challenge, proposal, user, "challenge_direct_awarded", justification)
