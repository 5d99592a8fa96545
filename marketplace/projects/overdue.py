"""Overdue milestones: marked on the pages, reminded once by a CLI command."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from marketplace import audit
from marketplace.clock import local_today, utcnow
from marketplace.extensions import db
from marketplace.models import Milestone, MilestoneStatus, Project, ProjectStatus
from marketplace.projects.services import notify_bureau, notify_parties

M = MilestoneStatus


def is_overdue(milestone: Milestone, today: date | None = None) -> bool:
    """Past its due date and not yet accepted, in a running project."""
    return (
        milestone.project.status == ProjectStatus.RUNNING
        and milestone.status != M.ACCEPTED
        and milestone.due_on < (today or local_today())
    )


def overdue_projects(project_ids: list[int], today: date | None = None) -> set[int]:
    """Which of these projects have an overdue milestone."""
    if not project_ids:
        return set()
    return set(
        db.session.scalars(
            select(Milestone.project_id)
            .join(Project, Project.id == Milestone.project_id)
            .where(
                Milestone.project_id.in_(project_ids),
                Project.status == ProjectStatus.RUNNING,
                Milestone.status != M.ACCEPTED,
                Milestone.due_on < (today or local_today()),
            )
            .distinct()
        )
    )


def remind_overdue(today: date | None = None) -> int:
    """Notify both sides and the bureau once of each overdue milestone."""
    today = today or local_today()
    overdue = db.session.scalars(
        select(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Project.status == ProjectStatus.RUNNING,
            Milestone.status != M.ACCEPTED,
            Milestone.due_on < today,
            Milestone.overdue_notified_at.is_(None),
        )
        .order_by(Milestone.id)
        .with_for_update(of=Milestone, skip_locked=True)
    ).all()
    for milestone in overdue:
        project = milestone.project
        message = (
            f"“{project.challenge.title[:50]}”第{milestone.seq}期里程碑已逾期"
            f"（计划 {milestone.due_on:%Y-%m-%d} 完成）。"
        )
        notify_parties(project, message)
        notify_bureau(project, message)
        milestone.overdue_notified_at = utcnow()
        audit.record("milestone_overdue", obj=milestone, note=f"第{milestone.seq}期")
    return len(overdue)
