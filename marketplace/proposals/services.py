"""Bids on challenges (揭榜申报): submit, edit, withdraw, consortia, decisions, awards.

Every verb that changes a bid first locks its challenge row, so that decisions on
one challenge run one at a time and see each other's results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, permissions
from marketplace.clock import local_today, utcnow
from marketplace.creditcode import normalise
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.listings.states import DECIDING_STATES  # noqa: F401 (re-exported)
from marketplace.models import (
    Attachment,
    Challenge,
    ChallengeStatus,
    MemberStatus,
    Organisation,
    Proposal,
    ProposalKind,
    ProposalMember,
    ProposalStatus,
)
from marketplace.models.proposal import (  # noqa: F401 (re-exported)
    MEMBER_STATUS_LABELS,
    PROPOSAL_STATUS_LABELS,
)
from marketplace.proposals import attachments
from marketplace.workflow import move

P = ProposalStatus
MAX_ATTACHMENTS = 10
DIRECT_AWARD_DECLINE_REASON = "科技局已定向委托其他机构承担"
MIN_JUSTIFICATION = 20


PROPOSAL_TRANSITIONS = {
    P.SUBMITTED: frozenset({P.SHORTLISTED, P.DECLINED, P.WITHDRAWN}),
    P.SHORTLISTED: frozenset({P.SELECTED, P.DECLINED, P.WITHDRAWN}),
    P.SELECTED: frozenset(),
    P.DECLINED: frozenset(),
    P.WITHDRAWN: frozenset(),
}
# The bureau's direct award may pick any live bid, even one the owner declined.
DIRECT_AWARD_TRANSITIONS = {
    P.SUBMITTED: frozenset({P.SELECTED}),
    P.SHORTLISTED: frozenset({P.SELECTED}),
    P.DECLINED: frozenset({P.SELECTED}),
}
PENDING = frozenset({P.SUBMITTED, P.SHORTLISTED})


@dataclass
class BidData:
    """What a bidder types: the form's content as plain values."""

    solution: str
    technical_route: str
    price_fen: int | None
    duration_months: int | None
    team: str
    members: list[str] = field(default_factory=list)


def proposal_link(proposal: Proposal) -> str:
    """The proposal's page, for notifications."""
    return f"/proposals/{proposal.id}"


def bidding_open(challenge: Challenge) -> bool:
    """Open for bids: published and the deadline (a local date) not yet passed."""
    return (
        challenge.status == ChallengeStatus.OPEN
        and challenge.deadline is not None
        and challenge.deadline >= local_today()
    )


def decision_time(challenge: Challenge) -> bool:
    """A winner may be picked once bidding has closed and before an award."""
    return challenge.status == ChallengeStatus.EVALUATING or (
        challenge.status == ChallengeStatus.OPEN
        and challenge.deadline is not None
        and challenge.deadline < local_today()
    )


def membership(proposal: Proposal, user: Any) -> ProposalMember | None:
    """The user's organisation's place in the proposal's consortium, if any."""
    if not permissions.is_logged_in(user):
        return None
    return next((m for m in proposal.members if m.org_id == user.org_id), None)


def find_org(text: str) -> Organisation | None:
    """An organisation by its unified social credit code or its exact name."""
    text = (text or "").strip()
    if not text:
        return None
    code = normalise(text)
    if len(code) == 18:
        org = db.session.scalar(
            select(Organisation).where(Organisation.credit_code == code)
        )
        if org is not None:
            return org
    return db.session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == text.lower())
    )


def lock_challenge(challenge: Challenge) -> Challenge:
    # FOR NO KEY UPDATE on PostgreSQL (inserts of bids referencing the row are not
    # blocked); SQLite has no row locks but its writes are serialised by BEGIN
    # IMMEDIATE. Either way the row is reloaded, so checks see the latest state.
    return db.session.execute(
        select(Challenge)
        .where(Challenge.id == challenge.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def lock_for_proposal(proposal: Proposal) -> tuple[Challenge, Proposal]:
    if proposal.kind != ProposalKind.BID or proposal.challenge is None:
        raise StateError("这不是揭榜申报。")
    challenge = lock_challenge(proposal.challenge)
    db.session.refresh(proposal)
    return challenge, proposal


def _refuse_restricted(user: Any) -> None:
    # Before the generic refusal, so a restricted party learns the real reason.
    notice = permissions.restriction_notice(user)
    if notice:
        raise StateError(notice)


def _require_bidding_open(challenge: Challenge) -> None:
    if challenge.status != ChallengeStatus.OPEN:
        raise StateError("该榜单当前不接受申报。")
    if not bidding_open(challenge):
        raise StateError("揭榜截止日期已过，不能再提交、修改或撤回申报。")


def _resolve_members(
    challenge: Challenge, bidder: Organisation, names: Iterable[str]
) -> list[Organisation]:
    found: dict[int, Organisation] = {}
    for name in names:
        org = find_org(name)
        if org is None:
            raise ServiceError(f"未找到机构“{name}”，请填写全称或信用代码。", "members")
        if org.id == bidder.id:
            raise ServiceError("不能把本机构列为联合体成员。", "members")
        if org.id == challenge.org_id:
            raise ServiceError("发榜企业不能作为联合体成员。", "members")
        if not org.verified:
            raise ServiceError(f"“{org.name}”尚未通过科技局审核。", "members")
        if org.kind not in permissions.BIDDER_KINDS:
            raise ServiceError(f"“{org.name}”不能作为联合体成员。", "members")
        permissions.refuse_restricted_org(org, "不能作为联合体成员", "members")
        found[org.id] = org
    if found and not challenge.consortium_allowed:
        raise ServiceError("该榜单不接受联合体申报。", "members")
    return list(found.values())


def _invite(proposal: Proposal, challenge: Challenge, org: Organisation) -> None:
    proposal.members.append(ProposalMember(org_id=org.id, status=MemberStatus.INVITED))
    audit.notify_org(
        org.id,
        f"{proposal.org.name} 邀请贵机构作为联合体成员揭榜“{challenge.title[:60]}”，"
        "请确认。",
        proposal_link(proposal),
    )


def _uploads(files: Iterable[Any] | None) -> list[Any]:
    return [f for f in files or [] if f and getattr(f, "filename", "")]


def _attach(proposal: Proposal, uploads: list[Any], user: Any) -> None:
    stored = attachments.store_all(uploads)
    for item in stored:
        proposal.attachments.append(
            Attachment(
                original_name=item.original_name,
                stored_name=item.stored_name,
                content_type=item.content_type,
                size_bytes=item.size_bytes,
                sha256=item.sha256,
                uploaded_by_id=user.id,
            )
        )


def _fill(proposal: Proposal, data: BidData) -> None:
    if data.price_fen is None or data.price_fen < 0:
        raise ServiceError("请填写报价（万元）。", "price")
    if data.duration_months is None or not 1 <= data.duration_months <= 120:
        raise ServiceError("实施周期应为 1 到 120 个月。", "duration_months")
    for name in ("solution", "technical_route", "team"):
        if not getattr(data, name).strip():
            raise ServiceError("请填写此项。", name)
        setattr(proposal, name, getattr(data, name).strip())
    proposal.price_fen, proposal.duration_months = data.price_fen, data.duration_months


def submit_bid(
    challenge: Challenge, user: Any, data: BidData, files: Iterable[Any] = ()
) -> Proposal:
    """An eligible organisation bids on an open challenge before its deadline."""
    _refuse_restricted(user)
    if not permissions.can_bid(user, challenge):
        raise StateError("贵机构不符合该榜单的揭榜条件。")
    challenge = lock_challenge(challenge)
    _require_bidding_open(challenge)
    members = _resolve_members(challenge, user.org, data.members)
    uploads = _uploads(files)
    if len(uploads) > MAX_ATTACHMENTS:
        raise ServiceError(f"附件最多 {MAX_ATTACHMENTS} 个。", "attachments")
    proposal = Proposal(
        kind=ProposalKind.BID,
        challenge_id=challenge.id,
        org_id=user.org_id,
        submitted_by_id=user.id,
        status=P.SUBMITTED,
    )
    _fill(proposal, data)
    try:
        # The partial unique index decides, also between simultaneous requests.
        with db.session.begin_nested():
            db.session.add(proposal)
            db.session.flush()
    except IntegrityError:
        raise ServiceError("贵机构已对该榜单提交过申报。") from None
    for org in members:
        _invite(proposal, challenge, org)
    _attach(proposal, uploads, user)
    audit.record("proposal_submitted", obj=proposal, user=user, to_state=P.SUBMITTED)
    audit.notify_org(
        challenge.org_id,
        f"收到新的揭榜申报：{challenge.title[:80]}",
        proposal_link(proposal),
    )
    return proposal


def update_bid(
    proposal: Proposal,
    user: Any,
    data: BidData,
    files: Iterable[Any] = (),
    remove_ids: Iterable[int] = (),
) -> list[str]:
    """The bidder edits its bid before the deadline; returns files to delete."""
    if not permissions.is_bidder(user, proposal):
        raise StateError("只有申报机构的成员可以修改申报。")
    _refuse_restricted(user)
    challenge, proposal = lock_for_proposal(proposal)
    _require_bidding_open(challenge)
    if proposal.status not in PENDING:
        raise StateError("该申报已不能修改。")
    members = _resolve_members(challenge, proposal.org, data.members)
    remove = set(remove_ids)
    removed = [a for a in proposal.attachments if a.id in remove]
    uploads = _uploads(files)
    if len(proposal.attachments) - len(removed) + len(uploads) > MAX_ATTACHMENTS:
        raise ServiceError(f"附件最多 {MAX_ATTACHMENTS} 个。", "attachments")
    _fill(proposal, data)
    wanted = {org.id for org in members}
    for member in list(proposal.members):
        if member.org_id not in wanted:
            proposal.members.remove(member)
    present = {m.org_id for m in proposal.members}
    for org in members:
        if org.id not in present:
            _invite(proposal, challenge, org)
    for attachment in removed:
        proposal.attachments.remove(attachment)
    _attach(proposal, uploads, user)
    audit.record("proposal_updated", obj=proposal, user=user)
    return [a.stored_name for a in removed]


def withdraw_bid(proposal: Proposal, user: Any) -> None:
    """The bidder takes its bid back before the deadline."""
    if not permissions.is_bidder(user, proposal):
        raise StateError("只有申报机构的成员可以撤回申报。")
    challenge, proposal = lock_for_proposal(proposal)
    _require_bidding_open(challenge)
    move(
        proposal,
        P.WITHDRAWN,
        PROPOSAL_TRANSITIONS,
        action="proposal_withdrawn",
        user=user,
        refusal="该申报已不能撤回。",
    )
    audit.notify_org(
        challenge.org_id,
        f"{proposal.org.name} 撤回了对“{challenge.title[:60]}”的申报。",
        proposal_link(proposal),
    )


def confirm_membership(proposal: Proposal, user: Any, accept: bool) -> None:
    """An invited consortium member confirms or declines taking part."""
    if membership(proposal, user) is None:
        raise StateError("贵机构不是该申报的联合体成员。")
    if accept:
        _refuse_restricted(user)
    challenge, proposal = lock_for_proposal(proposal)
    member = membership(proposal, user)
    if member is None or member.status != MemberStatus.INVITED:
        raise StateError("贵机构已答复过该邀请。")
    if proposal.status not in PENDING:
        raise StateError("该申报已结束，无需再答复。")
    member.status = MemberStatus.CONFIRMED if accept else MemberStatus.DECLINED
    member.answered_at = utcnow()
    audit.record(
        "consortium_confirmed" if accept else "consortium_declined",
        obj=proposal,
        user=user,
        from_state=MemberStatus.INVITED,
        to_state=member.status,
    )
    answer = "确认参加" if accept else "拒绝参加"
    audit.notify_org(
        proposal.org_id,
        f"{user.org.name} {answer}“{challenge.title[:60]}”的联合体申报。",
        proposal_link(proposal),
    )
