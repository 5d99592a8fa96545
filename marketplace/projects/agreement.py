"""The winner's agreement to the owner's milestone plan, before the project starts.

No column records it: the agreement is an audit event on the project whose note
carries a fingerprint of the plan as agreed (every milestone's number,
deliverable, description, date and amount). The plan counts as agreed while the
newest agreement's fingerprint matches the plan as it stands, so any change the
owner makes afterwards needs the winner's agreement again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select

from marketplace import audit, permissions
from marketplace.exceptions import StateError
from marketplace.extensions import db
from marketplace.models import AuditEvent, Project, ProjectStatus
from marketplace.money import format_wan
from marketplace.projects.services import lock_project, project_link

ACTION = "milestone_plan_agreed"
MARK = "计划指纹 "


def fingerprint(project: Project) -> str:
    """A short digest of the plan's milestones, in order."""
    digest = hashlib.sha256()
    for m in sorted(project.milestones, key=lambda m: m.seq):
        line = f"{m.seq}|{m.deliverable}|{m.description}|{m.due_on}|{m.amount_fen}"
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()[:16]


def latest_agreement(project: Project) -> AuditEvent | None:
    """The winner's newest agreement to a plan of this project, if any."""
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action == ACTION,
            AuditEvent.object_type == Project.__tablename__,
            AuditEvent.object_id == project.id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def plan_agreed(project: Project) -> AuditEvent | None:
    """The agreement that covers the plan as it stands now (None when none does)."""
    event = latest_agreement(project)
    if event is None or not project.milestones:
        return None
    return event if event.note.endswith(MARK + fingerprint(project)) else None


def agreement_note(project: Project) -> str:
    """What the audit event says: the plan's size, total and fingerprint."""
    total = sum(m.amount_fen for m in project.milestones)
    return (
        f"{len(project.milestones)} 个里程碑，合计 {format_wan(total)}；"
        f"{MARK}{fingerprint(project)}"
    )


def agree_plan(
    project: Project, user: Any, *, now: datetime | None = None
) -> AuditEvent:
    """The winner agrees to the milestone plan as it stands; the owner is told."""
    if not permissions.can_deliver(user, project):
        raise StateError("只有揭榜单位可以确认里程碑计划。")
    project = lock_project(project)
    if project.status != ProjectStatus.PLANNING:
        raise StateError("项目已开始实施，无需再确认计划。")
    db.session.refresh(project, ["milestones"])
    if not project.milestones:
        raise StateError("发榜企业尚未制定里程碑，暂无可确认的计划。")
    if plan_agreed(project) is not None:
        raise StateError("您已同意当前的里程碑计划。")
    note = agreement_note(project)
    event = audit.record(ACTION, obj=project, user=user, note=note, at=now)
    audit.notify_org(
        project.owner_org_id,
        f"揭榜单位已同意“{project.challenge.title[:60]}”的里程碑计划，可以开始实施。",
        project_link(project),
    )
    return event


def require_agreement(project: Project) -> None:
    """Refuse to start a project whose current plan the winner has not agreed to."""
    if plan_agreed(project) is None:
        if latest_agreement(project) is not None:
            raise StateError("里程碑计划在揭榜单位同意后又有修改，需揭榜单位再次同意。")
        raise StateError("揭榜单位尚未同意里程碑计划，不能开始实施。")
