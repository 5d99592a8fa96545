"""Read-only challenge queries: the list, the owner's records and the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from marketplace import glossary, permissions
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.files.services import FileAction
from marketplace.listings import expiry
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    ConfidentialityAcceptance,
    ConfidentialView,
    Organisation,
    Proposal,
    Result,
    TechField,
    User,
)
from marketplace.models.proposal import (
    PROPOSAL_STATUS_LABELS,
)
from marketplace.ndas.services import NdaAction

SOON_DAYS = 14


def acceptances(challenge: Challenge) -> list[tuple[Any, ...]]:
    """(acceptance, user, organisation) rows, newest first."""
    return list(
        db.session.execute(
            select(ConfidentialityAcceptance, User, Organisation)
            .join(User, User.id == ConfidentialityAcceptance.user_id)
            .join(Organisation, Organisation.id == ConfidentialityAcceptance.org_id)
            .where(ConfidentialityAcceptance.challenge_id == challenge.id)
            .order_by(
                ConfidentialityAcceptance.accepted_at.desc(),
                ConfidentialityAcceptance.id.desc(),
            )
        )
    )


def confidential_views(
    challenge: Challenge | Result, limit: int = 200
) -> tuple[int, list[tuple[Any, ...]]]:
    """How many views there were, and the newest (view, user, organisation) rows.

    Serves a result's confidential tier too (its views carry `result_id`).
    """
    of_listing = (
        ConfidentialView.challenge_id == challenge.id
        if isinstance(challenge, Challenge)
        else ConfidentialView.result_id == challenge.id
    )
    total = db.session.scalar(select(func.count(ConfidentialView.id)).where(of_listing))
    rows = db.session.execute(
        select(ConfidentialView, User, Organisation)
        .join(User, User.id == ConfidentialView.user_id)
        .join(Organisation, Organisation.id == ConfidentialView.org_id)
        .where(of_listing)
        .order_by(ConfidentialView.viewed_at.desc(), ConfidentialView.id.desc())
        .limit(limit)
    )
    return total or 0, list(rows)


# --- timeline ----------------------------------------------------------------------


class ChallengeAction(glossary.Action):
    """What the challenge and bid verbs record (shown on the challenge timeline)."""

    CHALLENGE_CREATED = "challenge_created", "创建草稿"
    CHALLENGE_UPDATED = "challenge_updated", "修改内容"
    CHALLENGE_SUBMITTED = "challenge_submitted", "提交审核"
    CHALLENGE_APPROVED = "challenge_approved", "审核通过并发布"
    CHALLENGE_REJECTED = "challenge_rejected", "审核退回"
    CHALLENGE_WITHDRAWN = "challenge_withdrawn", "撤回"
    CHALLENGE_DEADLINE_PASSED = "challenge_deadline_passed", "揭榜截止（系统自动处理）"
    CHALLENGE_BIDDING_CLOSED = "challenge_bidding_closed", "提前截止揭榜"
    CHALLENGE_DIRECT_AWARDED = "challenge_direct_awarded", "定向委托"
    CHALLENGE_AWARDED = "challenge_awarded", "确定中选方"
    CHALLENGE_CONTRACTED = "challenge_contracted", "技术合同已登记"
    CONFIDENTIALITY_ACCEPTED = "confidentiality_accepted", "接受保密承诺"
    CHALLENGE_REVISED = "challenge_revised", "修改已发布内容（文字，已生效）"
    CHALLENGE_CHANGE_SUBMITTED = (
        "challenge_change_submitted",
        "提交重要修改，待科技局审核",
    )
    CHALLENGE_CHANGE_APPROVED = "challenge_change_approved", "重要修改审核通过，已生效"
    CHALLENGE_CHANGE_REJECTED = "challenge_change_rejected", "重要修改未通过审核"
    CHALLENGE_CHANGE_WITHDRAWN = "challenge_change_withdrawn", "撤回待审核的重要修改"
    PROPOSAL_SUBMITTED = "proposal_submitted", "收到揭榜申报"
    PROPOSAL_UPDATED = "proposal_updated", "揭榜申报修改"
    PROPOSAL_WITHDRAWN = "proposal_withdrawn", "揭榜申报撤回"
    PROPOSAL_SHORTLISTED = "proposal_shortlisted", "揭榜申报入围"
    PROPOSAL_SELECTED = "proposal_selected", "选定揭榜方"
    PROPOSAL_DECLINED = "proposal_declined", "揭榜申报未入选"
    CONSORTIUM_CONFIRMED = "consortium_confirmed", "联合体成员确认参加"
    CONSORTIUM_DECLINED = "consortium_declined", "联合体成员拒绝参加"
    DEAL_OPENED = "deal_opened", "开启撮合项目"


EVENT_LABELS = glossary.labels(
    ChallengeAction,
    NdaAction,
    FileAction.LISTING_FILE_ADDED,
    FileAction.LISTING_FILE_REMOVED,
)
glossary.register_actions(ChallengeAction)
# Proposal states, for the timeline (listing states come from STATUS_LABELS).
PROPOSAL_STATE_LABELS = PROPOSAL_STATUS_LABELS


def timeline(challenge: Challenge, limit: int = 200) -> list[tuple[Any, ...]]:
    """(event, user, org) rows about the challenge and its bids, newest first."""
    bids = select(Proposal.id).where(Proposal.challenge_id == challenge.id)
    query = (
        select(AuditEvent, User, Organisation)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .outerjoin(Organisation, Organisation.id == AuditEvent.org_id)
        .where(
            or_(
                and_(
                    AuditEvent.object_type == Challenge.__tablename__,
                    AuditEvent.object_id == challenge.id,
                ),
                and_(
                    AuditEvent.object_type == Proposal.__tablename__,
                    AuditEvent.object_id.in_(bids),
                ),
            )
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(query))


# --- lists ------------------------------------------------------------------------


@dataclass
class ListQuery:
    """Filters and sort order of the challenge list (already validated)."""

    mine: bool = False
    field_code: str = ""
    region_code: str = ""
    status: str = ""
    min_fen: int | None = None
    max_fen: int | None = None
    soon: bool = False
    sort: str = "newest"


SORTS = {"newest": "最新发布", "deadline": "截止日期最近", "bounty": "榜额最高"}


def list_query(user: Any, q: ListQuery) -> Select:
    """The challenges the list shows: visible ones, public states unless `mine`."""
    query = permissions.visible_challenges(user)
    # Filter by the state a page shows: an open challenge past its deadline is
    # in evaluation or expired even before `flask listings expire` moves it.
    status = expiry.challenge_status_expr()
    if q.mine and permissions.is_logged_in(user):
        query = query.where(Challenge.org_id == user.org_id)
        states = {s.value for s in ChallengeStatus}
    else:
        query = query.where(status.in_(permissions.PUBLIC_CHALLENGE_STATES))
        states = {s.value for s in permissions.PUBLIC_CHALLENGE_STATES}
    if q.status in states:
        query = query.where(status == ChallengeStatus(q.status))
    if q.field_code:
        query = query.join(TechField, TechField.id == Challenge.field_id).where(
            TechField.code == q.field_code
        )
    if q.region_code:
        query = query.where(Challenge.region_code == q.region_code)
    # A bounty range leaves out 面议 challenges: they have no figure to compare.
    if q.min_fen is not None:
        query = query.where(Challenge.bounty_fen >= q.min_fen)
    if q.max_fen is not None:
        query = query.where(Challenge.bounty_fen <= q.max_fen)
    if q.soon:
        today = local_today()
        query = query.where(
            Challenge.status == ChallengeStatus.OPEN,
            Challenge.deadline.between(today, today + timedelta(days=SOON_DAYS)),
        )
    if q.sort == "deadline":
        order = (
            Challenge.deadline.is_(None),
            Challenge.deadline.asc(),
            Challenge.id.desc(),
        )
    elif q.sort == "bounty":
        order = (
            Challenge.bounty_fen.is_(None),
            Challenge.bounty_fen.desc(),
            Challenge.id.desc(),
        )
    else:
        order = (
            func.coalesce(Challenge.published_at, Challenge.created_at).desc(),
            Challenge.id.desc(),
        )
    return query.order_by(*order)
