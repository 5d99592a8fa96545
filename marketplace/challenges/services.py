"""Challenge verbs: draft, edit, submit, withdraw, close bidding, confidentiality."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, identifiers, permissions
from marketplace.clock import local_today
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.listings import review
from marketplace.listings.states import CHALLENGE_TRANSITIONS, deadline_too_far
from marketplace.models import (
    Challenge,
    ChallengeReveal,
    ChallengeStatus,
    ConfidentialityAcceptance,
    Proposal,
    ProposalStatus,
    Region,
    TechField,
)
from marketplace.money import FEN_PER_WAN, MAX_WAN
from marketplace.workflow import move

MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 20
MAX_BOUNTY_FEN = int(MAX_WAN) * FEN_PER_WAN
# Organisation kinds a poster may open its challenge to, in display order.
BIDDER_KIND_CHOICES = ("university", "institute", "enterprise", "agency")

CONFIDENTIALITY_TERMS = (
    "一、本人代表所在机构承诺，对本榜单的保密内容（包括但不限于工艺参数、技术指标、"
    "生产数据和商业信息）严格保密，仅用于评估和准备本榜单的揭榜方案。\n"
    "二、未经发榜企业书面同意，不以任何方式向第三方披露、复制、传播或公开上述内容，"
    "也不用于本榜单以外的任何目的。\n"
    "三、本人的接受记录及每次查看记录将被平台保存，并向发榜企业公开。\n"
    "四、违反本承诺的，由本人及所在机构依法承担相应责任。"
)

_KEYWORD_SEPARATORS = re.compile(r"[、，,;；\s]+")


def split_keywords(text: str | list[str] | None) -> list[str]:
    """Keywords split on 、，,;； and white space (or given as a list), deduplicated."""
    parts = text if isinstance(text, list) else _KEYWORD_SEPARATORS.split(text or "")
    seen: set[str] = set()
    keywords = []
    for part in parts:
        word = str(part).strip()
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            keywords.append(word)
    return keywords


@dataclass
class ChallengeData:
    """What a poster fills in for a challenge (plain values, money in fen)."""

    title: str
    description: str = ""
    technical_targets: str = ""
    public_summary: str = ""
    confidential_detail: str = ""
    field_code: str | None = None
    region_code: str | None = None
    keywords: list[str] = field(default_factory=list)
    bounty_fen: int | None = None
    deadline: date | None = None
    allowed_bidder_kinds: list[str] = field(default_factory=list)
    consortium_allowed: bool = True
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    anonymous: bool = False
    reveal_to: str = ChallengeReveal.AFTER_TERMS.value


def _field_id(code: str | None) -> int | None:
    if not code:
        return None
    field_id = db.session.scalar(select(TechField.id).where(TechField.code == code))
    if field_id is None:
        raise ServiceError("技术领域无效。", "field")
    return field_id


def _check(data: ChallengeData) -> None:
    # The form checks all of this too; the service must hold on its own for
    # imports, the API and anyone who bypasses the form.
    title = data.title.strip()
    if not title:
        raise ServiceError("请填写需求名称。", "title")
    if len(title) > 200:
        raise ServiceError("需求名称不能超过 200 个字。", "title")
    if data.bounty_fen is not None and not 0 <= data.bounty_fen <= MAX_BOUNTY_FEN:
        raise ServiceError("榜额须在 0 至 10,000,000 万元之间。", "bounty")
    if data.deadline is not None and data.deadline < local_today():
        raise ServiceError("揭榜截止日期不能早于今天。", "deadline")
    if problem := deadline_too_far(data.deadline):
        raise ServiceError(problem, "deadline")
    unknown = set(data.allowed_bidder_kinds) - set(BIDDER_KIND_CHOICES)
    if unknown:
        raise ServiceError("可揭榜机构类型无效。", "allowed_bidder_kinds")
    if len(data.keywords) > MAX_KEYWORDS:
        raise ServiceError(f"关键词最多 {MAX_KEYWORDS} 个。", "keywords")
    if any(len(k) > MAX_KEYWORD_LENGTH for k in data.keywords):
        raise ServiceError(
            f"每个关键词不能超过 {MAX_KEYWORD_LENGTH} 个字。", "keywords"
        )
    if data.region_code and db.session.get(Region, data.region_code) is None:
        raise ServiceError("所属县区无效。", "region")
    if (data.reveal_to or ChallengeReveal.AFTER_TERMS) not in set(ChallengeReveal):
        raise ServiceError("公开发榜企业名称的时机无效。", "reveal_to")


def _apply(challenge: Challenge, data: ChallengeData) -> None:
    _check(data)
    challenge.field_id = _field_id(data.field_code)
    challenge.title = data.title.strip()
    challenge.description = data.description.strip()
    challenge.technical_targets = data.technical_targets.strip()
    challenge.public_summary = data.public_summary.strip()
    challenge.confidential_detail = data.confidential_detail.strip()
    challenge.region_code = data.region_code or None
    challenge.keywords = split_keywords(data.keywords)
    challenge.bounty_fen = data.bounty_fen
    challenge.deadline = data.deadline
    # Keep the display order stable whatever order the boxes were ticked in.
    challenge.allowed_bidder_kinds = [
        k for k in BIDDER_KIND_CHOICES if k in set(data.allowed_bidder_kinds)
    ]
    challenge.consortium_allowed = bool(data.consortium_allowed)
    challenge.contact_name = data.contact_name.strip()
    challenge.contact_phone = identifiers.check_phone(data.contact_phone)
    challenge.contact_email = data.contact_email.strip()
    challenge.anonymous = bool(data.anonymous)
    challenge.reveal_to = ChallengeReveal(data.reveal_to or ChallengeReveal.AFTER_TERMS)


def preview(data: ChallengeData) -> Challenge:
    """A checked, unsaved challenge holding `data` (to compare with a stored one)."""
    draft = Challenge()
    _apply(draft, data)
    return draft


# --- verbs ---------------------------------------------------------------------


def create_challenge(user: Any, data: ChallengeData) -> Challenge:
    """An enterprise member saves a new draft (no verification needed to draft)."""
    if not permissions.can_post_challenge(user):
        raise StateError("只有企业用户可以发布技术需求。")
    challenge = Challenge(
        org_id=user.org_id, created_by_id=user.id, status=ChallengeStatus.DRAFT
    )
    _apply(challenge, data)
    db.session.add(challenge)
    db.session.flush()
    audit.record(
        "challenge_created", obj=challenge, user=user, to_state=ChallengeStatus.DRAFT
    )
    return challenge


def update_challenge(challenge: Challenge, user: Any, data: ChallengeData) -> None:
    """The owner changes a draft or a rejected challenge."""
    if not permissions.can_edit(user, challenge):
        raise StateError("只有发布企业的成员可以在草稿或退回状态下修改。")
    _apply(challenge, data)
    audit.record(
        "challenge_updated",
        obj=challenge,
        user=user,
        from_state=challenge.status,
        to_state=challenge.status,
    )


def submit_challenge(challenge: Challenge, user: Any) -> None:
    """Send a draft (or a fixed rejected challenge) to the bureau for review."""
    review.submit_for_review(challenge, user)


def _notify_bidders(challenge: Challenge, message: str) -> None:
    bidders = db.session.scalars(
        select(Proposal.org_id).where(
            Proposal.challenge_id == challenge.id,
            Proposal.status != ProposalStatus.WITHDRAWN,
        )
    ).all()
    for org_id in set(bidders):
        audit.notify_org(
            org_id, f"{message}：{challenge.title[:80]}", review.listing_link(challenge)
        )


def withdraw_challenge(challenge: Challenge, user: Any, note: str = "") -> None:
    """The owner takes a challenge off the market; live bidders are told."""
    review.withdraw(challenge, user, note=note.strip())
    _notify_bidders(challenge, "发榜企业已撤回该技术需求")


def has_live_proposals(challenge: Challenge) -> bool:
    """Whether any bid on the challenge is still in play."""
    return (
        db.session.scalar(
            select(Proposal.id)
            .where(
                Proposal.challenge_id == challenge.id,
                Proposal.status != ProposalStatus.WITHDRAWN,
            )
            .limit(1)
        )
        is not None
    )


def close_bidding_early(challenge: Challenge, user: Any) -> None:
    """The owner ends bidding before the deadline and starts evaluating the bids."""
    if not permissions.can_decide_proposals(user, challenge):
        raise StateError("只有发布企业的成员可以提前截止揭榜。")
    if challenge.status != ChallengeStatus.OPEN:
        raise StateError("只有揭榜中的需求可以提前截止。")
    if not has_live_proposals(challenge):
        raise StateError("尚无揭榜申报，不能提前截止；如不再需要可撤回该需求。")
    move(
        challenge,
        ChallengeStatus.EVALUATING,
        CHALLENGE_TRANSITIONS,
        action="challenge_bidding_closed",
        user=user,
    )
    _notify_bidders(challenge, "揭榜已提前截止，进入评审")


# --- confidentiality -------------------------------------------------------------


def accept_terms(challenge: Challenge, user: Any) -> bool:
    """Record the user's acceptance of the terms once; False if already accepted."""
    if not permissions.may_accept_terms(user, challenge):
        raise StateError("只有已认证机构（发榜企业以外）的成员可以接受保密承诺。")
    if permissions.has_accepted_terms(user, challenge):
        return False
    try:
        # Two clicks at once: the unique constraint lets only one row in.
        with db.session.begin_nested():
            db.session.add(
                ConfidentialityAcceptance(
                    challenge_id=challenge.id, user_id=user.id, org_id=user.org_id
                )
            )
    except IntegrityError:
        return False
    audit.record("confidentiality_accepted", obj=challenge, user=user)
    return True
