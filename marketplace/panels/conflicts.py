"""Who may not sit on a panel: parties to the challenge and restricted people."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    AcceptanceConclusion,
    Challenge,
    ExpertProfile,
    PanelMember,
    PanelPurpose,
    Project,
    Proposal,
    ProposalKind,
    ProposalStatus,
    ReviewPanel,
)

FAILED_PANEL_REASON = "曾任本项目未通过验收的专家组成员，不参与容错免责评估"


class Conflicts(dict[int, str]):
    """Conflicted organisations by id, and `experts` barred in person, with why."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.experts: dict[int, str] = {}


def live_proposals(challenge: Challenge) -> list[Proposal]:
    """The challenge's bids that have not been withdrawn, oldest first."""
    return list(
        db.session.scalars(
            select(Proposal)
            .where(
                Proposal.challenge_id == challenge.id,
                Proposal.kind == ProposalKind.BID,
                Proposal.status != ProposalStatus.WITHDRAWN,
            )
            .order_by(Proposal.created_at, Proposal.id)
        )
    )


def project_of(challenge: Challenge) -> Project | None:
    """The project delivering an awarded challenge, if one was started."""
    return db.session.scalar(
        select(Project).where(Project.challenge_id == challenge.id)
    )


def failed_panel_experts(project: Project) -> set[int]:
    """Experts who sat on a panel of the project's checks that concluded 不通过."""
    return set(
        db.session.scalars(
            select(PanelMember.expert_id)
            .join(ReviewPanel, ReviewPanel.id == PanelMember.panel_id)
            .join(Acceptance, Acceptance.id == ReviewPanel.acceptance_id)
            .where(
                Acceptance.project_id == project.id,
                Acceptance.conclusion == AcceptanceConclusion.FAILED,
            )
        )
    )


def conflicted_org_ids(
    challenge: Challenge, purpose: str, project: Project | None = None
) -> Conflicts:
    """Organisations whose people may not sit on the panel, with the reason.

    For an exemption panel, `experts` also bars everyone who sat on the panel of
    the project's failed check: they would judge their own verdict again.
    """
    conflicts = Conflicts({challenge.org_id: f"发榜单位“{challenge.org.name}”"})
    if PanelPurpose(purpose) == PanelPurpose.PROPOSALS:
        bids = live_proposals(challenge)
        label = "申报单位"
    else:
        project = project or project_of(challenge)
        bids = [project.proposal] if project is not None else []
        bids += [
            p for p in live_proposals(challenge) if p.status == ProposalStatus.SELECTED
        ]
        label = "承担单位"
        if project is not None and PanelPurpose(purpose) == PanelPurpose.EXEMPTION:
            for expert_id in failed_panel_experts(project):
                conflicts.experts[expert_id] = FAILED_PANEL_REASON
    for bid in bids:
        conflicts.setdefault(bid.org_id, f"{label}“{bid.org.name}”")
    for bid in bids:
        for member in bid.members:
            conflicts.setdefault(
                member.org_id,
                f"“{bid.org.name}”申报的联合体成员“{member.org.name}”",
            )
    return conflicts


def expert_conflict(expert: ExpertProfile, conflicts: Mapping[int, str]) -> str:
    """Why the expert may not sit on the panel for a conflict ("" if none)."""
    barred = getattr(conflicts, "experts", {})
    if expert.id in barred:
        return barred[expert.id]
    # The recorded affiliation decides; the login's organisation is checked too in
    # case the two have drifted apart.
    for org_id in (expert.org_id, expert.user.org_id):
        if org_id in conflicts:
            return f"利益冲突 — 任职于{conflicts[org_id]}"
    return ""


def expert_restricted(expert: ExpertProfile) -> bool:
    """Whether an integrity restriction bars the expert from panels."""
    return bool(
        permissions.active_restrictions(expert.user)
        or permissions.org_restricted(expert.org_id)
    )


def eligibility_problem(expert: ExpertProfile, conflicts: Mapping[int, str]) -> str:
    """Why the expert may not be seated on the panel ("" when they may)."""
    reason = expert_conflict(expert, conflicts)
    if reason:
        return f"{expert.name} 不能担任评审专家：{reason}。"
    if expert_restricted(expert):
        return f"{expert.name} 处于科研诚信限制期内，不能担任评审专家。"
    return ""
