"""Expert review panels: forming them, scoring sheets, opinions and the ranking.

A panel is formed for one challenge: to score its bids (揭榜申报评审), or for a
mid-term check, a final acceptance or a failure exemption of the project that
delivers it. Experts working for a party to the challenge may not sit on it,
nor may anyone under an integrity restriction. Scores stay hidden from the other
experts until every member has submitted; then the panel is complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from marketplace import audit, permissions
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    Challenge,
    Exemption,
    ExemptionStatus,
    ExpertProfile,
    PanelMember,
    PanelPurpose,
    PanelStatus,
    ReviewPanel,
)
from marketplace.panels.candidates import propose_experts
from marketplace.panels.conflicts import (
    conflicted_org_ids,
    eligibility_problem,
    live_proposals,
)
from marketplace.panels.results import ranking
from marketplace.panels.rules import (
    DEFAULT_WEIGHTS,
    MAX_MEMBERS,
    MIN_MEMBERS,
    PURPOSE_LABELS,
    check_weights,
)
from marketplace.panels.sheets import submit_opinion, submit_scores
from marketplace.proposals.services import decision_time, lock_challenge
from marketplace.views import MAX_ID

__all__ = [
    "conflicted_org_ids",
    "existing_panel",
    "form_panel",
    "formation_problem",
    "propose_experts",
    "ranking",
    "submit_opinion",
    "submit_scores",
]
DELIVERY_PURPOSES = frozenset(
    {PanelPurpose.MIDTERM, PanelPurpose.FINAL, PanelPurpose.EXEMPTION}
)


def sheet_link(panel: ReviewPanel) -> str:
    """Where a member submits: the scoring sheet or the opinion form."""
    page = "score" if panel.purpose == PanelPurpose.PROPOSALS else "opinion"
    return f"/panels/{panel.id}/{page}"


def existing_panel(
    challenge: Challenge,
    purpose: str,
    acceptance: Acceptance | None = None,
    exemption: Exemption | None = None,
) -> ReviewPanel | None:
    """The panel already formed for this challenge and purpose (or subject)."""
    panels = db.session.scalars(
        select(ReviewPanel)
        .where(
            ReviewPanel.challenge_id == challenge.id,
            ReviewPanel.purpose == PanelPurpose(purpose),
        )
        .order_by(ReviewPanel.id)
    ).all()
    if panels:
        return panels[0]
    subject = None
    if acceptance is not None:
        subject = ReviewPanel.acceptance_id == acceptance.id
    elif exemption is not None:
        subject = ReviewPanel.exemption_id == exemption.id
    if subject is None:
        return None
    return db.session.scalar(select(ReviewPanel).where(subject).limit(1))


def _purpose(purpose: Any) -> PanelPurpose:
    try:
        return PanelPurpose(purpose)
    except ValueError:
        raise ServiceError("未知的评审类型。") from None


def formation_problem(
    challenge: Challenge,
    purpose: str,
    acceptance: Acceptance | None = None,
    exemption: Exemption | None = None,
) -> str:
    """Why a panel cannot be formed now ("" when it can); no permission check."""
    purpose = PanelPurpose(purpose)
    if purpose == PanelPurpose.PROPOSALS:
        if acceptance is not None or exemption is not None:
            return "揭榜申报评审不针对验收或免责申请。"
        if not decision_time(challenge):
            return "揭榜截止、进入评审阶段后才能组建评审专家组。"
        if not live_proposals(challenge):
            return "该榜单没有有效申报，无需组建评审专家组。"
        return ""
    if purpose == PanelPurpose.EXEMPTION:
        if exemption is None or exemption.project.challenge_id != challenge.id:
            return "请指定该项目的免责申请。"
        if exemption.status != ExemptionStatus.APPLIED:
            return "该免责申请已有决定。"
        return ""
    if acceptance is None or acceptance.project.challenge_id != challenge.id:
        return "请指定该项目的检查或验收。"
    if acceptance.kind.value != purpose.value:
        return "评审类型与检查或验收的类型不符。"
    if acceptance.conclusion is not None:
        return "该检查或验收已有结论。"
    return ""


def _experts(ids: Iterable[Any], conflicts: Mapping[int, str]) -> list[ExpertProfile]:
    ids = list(ids)
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ServiceError("专家选择无效。", "expert_ids")
    if len(set(ids)) != len(ids):
        raise ServiceError("同一位专家不能重复选择。", "expert_ids")
    if len(ids) < MIN_MEMBERS:
        raise ServiceError(f"评审专家组至少需要 {MIN_MEMBERS} 名专家。", "expert_ids")
    if len(ids) > MAX_MEMBERS:
        raise ServiceError(f"评审专家组最多 {MAX_MEMBERS} 名专家。", "expert_ids")
    # Ids beyond an Integer key would make the database raise instead of miss.
    found = {
        e.id: e
        for e in db.session.scalars(
            select(ExpertProfile).where(
                ExpertProfile.id.in_([i for i in ids if 1 <= i <= MAX_ID])
            )
        )
    }
    experts = []
    for expert_id in ids:
        expert = found.get(expert_id)
        if expert is None or not expert.active:
            raise ServiceError(
                f"专家（编号 {expert_id}）不在专家库中或已退出。", "expert_ids"
            )
        problem = eligibility_problem(expert, conflicts)
        if problem:
            raise ServiceError(problem, "expert_ids")
        experts.append(expert)
    return experts


def form_panel(
    user: Any,
    challenge: Challenge,
    purpose: str,
    expert_ids: Iterable[Any],
    weights: dict[str, int] | None = None,
    *,
    acceptance: Acceptance | None = None,
    exemption: Exemption | None = None,
    now: datetime | None = None,
) -> ReviewPanel:
    """Form a panel of at least three experts free of conflicts; notify them."""
    purpose = _purpose(purpose)
    if not permissions.can_form_panel(user, challenge, purpose):
        if purpose == PanelPurpose.PROPOSALS:
            raise StateError("只有发榜企业或科技局可以组建评审专家组。")
        raise StateError("只有科技局可以组建检查、验收和免责评审专家组。")
    # One challenge row lock serialises every panel formed for it.
    challenge = lock_challenge(challenge)
    problem = formation_problem(challenge, purpose, acceptance, exemption)
    if problem:
        raise StateError(problem)
    if existing_panel(challenge, purpose, acceptance, exemption) is not None:
        raise StateError("该事项已组建评审专家组，不能重复组建。")
    weights = check_weights(DEFAULT_WEIGHTS if weights is None else weights)
    project = (
        (acceptance or exemption).project if purpose in DELIVERY_PURPOSES else None
    )
    experts = _experts(expert_ids, conflicted_org_ids(challenge, purpose, project))
    panel = ReviewPanel(
        purpose=purpose,
        challenge_id=challenge.id,
        acceptance_id=acceptance.id if acceptance is not None else None,
        exemption_id=exemption.id if exemption is not None else None,
        status=PanelStatus.SCORING,
        weight_merit=weights["merit"],
        weight_feasibility=weights["feasibility"],
        weight_team=weights["team"],
        weight_price=weights["price"],
        formed_by_id=user.id,
        formed_by_org_id=user.org_id,
        created_at=now or utcnow(),
    )
    panel.members = [
        PanelMember(expert_id=e.id, expert=e, added_at=now or utcnow()) for e in experts
    ]
    db.session.add(panel)
    db.session.flush()
    audit.record(
        "panel_formed",
        obj=panel,
        user=user,
        to_state=PanelStatus.SCORING,
        note=f"{PURPOSE_LABELS[purpose]}：" + "、".join(e.name for e in experts),
        at=now,
    )
    audit.notify(
        [e.user for e in experts],
        f"您已被选为“{challenge.title[:60]}”{PURPOSE_LABELS[purpose]}的评审专家，"
        "请在线提交评审意见。",
        sheet_link(panel),
    )
    return panel
