"""Failure exemption (容错免责) and re-listing a failed project on a new route."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, permissions
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Exemption,
    ExemptionStatus,
    PanelPurpose,
    PanelStatus,
    Project,
    ProjectStatus,
    ReviewPanel,
)
from marketplace.projects.services import (
    lock_project,
    lock_row,
    notify_bureau,
    project_link,
)
from marketplace.workflow import move

E = ExemptionStatus
EXEMPTION_TRANSITIONS = {
    E.APPLIED: frozenset({E.GRANTED, E.REFUSED}),
    E.GRANTED: frozenset(),
    E.REFUSED: frozenset(),
}
MIN_ACCOUNT = 50
MAX_TEXT = 20_000
RELIST_SUFFIX = "（新技术路线）"
RELIST_NOTE = (
    "【重新发榜说明】本需求曾以揭榜挂帅方式立项，原技术路线经验收未能实现目标，"
    "承担单位经科技局认定予以容错免责。现重新发榜，征集不同的技术路线。"
)


def panel_for(exemption: Exemption) -> ReviewPanel | None:
    """The newest expert panel formed to assess this application, if any."""
    return db.session.scalar(
        select(ReviewPanel)
        .where(
            ReviewPanel.exemption_id == exemption.id,
            ReviewPanel.purpose == PanelPurpose.EXEMPTION,
        )
        .order_by(ReviewPanel.id.desc())
        .limit(1)
    )


def _completed_panel(exemption: Exemption) -> ReviewPanel | None:
    return db.session.scalar(
        select(ReviewPanel)
        .where(
            ReviewPanel.exemption_id == exemption.id,
            ReviewPanel.purpose == PanelPurpose.EXEMPTION,
            ReviewPanel.status == PanelStatus.COMPLETED,
        )
        .limit(1)
    )


def apply_exemption(
    project: Project, user: Any, account: str, *, now: datetime | None = None
) -> Exemption:
    """The winner of a failed project applies, once, with an account of diligence."""
    if not permissions.can_deliver(user, project):
        raise StateError("只有项目承担单位可以申请容错免责。")
    account = (account or "").strip()
    if len(account) < MIN_ACCOUNT:
        raise ServiceError(
            f"请如实说明勤勉尽责的情况，不少于 {MIN_ACCOUNT} 个字。", "account"
        )
    if len(account) > MAX_TEXT:
        raise ServiceError(f"说明不能超过 {MAX_TEXT} 个字。", "account")
    project = lock_project(project)
    if project.status != ProjectStatus.FAILED:
        raise StateError("只有未通过验收的项目可以申请容错免责。")
    if project.exemption is not None:
        raise StateError("本项目已申请过容错免责。")
    exemption = Exemption(
        project_id=project.id,
        diligence_account=account,
        status=E.APPLIED,
        applied_by_id=user.id,
        created_at=now or utcnow(),
    )
    try:
        # One application per project: the unique key decides between two clicks.
        with db.session.begin_nested():
            db.session.add(exemption)
            db.session.flush()
    except IntegrityError:
        raise StateError("本项目已申请过容错免责。") from None
    audit.record(
        "exemption_applied", obj=exemption, user=user, to_state=E.APPLIED, at=now
    )
    notify_bureau(
        project, f"“{project.challenge.title[:50]}”的承担单位申请容错免责，请组织认定。"
    )
    audit.notify_org(
        project.owner_org_id,
        f"“{project.challenge.title[:50]}”的承担单位已申请容错免责。",
        project_link(project),
    )
    return exemption


def _lock(exemption: Exemption) -> Exemption:
    return lock_row(Exemption, exemption.id)


def decide_exemption(
    exemption: Exemption,
    user: Any,
    granted: bool,
    reason: str,
    *,
    now: datetime | None = None,
) -> None:
    """The bureau grants (免责) or refuses (不予免责) after the panel's assessment."""
    if not permissions.can_manage_acceptance(user):
        raise StateError("只有科技局可以作出容错免责认定。")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写认定理由。", "reason")
    if len(reason) > MAX_TEXT:
        raise ServiceError(f"认定理由不能超过 {MAX_TEXT} 个字。", "reason")
    exemption = _lock(exemption)
    if exemption.status != E.APPLIED:
        raise StateError("该申请已有认定结论。")
    if _completed_panel(exemption) is None:
        raise StateError("容错免责专家组尚未完成评估，不能作出认定。")
    to = E.GRANTED if granted else E.REFUSED
    move(
        exemption,
        to,
        EXEMPTION_TRANSITIONS,
        action=f"exemption_{to.value}",
        user=user,
        note=reason,
        refusal="该申请已有认定结论。",
        at=now,
    )
    exemption.decision_reason = reason
    exemption.decided_by_id = user.id
    exemption.decided_at = now or utcnow()
    project = exemption.project
    verdict = "予以免责" if granted else "不予免责"
    message = f"“{project.challenge.title[:50]}”容错免责认定：{verdict}。{reason[:80]}"
    audit.notify_org(project.winner_org_id, message, project_link(project))
    audit.notify_org(project.owner_org_id, message, project_link(project))


def relist(project: Project, user: Any) -> Challenge:
    """The owner re-lists an exempted failure as a new draft for another route."""
    if not permissions.can_plan_project(user, project):
        raise StateError("只有发榜企业可以重新发榜。")
    project = lock_project(project)
    if project.relisted_challenge_id is not None:
        raise StateError("本项目已重新发榜。")
    if not permissions.can_relist_project(user, project):
        raise StateError("只有经认定免责的未通过项目可以重新发榜。")
    old = project.challenge
    description = "\n\n".join(part for part in (old.description, RELIST_NOTE) if part)
    challenge = Challenge(
        org_id=project.owner_org_id,
        created_by_id=user.id,
        status=ChallengeStatus.DRAFT,
        title=old.title[: 200 - len(RELIST_SUFFIX)] + RELIST_SUFFIX,
        public_summary=old.public_summary,
        description=description,
        technical_targets=old.technical_targets,
        field_id=old.field_id,
        region_code=old.region_code,
        bounty_fen=old.bounty_fen,
        allowed_bidder_kinds=list(old.allowed_bidder_kinds or []),
        consortium_allowed=old.consortium_allowed,
        keywords=list(old.keywords or []),
        contact_name=old.contact_name,
        contact_phone=old.contact_phone,
        contact_email=old.contact_email,
    )
    db.session.add(challenge)
    db.session.flush()
    project.relisted_challenge_id = challenge.id
    audit.record(
        "challenge_created",
        obj=challenge,
        user=user,
        to_state=ChallengeStatus.DRAFT,
        note=f"由项目 #{project.id} 重新发榜",
    )
    audit.record(
        "project_relisted", obj=project, user=user, note=f"新需求 #{challenge.id}"
    )
    return challenge
