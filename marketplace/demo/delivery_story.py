"""One demo project's rows for demo_delivery, dated by days after its signing.

Each step leaves the rows as the project services would (statuses, amounts,
payment under the contract, timestamps) and an audit event at the same moment,
so the project page's history reads as lived. Nothing here commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from marketplace import audit
from marketplace.clock import local_moment
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    Challenge,
    Contract,
    Deliverable,
    Exemption,
    ExemptionStatus,
    Milestone,
    MilestoneStatus,
    PanelMember,
    PanelPurpose,
    PanelStatus,
    Payment,
    Project,
    ProjectStatus,
    Proposal,
    ReviewPanel,
    User,
)
from marketplace.money import format_wan
from marketplace.panels.conflicts import conflicted_org_ids
from marketplace.projects.services import close_project

WAN = 1_000_000
MS = MilestoneStatus


def log(action: str, obj, user: Any, when: datetime, org_id=None, **kw) -> None:
    """An audit event dated `when`, by the user (None: no user row)."""
    org_id = org_id or getattr(user, "org_id", None)
    audit.record(action, obj=obj, user=user, org_id=org_id, **kw).created_at = when


def completed_panel(
    purpose, challenge, experts, formed, done, former, **links
) -> ReviewPanel:
    """A completed panel whose members submitted one after another."""
    panel = ReviewPanel(
        purpose=purpose,
        challenge_id=challenge.id,
        status=PanelStatus.COMPLETED,
        formed_by_id=former.id,
        formed_by_org_id=former.org_id,
        created_at=formed,
        updated_at=done,
        completed_at=done,
        **links,
    )
    step = (done - formed) / len(experts)
    for i, expert in enumerate(experts, start=1):
        panel.members.append(
            PanelMember(
                expert_id=expert.id, added_at=formed, submitted_at=formed + step * i
            )
        )
    db.session.add(panel)
    db.session.flush()
    log("panel_formed", panel, former, formed, to_state=PanelStatus.SCORING)
    for member in panel.members:
        action = "panel_scores_submitted"
        if purpose != PanelPurpose.PROPOSALS:
            action = "panel_opinion_submitted"
        log(action, panel, member.expert.user, member.submitted_at)
    log(
        "panel_completed",
        panel,
        None,
        done,
        former.org_id,
        from_state=PanelStatus.SCORING,
        to_state=PanelStatus.COMPLETED,
    )
    return panel


class Story:
    """A running project started the day after its contract was signed."""

    def __init__(
        self,
        challenge: Challenge,
        winner: Proposal,
        contract: Contract,
        actors: dict[int, User],
        bureau: User,
    ):
        self.challenge, self.winner, self.contract = challenge, winner, contract
        self.signed = contract.signed_on
        self.owner = actors.get(challenge.org_id)
        self.supplier = actors.get(winner.org_id)
        self.bureau = bureau
        self.payments = 0
        self.field_code = challenge.field.code if challenge.field else None
        left = contract.amount_fen - contract.paid_fen
        # The bounty, unless the contract has less left to pay (never overpaid).
        budget = min(challenge.bounty_fen or contract.amount_fen, left)
        self.project = Project(
            challenge_id=challenge.id,
            proposal_id=winner.id,
            contract_id=contract.id,
            owner_org_id=challenge.org_id,
            winner_org_id=winner.org_id,
            budget_fen=budget,
            released_fen=0,
            status=ProjectStatus.RUNNING,
            created_by_id=self._id(self.owner),
            created_at=self.at(1),
            started_at=self.at(1, 6),
            updated_at=self.at(1, 6),
        )
        db.session.add(self.project)
        db.session.flush()
        org = challenge.org_id
        log(
            "project_started",
            self.project,
            self.owner,
            self.at(1),
            org,
            to_state=ProjectStatus.PLANNING,
        )
        log(
            "project_running",
            self.project,
            self.owner,
            self.at(1, 6),
            org,
            from_state=ProjectStatus.PLANNING,
            to_state=ProjectStatus.RUNNING,
        )

    @staticmethod
    def _id(user: User | None) -> int | None:
        return user.id if user is not None else None

    def day(self, offset: int) -> date:
        """The day `offset` days after signing."""
        return self.signed + timedelta(days=offset)

    def at(self, offset: int, hours: float = 0) -> datetime:
        """A moment of that day."""
        return local_moment(self.day(offset), hours)

    def conflicts(self) -> set[int]:
        """Who may not assess the project: the owner and every bidder, with members.

        Stricter than the parties alone: a losing bidder judging the winner's work
        would be a conflict too.
        """
        bidders = conflicted_org_ids(self.challenge, PanelPurpose.PROPOSALS)
        return {self.project.owner_org_id, self.project.winner_org_id, *bidders}

    def milestone(self, seq: int, text: str, due: int, share_pct=None) -> Milestone:
        """A planned milestone releasing a share of the budget (the rest if None)."""
        budget = self.project.budget_fen
        amount = budget - sum(m.amount_fen for m in self.project.milestones)
        if share_pct is not None:
            amount = max(WAN, budget * share_pct // 100 // WAN * WAN)
        milestone = Milestone(
            seq=seq,
            deliverable=text,
            due_on=self.day(due),
            amount_fen=amount,
            status=MS.PENDING,
        )
        self.project.milestones.append(milestone)
        db.session.flush()
        log(
            "milestone_added",
            milestone,
            self.owner,
            self.at(1, 3),
            self.project.owner_org_id,
            note=f"第{seq}期",
        )
        return milestone

    def submit(self, milestone: Milestone, offset: int, hours: float, note: str):
        """The winner submits the deliverable."""
        moment = self.at(offset, hours)
        milestone.submissions.append(
            Deliverable(
                note=note, created_at=moment, submitted_by_id=self._id(self.supplier)
            )
        )
        milestone.status, milestone.submitted_at = MS.SUBMITTED, moment
        log(
            "milestone_submitted",
            milestone,
            self.supplier,
            moment,
            self.project.winner_org_id,
            to_state=MS.SUBMITTED,
        )

    def accept(self, milestone: Milestone, offset: int) -> None:
        """The owner accepts; the amount is paid under the contract that day."""
        moment, amount = self.at(offset, 5), milestone.amount_fen
        payment = Payment(
            contract_id=self.contract.id,
            received_on=self.day(offset),
            amount_fen=amount,
            note=f"第{milestone.seq}期里程碑验收拨付",
            recorded_by_id=self._id(self.owner),
            created_at=moment,
        )
        db.session.add(payment)
        self.contract.paid_fen += amount
        self.project.released_fen += amount
        db.session.flush()
        milestone.status, milestone.accepted_at = MS.ACCEPTED, moment
        milestone.payment_id = payment.id
        self.payments += 1
        org = self.project.owner_org_id
        log(
            "milestone_accepted",
            milestone,
            self.owner,
            moment,
            org,
            from_state=MS.SUBMITTED,
            to_state=MS.ACCEPTED,
        )
        log(
            "payment_recorded", self.contract, self.owner, moment, org, note=str(amount)
        )
        log(
            "milestone_funds_released",
            self.project,
            self.owner,
            moment,
            org,
            note=f"第{milestone.seq}期：{format_wan(amount)}",
        )

    def give_back(self, milestone: Milestone, offset: int, comment: str) -> None:
        """The owner returns the deliverable with comments."""
        moment = self.at(offset, 6)
        milestone.status, milestone.return_comment = MS.RETURNED, comment
        milestone.times_returned += 1
        log(
            "milestone_returned",
            milestone,
            self.owner,
            moment,
            self.project.owner_org_id,
            from_state=MS.SUBMITTED,
            to_state=MS.RETURNED,
            note=comment,
        )

    def check(self, kind, scheduled: int, concluded: int, conclusion, report):
        """A check the bureau scheduled two days ahead and concluded."""
        acceptance = Acceptance(
            project_id=self.project.id,
            kind=kind,
            scheduled_on=self.day(scheduled),
            conclusion=conclusion,
            report=report,
            scheduled_by_id=self.bureau.id,
            concluded_by_id=self.bureau.id,
            concluded_at=self.at(concluded, 6),
            created_at=self.at(scheduled - 2, 1),
        )
        db.session.add(acceptance)
        db.session.flush()
        log("acceptance_scheduled", acceptance, self.bureau, acceptance.created_at)
        log(
            "acceptance_concluded",
            acceptance,
            self.bureau,
            acceptance.concluded_at,
            to_state=conclusion,
            note=report[:200],
        )
        return acceptance

    def close(self, status: ProjectStatus, when: datetime) -> None:
        """The bureau closes the project as completed or failed."""
        close_project(self.project, status, self.bureau, "", now=when)
        self.project.updated_at = when

    def exemption(self, account: str, offset: int) -> Exemption:
        """The winner applies for exemption, that morning."""
        exemption = Exemption(
            project_id=self.project.id,
            diligence_account=account,
            status=ExemptionStatus.APPLIED,
            applied_by_id=self._id(self.supplier),
            created_at=self.at(offset),
        )
        db.session.add(exemption)
        db.session.flush()
        log(
            "exemption_applied",
            exemption,
            self.supplier,
            exemption.created_at,
            self.project.winner_org_id,
            to_state=ExemptionStatus.APPLIED,
        )
        return exemption

    def decide(self, exemption: Exemption, status, reason: str, when) -> None:
        """The bureau decides: 免责 or 不予免责."""
        exemption.status, exemption.decision_reason = status, reason
        exemption.decided_by_id, exemption.decided_at = self.bureau.id, when
        log(
            f"exemption_{status.value}",
            exemption,
            self.bureau,
            when,
            from_state=ExemptionStatus.APPLIED,
            to_state=status,
            note=reason,
        )
