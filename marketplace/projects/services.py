"""Projects (揭榜项目): starting one from an awarded challenge, and shared helpers.

The milestone plan and deliverables live in `milestones`, mid-term and final
acceptance in `acceptance`, failure exemption and re-listing in `exemption`.
Every verb that changes a project first locks its row, so that decisions on one
project run one at a time and each sees the others' results.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, glossary, permissions
from marketplace.clock import utcnow
from marketplace.contracts.services import bureau_staff
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    ContractStatus,
    Deal,
    Exemption,
    ExemptionStatus,
    Project,
    ProjectStatus,
    Proposal,
    ProposalKind,
    ProposalStatus,
)
from marketplace.models.project import (  # noqa: F401 (re-exported)
    ACCEPTANCE_KIND_LABELS,
    CONCLUSION_LABELS,
    EXEMPTION_STATUS_LABELS,
    MILESTONE_STATUS_LABELS,
    PROJECT_STATUS_LABELS,
)
from marketplace.proposals.services import lock_challenge
from marketplace.workflow import move

PS = ProjectStatus
PROJECT_TRANSITIONS = {
    PS.PLANNING: frozenset({PS.RUNNING}),
    PS.RUNNING: frozenset({PS.COMPLETED, PS.FAILED}),
    PS.COMPLETED: frozenset(),
    PS.FAILED: frozenset(),
}
STARTABLE_CHALLENGE_STATES = frozenset(
    {ChallengeStatus.AWARDED, ChallengeStatus.CONTRACTED}
)
# Where the challenge page shows the project box (a project outlives the award).
PROJECT_CHALLENGE_STATES = STARTABLE_CHALLENGE_STATES | {ChallengeStatus.CLOSED}
CLOSED_STATES = frozenset({PS.COMPLETED, PS.FAILED})
NO_CONTRACT = "请先登记本项目的技术合同。"

# The state words live with the enums (marketplace.models.project).
# What panel members recommend (the panels feature stores these codes).
VERDICT_LABELS = {
    **CONCLUSION_LABELS,
    "grant": "建议免责",
    "refuse": "建议不予免责",
}


class ProjectAction(glossary.Action):
    """What the project verbs record."""

    PROJECT_STARTED = "project_started", "立项"
    PROJECT_RUNNING = "project_running", "开始实施"
    PROJECT_COMPLETED = "project_completed", "项目结题"
    PROJECT_FAILED = "project_failed", "项目未通过验收"
    PROJECT_RELISTED = "project_relisted", "重新发榜"
    MILESTONE_ADDED = "milestone_added", "新增里程碑"
    MILESTONE_UPDATED = "milestone_updated", "修改里程碑"
    MILESTONE_REMOVED = "milestone_removed", "删除里程碑"
    MILESTONE_PLAN_AGREED = "milestone_plan_agreed", "揭榜单位同意里程碑计划"
    MILESTONE_SUBMITTED = "milestone_submitted", "提交成果"
    MILESTONE_ACCEPTED = "milestone_accepted", "里程碑验收通过"
    MILESTONE_RETURNED = "milestone_returned", "里程碑退回修改"
    MILESTONE_OVERDUE = "milestone_overdue", "里程碑逾期提醒"
    MILESTONE_FUNDS_RELEASED = "milestone_funds_released", "拨付里程碑资金"
    ACCEPTANCE_SCHEDULED = "acceptance_scheduled", "安排验收"
    ACCEPTANCE_CONCLUDED = "acceptance_concluded", "记录验收结论"
    EXEMPTION_APPLIED = "exemption_applied", "申请容错免责"
    EXEMPTION_GRANTED = "exemption_granted", "认定免责"
    EXEMPTION_REFUSED = "exemption_refused", "不予免责"


ACTION_LABELS = glossary.labels(ProjectAction)
glossary.register_actions(ProjectAction)


def project_link(project: Project) -> str:
    """The project's page, for notifications."""
    return f"/projects/{project.id}"


def lock_row(model: type, row_id: int) -> Any:
    """Reload a row under a lock (FOR UPDATE on PostgreSQL), fresh from the database."""
    # SQLite has no row locks, but BEGIN IMMEDIATE serialises its writers.
    return db.session.execute(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def lock_project(project: Project) -> Project:
    """Reload the project row under a lock."""
    return lock_row(Project, project.id)


def lock_contract(contract_id: int) -> Contract:
    """Reload a contract row under a lock, to change its paid amount."""
    return lock_row(Contract, contract_id)


def notify_parties(project: Project, message: str) -> None:
    """Tell the owner, the winner and the winner's confirmed consortium members."""
    members = permissions.consortium_org_ids(project.proposal_id)
    for org_id in (project.owner_org_id, project.winner_org_id, *members):
        audit.notify_org(org_id, message, project_link(project))


def notify_bureau(project: Project, message: str) -> None:
    """Tell every active member of the bureau."""
    audit.notify(bureau_staff(), message, project_link(project))


def require_running(project: Project) -> None:
    """Refuse unless the project is being delivered."""
    if project.status in CLOSED_STATES:
        raise StateError("项目已结束，不能再进行此操作。")
    if project.status != PS.RUNNING:
        raise StateError("项目尚未开始实施。")


def close_project(
    project: Project,
    to: ProjectStatus,
    user: Any,
    note: str,
    *,
    now: datetime | None = None,
) -> None:
    """Move a running project to completed or failed (at `now`: seed-demo's past)."""
    move(
        project,
        to,
        PROJECT_TRANSITIONS,
        action=f"project_{to.value}",
        user=user,
        note=note,
        refusal="只有实施中的项目可以结题。",
        at=now,
    )
    project.closed_at = now or utcnow()


# --- starting a project ---------------------------------------------------------


def project_of(challenge: Challenge) -> Project | None:
    """The challenge's project, if one was started."""
    return db.session.scalar(
        select(Project).where(Project.challenge_id == challenge.id)
    )


def winner_of(challenge: Challenge) -> Proposal | None:
    """The challenge's selected bid."""
    return db.session.scalar(
        select(Proposal).where(
            Proposal.challenge_id == challenge.id,
            Proposal.kind == ProposalKind.BID,
            Proposal.status == ProposalStatus.SELECTED,
        )
    )


def deal_of(winner: Proposal) -> Deal | None:
    """The deal opened when the winner was selected."""
    return db.session.scalar(select(Deal).where(Deal.proposal_id == winner.id))


def candidate_contracts(challenge: Challenge, winner: Proposal) -> list[Contract]:
    """Contracts for this challenge or its deal between owner and winner."""
    deals = select(Deal.id).where(
        or_(Deal.challenge_id == challenge.id, Deal.proposal_id == winner.id)
    )
    return list(
        db.session.scalars(
            select(Contract)
            .where(
                or_(Contract.challenge_id == challenge.id, Contract.deal_id.in_(deals)),
                Contract.buyer_org_id == challenge.org_id,
                Contract.seller_org_id == winner.org_id,
                Contract.status.not_in(
                    (ContractStatus.REJECTED, ContractStatus.CANCELLED)
                ),
            )
            .order_by(Contract.id)
        )
    )


def _pick_contract(candidates: list[Contract], contract_id: int | None) -> Contract:
    if contract_id is not None:
        chosen = next((c for c in candidates if c.id == contract_id), None)
        if chosen is None:
            raise ServiceError("所选技术合同不是本榜单发榜企业与中选方之间的合同。")
        return chosen
    if not candidates:
        raise ServiceError(NO_CONTRACT)
    if len(candidates) > 1:
        raise ServiceError("本榜单有多份技术合同，请选择本项目适用的一份。", "contract")
    return candidates[0]


def start_project(
    challenge: Challenge,
    user: Any,
    contract_id: int | None = None,
    *,
    now: datetime | None = None,
) -> Project:
    """The owner starts the project of an awarded challenge under its contract."""
    if not permissions.can_start_project(user, challenge):
        raise StateError("只有发榜企业可以立项。")
    challenge = lock_challenge(challenge)
    if challenge.status not in STARTABLE_CHALLENGE_STATES:
        raise StateError("只有已揭榜或已签约的榜单可以立项。")
    if project_of(challenge) is not None:
        raise StateError("该榜单已立项。")
    winner = winner_of(challenge)
    if winner is None:
        raise StateError("该榜单没有中选的申报。")
    contract = _pick_contract(candidate_contracts(challenge, winner), contract_id)
    # Releases never exceed the bounty, and each is paid under the contract: the
    # winning price is often below the bounty, so the budget is the smaller of the
    # bounty (the contract amount when it was 面议) and what the contract can still
    # receive.
    ceiling = (
        challenge.bounty_fen
        if challenge.bounty_fen is not None
        else contract.amount_fen
    )
    budget = min(ceiling, contract.amount_fen - contract.paid_fen)
    if budget <= 0:
        raise ServiceError("项目经费必须大于零：悬赏为零或技术合同已全部收款。")
    project = Project(
        challenge_id=challenge.id,
        proposal_id=winner.id,
        contract_id=contract.id,
        owner_org_id=challenge.org_id,
        winner_org_id=winner.org_id,
        budget_fen=budget,
        released_fen=0,
        status=PS.PLANNING,
        created_by_id=user.id,
    )
    if now is not None:
        project.created_at = project.updated_at = now
    try:
        # One project per challenge: the unique key decides between racing requests.
        with db.session.begin_nested():
            db.session.add(project)
            db.session.flush()
    except IntegrityError:
        raise StateError("该榜单已立项。") from None
    audit.record(
        "project_started", obj=project, user=user, to_state=PS.PLANNING, at=now
    )
    for org_id in (winner.org_id, *permissions.consortium_org_ids(winner.id)):
        audit.notify_org(
            org_id,
            f"“{challenge.title[:60]}”已立项，发榜企业正在制定里程碑计划。",
            project_link(project),
        )
    return project


# --- the delivery record of an organisation --------------------------------------


def delivery_record(org_id: int) -> dict[str, int]:
    """Projects an org delivered: completed, failed (not exempted), exempted."""
    rows = db.session.execute(
        select(Project.status, Exemption.status, func.count(Project.id))
        .outerjoin(Exemption, Exemption.project_id == Project.id)
        .where(
            Project.winner_org_id == org_id,
            Project.status.in_(CLOSED_STATES),
        )
        .group_by(Project.status, Exemption.status)
    ).all()
    record = {"completed": 0, "failed": 0, "exempted": 0}
    for status, exemption, number in rows:
        if status == PS.COMPLETED:
            record["completed"] += number
        elif exemption == ExemptionStatus.GRANTED:
            record["exempted"] += number
        else:
            record["failed"] += number
    return record
