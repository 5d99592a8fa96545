"""Figures of 揭榜挂帅 delivery for the bureau: projects, checks, panels, integrity.

Each figure counts its rows on one date, so the dashboard's range stays meaningful:
projects by the day they were started (立项), milestones by the day they were
accepted, checks by their scheduled day, exemptions by the day of application,
panels by the day they were formed and integrity records by the decision date.
Figures about today (overdue milestones, submissions still awaited, restrictions
in force) count every row whatever the range. `None` as start or end means open.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import selectinload

from marketplace.clock import local_day_start, local_today
from marketplace.extensions import db
from marketplace.models import (
    MISCONDUCT_TYPES,
    Acceptance,
    AcceptanceConclusion,
    AcceptanceKind,
    Exemption,
    ExemptionStatus,
    ExpertProfile,
    IntegrityRecord,
    Milestone,
    MilestoneStatus,
    Organisation,
    PanelMember,
    PanelStatus,
    Project,
    ProjectStatus,
    ReviewPanel,
    User,
)
from marketplace.models.project import (
    ACCEPTANCE_KIND_LABELS,
    CONCLUSION_LABELS,
    PROJECT_STATUS_LABELS,
)

STAGE_LABELS = PROJECT_STATUS_LABELS
KIND_LABELS = ACCEPTANCE_KIND_LABELS
# "applied" counts every application; the other figures are states.
EXEMPTION_LABELS = {
    "applied": "免责申请",
    "granted": ExemptionStatus.GRANTED.label,
    "refused": ExemptionStatus.REFUSED.label,
    "pending": ExemptionStatus.APPLIED.label,
}


def _int(value) -> int:
    return int(value or 0)


def _pct(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def _moments(column, start: date | None, end: date | None) -> list:
    """Conditions putting a timestamp column within local dates [start, end]."""
    conditions = []
    # Bound in UTC: SQLite drops the zone of a bound value and stores UTC wall time.
    if start is not None:
        conditions.append(column >= local_day_start(start))
    if end is not None:
        conditions.append(column < local_day_start(end + timedelta(days=1)))
    return conditions


def _days(column, start: date | None, end: date | None) -> list:
    """Conditions putting a date column within [start, end]."""
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return conditions


def projects_by_stage(start: date | None = None, end: date | None = None) -> dict:
    """Projects started in the range by stage, with bounties and money released."""
    query = (
        select(
            Project.status,
            func.count(Project.id),
            func.sum(Project.budget_fen),
            func.sum(Project.released_fen),
        )
        .where(*_moments(Project.created_at, start, end))
        .group_by(Project.status)
    )
    found = {
        ProjectStatus(status): (int(count), _int(budget), _int(released))
        for status, count, budget, released in db.session.execute(query)
    }
    rows = []
    for stage, label in STAGE_LABELS.items():
        count, budget, released = found.get(stage, (0, 0, 0))
        rows.append(
            {
                "key": stage.value,
                "label": label,
                "count": count,
                "budget_fen": budget,
                "released_fen": released,
                "released_pct": _pct(released, budget),
            }
        )
    total = {"key": "total", "label": "合计"}
    for name in ("count", "budget_fen", "released_fen"):
        total[name] = sum(row[name] for row in rows)
    total["released_pct"] = _pct(total["released_fen"], total["budget_fen"])
    return {"rows": rows, "total": total}


def overdue_milestones(today: date | None = None) -> int:
    """Milestones of running projects past their due date and not accepted."""
    return _int(
        db.session.scalar(
            select(func.count(Milestone.id))
            .join(Project, Project.id == Milestone.project_id)
            .where(
                Project.status == ProjectStatus.RUNNING,
                Milestone.status != MilestoneStatus.ACCEPTED,
                Milestone.due_on < (today or local_today()),
            )
        )
    )


def milestone_timeliness(
    start: date | None = None, end: date | None = None, today: date | None = None
) -> dict:
    """Milestones accepted in the range, on time or late; overdue ones today."""
    accepted = db.session.scalars(
        select(Milestone)
        .options(selectinload(Milestone.submissions))
        .where(
            Milestone.status == MilestoneStatus.ACCEPTED,
            *_moments(Milestone.accepted_at, start, end),
        )
    ).all()
    # Milestone.on_time is the rule the project pages show: first submission
    # on or before the due date.
    on_time = sum(1 for m in accepted if m.on_time)
    late = sum(1 for m in accepted if m.on_time is False)
    return {
        "accepted": on_time + late,
        "on_time": on_time,
        "late": late,
        "on_time_pct": _pct(on_time, on_time + late),
        "overdue": overdue_milestones(today),
    }


def acceptance_outcomes(start: date | None = None, end: date | None = None) -> dict:
    """Checks scheduled in the range, by kind and conclusion (pending: none yet)."""
    query = (
        select(Acceptance.kind, Acceptance.conclusion, func.count(Acceptance.id))
        .where(*_days(Acceptance.scheduled_on, start, end))
        .group_by(Acceptance.kind, Acceptance.conclusion)
    )
    keys = [c.value for c in CONCLUSION_LABELS] + ["pending"]
    rows = {
        kind: {"key": kind.value, "label": label, **dict.fromkeys(keys, 0)}
        for kind, label in KIND_LABELS.items()
    }
    for kind, conclusion, count in db.session.execute(query):
        key = AcceptanceConclusion(conclusion).value if conclusion else "pending"
        rows[AcceptanceKind(kind)][key] += int(count)
    ordered = list(rows.values())
    for row in ordered:
        row["total"] = sum(row[k] for k in keys)
    total = {"key": "total", "label": "合计"}
    for name in [*keys, "total"]:
        total[name] = sum(row[name] for row in ordered)
    return {"rows": ordered, "total": total}


def exemption_counts(start: date | None = None, end: date | None = None) -> dict:
    """Exemption applications made in the range: granted, refused, undecided."""
    query = (
        select(Exemption.status, func.count(Exemption.id))
        .where(*_moments(Exemption.created_at, start, end))
        .group_by(Exemption.status)
    )
    found = {ExemptionStatus(s): int(n) for s, n in db.session.execute(query)}
    granted = found.get(ExemptionStatus.GRANTED, 0)
    refused = found.get(ExemptionStatus.REFUSED, 0)
    pending = found.get(ExemptionStatus.APPLIED, 0)
    return {
        "applied": granted + refused + pending,
        "granted": granted,
        "refused": refused,
        "pending": pending,
        "granted_pct": _pct(granted, granted + refused),
    }


def panel_workload(start: date | None = None, end: date | None = None) -> list[dict]:
    """Per expert: panels formed in the range sat on and completed; pending today."""
    in_range = and_(true(), *_moments(ReviewPanel.created_at, start, end))
    completed = ReviewPanel.status == PanelStatus.COMPLETED
    pending = and_(
        ReviewPanel.status == PanelStatus.SCORING, PanelMember.submitted_at.is_(None)
    )
    query = (
        select(
            ExpertProfile.id,
            User.name,
            User.email,
            Organisation.name,
            ExpertProfile.title,
            ExpertProfile.active,
            func.sum(case((in_range, 1), else_=0)),
            func.sum(case((and_(in_range, completed), 1), else_=0)),
            func.sum(case((pending, 1), else_=0)),
        )
        .select_from(PanelMember)
        .join(ReviewPanel, ReviewPanel.id == PanelMember.panel_id)
        .join(ExpertProfile, ExpertProfile.id == PanelMember.expert_id)
        .join(User, User.id == ExpertProfile.user_id)
        .join(Organisation, Organisation.id == ExpertProfile.org_id)
        .group_by(
            ExpertProfile.id,
            User.name,
            User.email,
            Organisation.name,
            ExpertProfile.title,
            ExpertProfile.active,
        )
    )
    rows = []
    for (
        expert_id,
        name,
        email,
        org,
        title,
        active,
        sat,
        done,
        waiting,
    ) in db.session.execute(query):
        if not (_int(sat) or _int(waiting)):
            continue
        rows.append(
            {
                "key": str(expert_id),
                "label": name or email,
                "org": org,
                "title": title,
                "active": bool(active),
                "panels": _int(sat),
                "completed": _int(done),
                "pending": _int(waiting),
            }
        )
    rows.sort(key=lambda r: (-r["panels"], -r["pending"], r["label"], r["key"]))
    return rows


def integrity_summary(
    start: date | None = None, end: date | None = None, today: date | None = None
) -> dict:
    """Records decided in the range by misconduct type; restrictions in force today."""
    today = today or local_today()
    in_force = and_(
        IntegrityRecord.revoked_at.is_(None),
        IntegrityRecord.restricted_until.is_not(None),
        IntegrityRecord.decided_on <= today,
        IntegrityRecord.restricted_until >= today,
    )
    in_range = and_(true(), *_days(IntegrityRecord.decided_on, start, end))
    query = select(
        IntegrityRecord.misconduct_type,
        func.sum(case((in_range, 1), else_=0)),
        func.sum(case((in_force, 1), else_=0)),
    ).group_by(IntegrityRecord.misconduct_type)
    found = {kind: (_int(n), _int(f)) for kind, n, f in db.session.execute(query)}
    labels = dict(MISCONDUCT_TYPES)
    labels.update({k: k for k in sorted(found) if k not in labels})
    rows = [
        {"key": key, "label": label, "count": found[key][0], "in_force": found[key][1]}
        for key, label in labels.items()
        if key in found and any(found[key])
    ]
    total = {
        "key": "total",
        "label": "合计",
        "count": sum(r["count"] for r in rows),
        "in_force": sum(r["in_force"] for r in rows),
    }
    return {"rows": rows, "total": total, "today": today}


def dashboard(start: date | None, end: date | None) -> dict:
    """Every delivery figure of the range, for the dashboard."""
    today = local_today()
    return {
        "stages": projects_by_stage(start, end),
        "milestones": milestone_timeliness(start, end, today),
        "acceptances": acceptance_outcomes(start, end),
        "exemptions": exemption_counts(start, end),
        "workload": panel_workload(start, end),
        "integrity": integrity_summary(start, end, today),
    }


def money_chart(stages: dict) -> dict:
    """Bounties against money released per stage, in the dashboard chart's shape."""
    rows = stages["rows"]
    return {
        "labels": [r["label"] for r in rows],
        "amount": [r["budget_fen"] for r in rows],
        "tech": [r["released_fen"] for r in rows],
        "names": ["项目经费（万元）", "已拨付（万元）"],
    }
