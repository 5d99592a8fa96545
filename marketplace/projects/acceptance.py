"""Mid-term checks (中期检查) and final acceptance (结题验收) by the bureau.

A project has at most one of each. A mid-term check is optional, but checks do
not overlap: the final acceptance waits until a scheduled mid-term check has a
conclusion, and no mid-term check is scheduled once the final one is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, permissions
from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    AcceptanceConclusion,
    AcceptanceKind,
    PanelPurpose,
    PanelStatus,
    Project,
    ProjectStatus,
    ReviewPanel,
)
from marketplace.projects.services import (
    ACCEPTANCE_KIND_LABELS,
    CONCLUSION_LABELS,
    close_project,
    lock_project,
    lock_row,
    notify_parties,
    require_running,
)

C = AcceptanceConclusion
MAX_REPORT = 20_000


def panel_for(acceptance: Acceptance) -> ReviewPanel | None:
    """The newest expert panel formed for this check, if any."""
    return db.session.scalar(
        select(ReviewPanel)
        .where(
            ReviewPanel.acceptance_id == acceptance.id,
            ReviewPanel.purpose == PanelPurpose(acceptance.kind.value),
        )
        .order_by(ReviewPanel.id.desc())
        .limit(1)
    )


def completed_panel(acceptance: Acceptance) -> ReviewPanel | None:
    """A completed expert panel for this check, if any."""
    return db.session.scalar(
        select(ReviewPanel)
        .where(
            ReviewPanel.acceptance_id == acceptance.id,
            ReviewPanel.purpose == PanelPurpose(acceptance.kind.value),
            ReviewPanel.status == PanelStatus.COMPLETED,
        )
        .order_by(ReviewPanel.id.desc())
        .limit(1)
    )


def acceptance_of(project: Project, kind: AcceptanceKind) -> Acceptance | None:
    """The project's check of this kind, if scheduled."""
    return db.session.scalar(
        select(Acceptance).where(
            Acceptance.project_id == project.id, Acceptance.kind == kind
        )
    )


def _kind(value: Any) -> AcceptanceKind:
    try:
        return AcceptanceKind(value)
    except ValueError:
        raise ServiceError("请选择验收类型。", "kind") from None


def schedule_acceptance(
    project: Project,
    user: Any,
    kind: Any,
    scheduled_on: date | None,
    *,
    now: datetime | None = None,
) -> Acceptance:
    """The bureau schedules the mid-term check or the final acceptance."""
    if not permissions.can_manage_acceptance(user):
        raise StateError("只有科技局可以安排验收。")
    kind = _kind(kind)
    label = ACCEPTANCE_KIND_LABELS[kind.value]
    if not isinstance(scheduled_on, date):
        raise ServiceError("请填写验收日期。", "scheduled_on")
    if scheduled_on < local_today(now):
        raise ServiceError("验收日期不能早于今天。", "scheduled_on")
    project = lock_project(project)
    require_running(project)
    if acceptance_of(project, kind) is not None:
        raise StateError(f"本项目已安排过{label}。")
    midterm = acceptance_of(project, AcceptanceKind.MIDTERM)
    if kind == AcceptanceKind.FINAL and midterm and midterm.conclusion is None:
        raise StateError("中期检查尚未形成结论，不能安排结题验收。")
    if kind == AcceptanceKind.MIDTERM and acceptance_of(project, AcceptanceKind.FINAL):
        raise StateError("已安排结题验收，不能再安排中期检查。")
    acceptance = Acceptance(
        project_id=project.id,
        kind=kind,
        scheduled_on=scheduled_on,
        scheduled_by_id=user.id,
        created_at=now or utcnow(),
    )
    try:
        # (project_id, kind) is unique: the database decides between two clicks.
        with db.session.begin_nested():
            db.session.add(acceptance)
            db.session.flush()
    except IntegrityError:
        raise StateError(f"本项目已安排过{label}。") from None
    audit.record(
        "acceptance_scheduled",
        obj=acceptance,
        user=user,
        note=f"{label}：{scheduled_on:%Y-%m-%d}",
        at=now,
    )
    notify_parties(
        project,
        f"科技局已安排“{project.challenge.title[:50]}”的{label}，"
        f"日期 {scheduled_on:%Y-%m-%d}。",
    )
    return acceptance


def _lock(acceptance: Acceptance) -> Acceptance:
    return lock_row(Acceptance, acceptance.id)


def conclude_acceptance(
    acceptance: Acceptance,
    user: Any,
    conclusion: Any,
    report: str,
    *,
    now: datetime | None = None,
) -> None:
    """The bureau records the expert panel's conclusion and the report."""
    if not permissions.can_manage_acceptance(user):
        raise StateError("只有科技局可以记录验收结论。")
    try:
        conclusion = AcceptanceConclusion(conclusion)
    except ValueError:
        raise ServiceError("请选择验收结论。", "conclusion") from None
    report = (report or "").strip()
    if not report:
        raise ServiceError("请填写验收报告。", "report")
    if len(report) > MAX_REPORT:
        raise ServiceError(f"验收报告不能超过 {MAX_REPORT} 个字。", "report")
    project = lock_project(acceptance.project)
    acceptance = _lock(acceptance)
    label = ACCEPTANCE_KIND_LABELS[acceptance.kind.value]
    if acceptance.conclusion is not None:
        raise StateError(f"该{label}已有结论。")
    require_running(project)
    if local_today(now) < acceptance.scheduled_on:
        raise StateError(
            f"{label}安排在 {acceptance.scheduled_on:%Y-%m-%d}，"
            "当日或之后才能记录结论。"
        )
    if completed_panel(acceptance) is None:
        raise StateError(f"{label}的专家组尚未完成评审，不能记录结论。")
    acceptance.conclusion = conclusion
    acceptance.report = report
    acceptance.concluded_by_id = user.id
    acceptance.concluded_at = now or utcnow()
    verdict = CONCLUSION_LABELS[conclusion.value]
    audit.record(
        "acceptance_concluded",
        obj=acceptance,
        user=user,
        to_state=conclusion,
        note=f"{label}：{verdict}",
        at=now,
    )
    if conclusion == C.FAILED:
        close_project(project, ProjectStatus.FAILED, user, f"{label}不通过", now=now)
    elif acceptance.kind == AcceptanceKind.FINAL:
        done = f"{label}{verdict}"
        close_project(project, ProjectStatus.COMPLETED, user, done, now=now)
    outcome = {
        ProjectStatus.COMPLETED: "项目已结题。",
        ProjectStatus.FAILED: "项目未通过验收。",
    }.get(project.status, "项目继续实施。")
    notify_parties(
        project,
        f"“{project.challenge.title[:50]}”{label}结论：{verdict}。{outcome}",
    )
