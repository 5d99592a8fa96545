"""What panel members submit: a scoring sheet, or a verdict with reasons."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from marketplace import audit, permissions
from marketplace.clock import utcnow
from marketplace.contracts.services import bureau_staff
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    PanelMember,
    PanelPurpose,
    PanelScore,
    PanelStatus,
    ReviewPanel,
)
from marketplace.panels.conflicts import expert_restricted, live_proposals
from marketplace.panels.rules import (
    PANEL_TRANSITIONS,
    PURPOSE_LABELS,
    check_comment,
    check_scores,
    verdict_labels,
)
from marketplace.workflow import move


def panel_link(panel: ReviewPanel) -> str:
    """The panel's page, for notifications."""
    return f"/panels/{panel.id}"


def lock_panel(panel: ReviewPanel) -> tuple[ReviewPanel, list[PanelMember]]:
    """Lock the panel row and reload its members, so the last submission sees all."""
    panel = db.session.execute(
        select(ReviewPanel)
        .where(ReviewPanel.id == panel.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    members = db.session.scalars(
        select(PanelMember)
        .where(PanelMember.panel_id == panel.id)
        .order_by(PanelMember.id)
        .execution_options(populate_existing=True)
    ).all()
    return panel, list(members)


def _open_seat(
    member: PanelMember, user: Any, purpose_ok: bool, wrong_kind: str
) -> tuple[ReviewPanel, PanelMember, list[PanelMember]]:
    if not permissions.is_logged_in(user) or member.expert.user_id != user.id:
        raise StateError("只有该评审专家本人可以提交评审意见。")
    panel, members = lock_panel(member.panel)
    member = next(m for m in members if m.id == member.id)
    if not purpose_ok:
        raise StateError(wrong_kind)
    if panel.status != PanelStatus.SCORING:
        raise StateError("该专家组的评审已结束。")
    if member.submitted_at is not None:
        raise StateError("您已提交过评审意见，不能再修改。")
    if expert_restricted(member.expert):
        raise StateError("您处于科研诚信限制期内，不能提交评审意见。")
    return panel, member, members


def _finish(
    panel: ReviewPanel, members: list[PanelMember], user: Any, now: datetime | None
) -> None:
    if any(m.submitted_at is None for m in members):
        return
    move(
        panel,
        PanelStatus.COMPLETED,
        PANEL_TRANSITIONS,
        action="panel_completed",
        user=user,
        at=now,
    )
    panel.completed_at = now or utcnow()
    message = (
        f"“{panel.challenge.title[:60]}”{PURPOSE_LABELS[panel.purpose]}"
        "专家组已全部提交评审意见。"
    )
    if panel.purpose == PanelPurpose.PROPOSALS:
        audit.notify_org(panel.challenge.org_id, message, panel_link(panel))
        if panel.formed_by_org_id == panel.challenge.org_id:
            return
    audit.notify(bureau_staff(), message, panel_link(panel))


def submit_scores(
    member: PanelMember,
    user: Any,
    scores: Mapping[int, Mapping[str, Any]],
    comments: Mapping[int, str] | None = None,
    overall_comment: str = "",
    *,
    now: datetime | None = None,
) -> None:
    """An expert submits their sheet: every live bid scored on every criterion."""
    panel, member, members = _open_seat(
        member,
        user,
        member.panel.purpose == PanelPurpose.PROPOSALS,
        "该专家组不打分，请提交评审意见。",
    )
    bids = live_proposals(panel.challenge)
    checked = check_scores(scores, [b.id for b in bids], panel.max_score)
    comments = dict(comments or {})
    for bid_id, text in comments.items():
        comments[bid_id] = check_comment(text, f"c{bid_id}", required=False)
    overall = check_comment(overall_comment, "overall", required=True)
    for bid in bids:
        member.scores.append(
            PanelScore(
                proposal_id=bid.id,
                comment=comments.get(bid.id, ""),
                **checked[bid.id],
            )
        )
    member.comment, member.submitted_at = overall, now or utcnow()
    audit.record(
        "panel_scores_submitted", obj=panel, user=user, note=member.expert.name, at=now
    )
    _finish(panel, members, user, now)


def submit_opinion(
    member: PanelMember,
    user: Any,
    verdict: str,
    comment: str,
    *,
    now: datetime | None = None,
) -> None:
    """An expert on a check, acceptance or exemption panel gives a verdict."""
    panel, member, members = _open_seat(
        member,
        user,
        member.panel.purpose != PanelPurpose.PROPOSALS,
        "该专家组按评分表打分，请提交评分。",
    )
    if verdict not in verdict_labels(panel.purpose):
        raise ServiceError("请选择评审结论。", "verdict")
    member.comment = check_comment(comment, "comment", required=True)
    member.verdict, member.submitted_at = verdict, now or utcnow()
    audit.record(
        "panel_opinion_submitted",
        obj=panel,
        user=user,
        to_state=verdict,
        note=member.expert.name,
        at=now,
    )
    _finish(panel, members, user, now)
