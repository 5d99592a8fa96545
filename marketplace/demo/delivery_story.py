"""One demo project for demo_delivery, acted out through the project verbs.

Every step calls the verb a user would trigger (start, plan, agree, submit,
accept, return, checks, panels, exemption) with `now` set to a moment counted
in days after the contract's signing, so the rows, the payments under the
contract and the audit events read as lived. Nothing here commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from marketplace import audit
from marketplace.clock import local_moment
from marketplace.demo.funnel_steps import Desk
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    Challenge,
    Contract,
    Exemption,
    Milestone,
    Organisation,
    PanelMember,
    PanelPurpose,
    PanelStatus,
    Proposal,
    ReviewPanel,
    User,
)
from marketplace.panels.conflicts import conflicted_org_ids
from marketplace.panels.services import form_panel, submit_opinion
from marketplace.projects import acceptance as checks
from marketplace.projects import agreement, milestones
from marketplace.projects import exemption as exemptions
from marketplace.projects.services import start_project

WAN = 1_000_000


def log(action: str, obj, user: Any, when: datetime, org_id=None, **kw) -> None:
    """An audit event dated `when`, by the user (None: no user row)."""
    org_id = org_id or getattr(user, "org_id", None)
    audit.record(action, obj=obj, user=user, org_id=org_id, at=when, **kw)


def completed_panel(
    purpose, challenge, experts, formed, done, former, **links
) -> ReviewPanel:
    """A bid panel already completed when the demo runs (the award came first)."""
    # The funnel awards the challenge before the experts exist, and the verb
    # forms a bid panel only before the award: its rows are written here.
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
        log("panel_scores_submitted", panel, member.expert.user, member.submitted_at)
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
    """A project started the day after its contract was signed, told by the verbs."""

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
        self.owner = self._actor(actors, challenge.org)
        self.supplier = self._actor(actors, winner.org)
        self.bureau = bureau
        self.payments = 0
        self.last: datetime = self.at(1)
        self.field_code = challenge.field.code if challenge.field else None
        self.project = start_project(
            challenge, self.owner, contract.id, now=self._now(1)
        )

    @staticmethod
    def _actor(actors: dict[int, User], org: Organisation) -> Any:
        # An organisation without a demo login acts through a stand-in.
        return actors.get(org.id) or Desk(org)

    def day(self, offset: int) -> date:
        """The day `offset` days after signing."""
        return self.signed + timedelta(days=offset)

    def at(self, offset: int, hours: float = 0) -> datetime:
        """A moment of that day."""
        return local_moment(self.day(offset), hours)

    def _now(self, offset: int, hours: float = 0) -> datetime:
        self.last = max(self.last, self.at(offset, hours))
        return self.at(offset, hours)

    def conflicts(self, purpose: PanelPurpose):
        """Who may not assess the project, as the panel verb sees it."""
        return conflicted_org_ids(self.challenge, purpose, self.project)

    def bidders(self) -> set[int]:
        """Every bidder and its members: the demo seats them last on its panels.

        The verb lets a losing bidder assess the winner's work, but it reads
        better when another expert is free.
        """
        return set(conflicted_org_ids(self.challenge, PanelPurpose.PROPOSALS))

    def plan(self, items: list[tuple[str, int, int | None]]) -> list[Milestone]:
        """Plan (text, due day, share % or None: the rest), agree and start, day 1."""
        budget, planned, added = self.project.budget_fen, 0, []
        for text, due, share_pct in items:
            amount = budget - planned
            if share_pct is not None:
                amount = max(WAN, budget * share_pct // 100 // WAN * WAN)
            data = milestones.MilestoneData(text, "", self.day(due), amount)
            added.append(
                milestones.add_milestone(
                    self.project, self.owner, data, now=self._now(1, 3)
                )
            )
            planned += amount
        # The verb refuses a second agreement to the same plan: a project id
        # reused after a reset may find the old one standing in the log.
        if agreement.plan_agreed(self.project) is None:
            agreement.agree_plan(self.project, self.supplier, now=self._now(1, 5))
        milestones.begin_delivery(self.project, self.owner, now=self._now(1, 6))
        return added

    def submit(self, milestone: Milestone, offset: int, hours: float, note: str):
        """The winner submits the deliverable."""
        milestones.submit_deliverable(
            milestone, self.supplier, note, now=self._now(offset, hours)
        )

    def accept(self, milestone: Milestone, offset: int) -> None:
        """The owner accepts; the amount is paid under the contract that day."""
        milestones.accept_milestone(milestone, self.owner, now=self._now(offset, 5))
        self.payments += 1

    def give_back(self, milestone: Milestone, offset: int, comment: str) -> None:
        """The owner returns the deliverable with comments."""
        milestones.return_milestone(
            milestone, self.owner, comment, now=self._now(offset, 6)
        )

    def schedule(self, kind, scheduled: int) -> Acceptance:
        """The bureau schedules a check two days ahead."""
        return checks.schedule_acceptance(
            self.project,
            self.bureau,
            kind,
            self.day(scheduled),
            now=self._now(scheduled - 2, 1),
        )

    def conclude(self, acceptance: Acceptance, concluded: int, conclusion, report):
        """The bureau records the check's conclusion (a failure closes the project)."""
        checks.conclude_acceptance(
            acceptance, self.bureau, conclusion, report, now=self._now(concluded, 6)
        )

    def assess(self, purpose, experts, when, verdicts, comment, **subject) -> None:
        """The bureau forms a panel; its experts give their verdicts one by one."""
        formed, done = when
        panel = form_panel(
            self.bureau,
            self.challenge,
            purpose,
            [e.id for e in experts],
            now=formed,
            **subject,
        )
        step = (done - formed) / len(experts)
        seats = {m.expert_id: m for m in panel.members}
        for i, (expert, verdict) in enumerate(zip(experts, verdicts, strict=True)):
            moment = formed + step * (i + 1)
            submit_opinion(seats[expert.id], expert.user, verdict, comment, now=moment)
            self.last = max(self.last, moment)

    def apply(self, account: str, offset: int) -> Exemption:
        """The winner applies for exemption, that morning."""
        return exemptions.apply_exemption(
            self.project, self.supplier, account, now=self._now(offset)
        )

    def decide(self, exemption: Exemption, reason: str, offset: int) -> None:
        """The bureau grants exemption (免责)."""
        exemptions.decide_exemption(
            exemption, self.bureau, True, reason, now=self._now(offset, 7)
        )

    def finish(self) -> None:
        """Date the project's last change at the story's last step."""
        db.session.flush()
        self.project.updated_at = self.last
