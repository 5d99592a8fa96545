"""Milestones: the owner's plan, the winner's deliverables, staged funding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, permissions
from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    ContractStatus,
    Deliverable,
    DeliverableFile,
    Milestone,
    MilestoneStatus,
    Payment,
    Project,
    ProjectStatus,
)
from marketplace.money import FEN_PER_WAN, MAX_WAN, format_wan
from marketplace.projects import agreement
from marketplace.projects.services import (
    CLOSED_STATES,
    PROJECT_TRANSITIONS,
    lock_contract,
    lock_project,
    project_link,
    require_running,
)
from marketplace.proposals import attachments
from marketplace.workflow import move

M = MilestoneStatus
MILESTONE_TRANSITIONS = {
    M.PENDING: frozenset({M.SUBMITTED}),
    M.SUBMITTED: frozenset({M.ACCEPTED, M.RETURNED}),
    M.RETURNED: frozenset({M.SUBMITTED}),
    M.ACCEPTED: frozenset(),
}
DELIVERABLE_STATES = frozenset({M.PENDING, M.RETURNED})
MAX_ATTACHMENTS = 10
MAX_MILESTONES = 20
MAX_AMOUNT_FEN = int(MAX_WAN) * FEN_PER_WAN
OVER_BUDGET = "里程碑金额合计超过悬赏金额。"
PROJECT_OVER = "项目已结束，不能再提交成果。"


@dataclass
class MilestoneData:
    """What the owner types for a milestone: plain values, money in fen."""

    deliverable: str
    description: str
    due_on: date | None
    amount_fen: int | None


# --- the plan ---------------------------------------------------------------------


def _require_planner(project: Project, user: Any) -> Project:
    if not permissions.can_plan_project(user, project):
        raise StateError("只有发榜企业可以制定里程碑计划。")
    project = lock_project(project)
    if project.status != ProjectStatus.PLANNING:
        raise StateError("项目已开始实施，里程碑计划不能再修改。")
    return project


def _check(data: MilestoneData, today: date) -> tuple[str, str]:
    deliverable = (data.deliverable or "").strip()
    if not deliverable:
        raise ServiceError("请填写交付成果。", "deliverable")
    if len(deliverable) > 200:
        raise ServiceError("交付成果不能超过 200 个字。", "deliverable")
    if not isinstance(data.due_on, date):
        raise ServiceError("请填写计划完成日期。", "due_on")
    if data.due_on < today:
        raise ServiceError("计划完成日期不能早于今天。", "due_on")
    amount = data.amount_fen
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ServiceError("请填写拨付金额。", "amount")
    if not 0 <= amount <= MAX_AMOUNT_FEN:
        raise ServiceError("拨付金额不能为负数或过大。", "amount")
    return deliverable, (data.description or "").strip()


def _planned_total(project: Project, without: Milestone | None = None) -> int:
    query = select(func.coalesce(func.sum(Milestone.amount_fen), 0)).where(
        Milestone.project_id == project.id
    )
    if without is not None:
        query = query.where(Milestone.id != without.id)
    return int(db.session.scalar(query))


def add_milestone(
    project: Project, user: Any, data: MilestoneData, *, now: datetime | None = None
) -> Milestone:
    """The owner adds a milestone while planning; amounts stay within the budget."""
    project = _require_planner(project, user)
    deliverable, description = _check(data, local_today(now))
    planned = db.session.scalar(
        select(func.count(Milestone.id)).where(Milestone.project_id == project.id)
    )
    if planned >= MAX_MILESTONES:
        raise ServiceError(f"里程碑最多 {MAX_MILESTONES} 个。")
    if _planned_total(project) + data.amount_fen > project.budget_fen:
        raise ServiceError(OVER_BUDGET, "amount")
    milestone = Milestone(
        seq=planned + 1,
        deliverable=deliverable,
        description=description,
        due_on=data.due_on,
        amount_fen=data.amount_fen,
        status=M.PENDING,
    )
    project.milestones.append(milestone)
    db.session.flush()
    audit.record(
        "milestone_added", obj=milestone, user=user, note=f"第{milestone.seq}期", at=now
    )
    return milestone


def update_milestone(milestone: Milestone, user: Any, data: MilestoneData) -> None:
    """The owner edits a planned milestone."""
    project = _require_planner(milestone.project, user)
    deliverable, description = _check(data, local_today())
    if _planned_total(project, without=milestone) + data.amount_fen > (
        project.budget_fen
    ):
        raise ServiceError(OVER_BUDGET, "amount")
    milestone.deliverable, milestone.description = deliverable, description
    milestone.due_on, milestone.amount_fen = data.due_on, data.amount_fen
    audit.record(
        "milestone_updated", obj=milestone, user=user, note=f"第{milestone.seq}期"
    )


def remove_milestone(milestone: Milestone, user: Any) -> None:
    """The owner removes a planned milestone; the rest are renumbered 1..n."""
    project = _require_planner(milestone.project, user)
    audit.record(
        "milestone_removed",
        object_type=Project.__tablename__,
        object_id=project.id,
        user=user,
        note=f"第{milestone.seq}期：{milestone.deliverable}",
    )
    project.milestones.remove(milestone)
    db.session.flush()
    # One at a time, lowest first, so (project_id, seq) stays unique throughout.
    for number, rest in enumerate(project.milestones, start=1):
        if rest.seq != number:
            rest.seq = number
            db.session.flush()


def begin_delivery(project: Project, user: Any, *, now: datetime | None = None) -> None:
    """The owner ends planning once the winner agreed to the plan as it stands."""
    project = _require_planner(project, user)
    if not project.milestones:
        raise StateError("请至少制定一个里程碑后再开始实施。")
    agreement.require_agreement(project)
    move(
        project,
        ProjectStatus.RUNNING,
        PROJECT_TRANSITIONS,
        action="project_running",
        user=user,
        note=f"{len(project.milestones)} 个里程碑",
        at=now,
    )
    project.started_at = now or utcnow()
    audit.notify_org(
        project.winner_org_id,
        f"“{project.challenge.title[:60]}”的里程碑计划已确定，项目开始实施。",
        project_link(project),
    )


# --- deliverables -----------------------------------------------------------------


def _uploads(files: Iterable[Any] | None) -> list[Any]:
    return [f for f in files or [] if f and getattr(f, "filename", "")]


def submit_deliverable(
    milestone: Milestone,
    user: Any,
    note: str,
    files: Iterable[Any] = (),
    *,
    now: datetime | None = None,
) -> Deliverable:
    """The winner submits a milestone's deliverable with a note and attachments."""
    if not permissions.can_deliver(user, milestone.project):
        raise StateError("只有中选方可以提交成果。")
    project = lock_project(milestone.project)
    if project.status in CLOSED_STATES:
        raise StateError(PROJECT_OVER)
    require_running(project)
    db.session.refresh(milestone)
    if milestone.status not in DELIVERABLE_STATES:
        raise StateError("该里程碑已提交或已验收，不能重复提交。")
    note = (note or "").strip()
    if not note:
        raise ServiceError("请填写成果说明。", "note")
    uploads = _uploads(files)
    if len(uploads) > MAX_ATTACHMENTS:
        raise ServiceError(f"附件最多 {MAX_ATTACHMENTS} 个。", "attachments")
    stored = attachments.store_all(uploads)
    try:
        deliverable = Deliverable(
            milestone_id=milestone.id,
            note=note,
            submitted_by_id=user.id,
            created_at=now or utcnow(),
        )
        for item in stored:
            deliverable.files.append(
                DeliverableFile(
                    original_name=item.original_name,
                    stored_name=item.stored_name,
                    content_type=item.content_type,
                    size_bytes=item.size_bytes,
                    sha256=item.sha256,
                )
            )
        milestone.submissions.append(deliverable)
        move(
            milestone,
            M.SUBMITTED,
            MILESTONE_TRANSITIONS,
            action="milestone_submitted",
            user=user,
            note=f"第{milestone.seq}期",
            at=now,
        )
        milestone.submitted_at = now or utcnow()
        db.session.flush()
    except BaseException:
        # The files must not outlive rows that will never be committed.
        attachments.discard(s.stored_name for s in stored)
        raise
    audit.notify_org(
        project.owner_org_id,
        f"中选方提交了第{milestone.seq}期成果，请验收：{milestone.deliverable[:60]}",
        project_link(project),
    )
    return deliverable


def stored_names(deliverable: Deliverable | None) -> list[str]:
    """The files of a deliverable on disk (for discarding after a failed commit)."""
    return [f.stored_name for f in deliverable.files] if deliverable else []


# --- acceptance of a milestone by the owner ------------------------------------------


def _require_acceptor(milestone: Milestone, user: Any) -> Project:
    if not permissions.can_plan_project(user, milestone.project):
        raise StateError("只有发榜企业可以验收里程碑。")
    project = lock_project(milestone.project)
    require_running(project)
    db.session.refresh(milestone)
    return project


def _release(project: Project, milestone: Milestone, user: Any, now) -> None:
    amount = milestone.amount_fen
    contract = lock_contract(project.contract_id)
    if contract.status == ContractStatus.REJECTED:
        raise StateError("项目的技术合同已被退回，无法拨付资金。")
    if contract.status == ContractStatus.CANCELLED:
        raise StateError("项目的技术合同登记已注销，无法拨付资金。")
    if project.released_fen + amount > project.budget_fen:
        raise ServiceError("拨付金额合计不能超过悬赏金额。")
    if contract.paid_fen + amount > contract.amount_fen:
        # The way out: a payment entered by hand on the contract can be reversed.
        raise ServiceError(
            "拨付金额合计不能超过技术合同成交额：合同已到账"
            f" {format_wan(contract.paid_fen)}，"
            f"成交额 {format_wan(contract.amount_fen)}。"
            "如合同上有误登的收款，请登记该笔收款的人或科技局在合同页冲销后再验收。"
        )
    payment = Payment(
        contract_id=contract.id,
        received_on=local_today(now),
        amount_fen=amount,
        note=f"第{milestone.seq}期里程碑验收拨付",
        recorded_by_id=user.id,
        created_at=now or utcnow(),
    )
    try:
        # The CHECKs on both rows are the last word should the code above be wrong.
        with db.session.begin_nested():
            contract.paid_fen += amount
            project.released_fen += amount
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:
        raise ServiceError("拨付金额超过了可拨付的余额。") from None
    milestone.payment_id = payment.id
    audit.record("payment_recorded", obj=contract, user=user, note=str(amount), at=now)
    audit.record(
        "milestone_funds_released",
        obj=project,
        user=user,
        note=f"第{milestone.seq}期：{format_wan(amount)}",
        at=now,
    )


def accept_milestone(
    milestone: Milestone, user: Any, *, now: datetime | None = None
) -> None:
    """The owner accepts a submitted deliverable and releases its amount."""
    project = _require_acceptor(milestone, user)
    move(
        milestone,
        M.ACCEPTED,
        MILESTONE_TRANSITIONS,
        action="milestone_accepted",
        user=user,
        note=f"第{milestone.seq}期",
        refusal="只有待验收的里程碑可以验收。",
        at=now,
    )
    milestone.accepted_at = now or utcnow()
    if milestone.amount_fen > 0:
        _release(project, milestone, user, now)
    audit.notify_org(
        project.winner_org_id,
        f"第{milestone.seq}期成果已通过验收：{milestone.deliverable[:60]}",
        project_link(project),
    )


def return_milestone(
    milestone: Milestone, user: Any, comment: str, *, now: datetime | None = None
) -> None:
    """The owner returns a submitted deliverable for rework, saying why."""
    comment = (comment or "").strip()
    if not comment:
        raise ServiceError("请填写退回意见。", "comment")
    project = _require_acceptor(milestone, user)
    move(
        milestone,
        M.RETURNED,
        MILESTONE_TRANSITIONS,
        action="milestone_returned",
        user=user,
        note=comment,
        refusal="只有待验收的里程碑可以退回。",
        at=now,
    )
    milestone.return_comment = comment[:5000]
    milestone.times_returned += 1
    audit.notify_org(
        project.winner_org_id,
        f"第{milestone.seq}期成果被退回修改：{comment[:100]}",
        project_link(project),
    )
