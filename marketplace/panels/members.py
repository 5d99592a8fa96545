"""Changing a panel while it scores: replacing an expert who cannot submit.

An expert retired from the pool, put under an integrity restriction or simply
unavailable would otherwise hold a seat that keeps the panel from completing.
Whoever formed the panel may give the seat to another eligible expert before
that expert has submitted; what was submitted by the others stays as it is.
"""

from __future__ import annotations

from typing import Any

from marketplace import audit, permissions
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    Exemption,
    ExpertProfile,
    PanelMember,
    PanelStatus,
    ReviewPanel,
)
from marketplace.panels.conflicts import conflicted_org_ids, eligibility_problem
from marketplace.panels.rules import PURPOSE_LABELS
from marketplace.panels.sheets import lock_panel, panel_link
from marketplace.views import MAX_ID

MAX_REASON = 500


def project_of(panel: ReviewPanel) -> Any:
    """The project a check or exemption panel is about (None for bid panels)."""
    subject = panel.acceptance_id or panel.exemption_id
    if subject is None:
        return None

    model = Acceptance if panel.acceptance_id else Exemption
    return db.session.get(model, subject).project


def _newcomer(panel: ReviewPanel, expert_id: Any, seated: set[int]) -> ExpertProfile:
    """The expert who takes the seat, if eligible for this panel."""
    expert = None
    is_number = isinstance(expert_id, int) and not isinstance(expert_id, bool)
    if is_number and 1 <= expert_id <= MAX_ID:
        expert = db.session.get(ExpertProfile, expert_id)
    if expert is None or not expert.active:
        raise ServiceError("请选择专家库中在册的专家。", "expert_id")
    if expert.id in seated:
        raise ServiceError(f"{expert.name} 已在本专家组中。", "expert_id")
    conflicts = conflicted_org_ids(panel.challenge, panel.purpose, project_of(panel))
    problem = eligibility_problem(expert, conflicts)
    if problem:
        raise ServiceError(problem, "expert_id")
    return expert


def replace_member(
    panel: ReviewPanel, user: Any, member_id: int, expert_id: Any, reason: str
) -> PanelMember:
    """Give a member's seat, before they submit, to another eligible expert."""
    if not permissions.can_form_panel(user, panel.challenge, panel.purpose):
        raise StateError("只有组建该专家组的一方可以更换专家。")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写更换原因。", "reason")
    if len(reason) > MAX_REASON:
        raise ServiceError(f"更换原因不超过 {MAX_REASON} 字。", "reason")
    panel, members = lock_panel(panel)
    if panel.status != PanelStatus.SCORING:
        raise StateError("该专家组的评审已结束，不能更换专家。")
    leaving = next((m for m in members if m.id == member_id), None)
    if leaving is None:
        raise StateError("该专家不在本专家组中。")
    if leaving.submitted_at is not None:
        raise StateError(f"{leaving.expert.name} 已提交评审意见，不能更换。")
    expert = _newcomer(panel, expert_id, {m.expert_id for m in members})
    old = leaving.expert
    db.session.delete(leaving)
    seat = PanelMember(panel_id=panel.id, expert_id=expert.id, expert=expert)
    db.session.add(seat)
    db.session.flush()
    audit.record(
        "panel_member_replaced",
        obj=panel,
        user=user,
        note=f"{old.name} → {expert.name}：{reason}",
    )
    label = PURPOSE_LABELS[panel.purpose]
    title = panel.challenge.title[:60]
    audit.notify(
        [expert.user],
        f"您已被选为“{title}”{label}的评审专家，请在线提交评审意见。",
        panel_link(panel),
    )
    audit.notify([old.user], f"您已不再担任“{title}”{label}的评审专家。", "")
    return seat
