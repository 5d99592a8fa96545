"""The access matrix's delivery world: experts, panels, projects, integrity records.

Built by `build_delivery` for tests/access_table.build_world, on enterprise A's
side like the rest of the world (institute A wins, the B organisations are
outsiders). The expert of the "expert" role and four colleagues work for a third
university, free of any conflict with A's challenges.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from marketplace.clock import local_today, utcnow
from marketplace.extensions import db as _db
from marketplace.models import (
    Acceptance,
    AcceptanceConclusion,
    AcceptanceKind,
    ChallengeStatus,
    Deliverable,
    DeliverableFile,
    Exemption,
    ExemptionStatus,
    IntegrityRecord,
    Milestone,
    MilestoneStatus,
    PanelMember,
    PanelPurpose,
    PanelScore,
    PanelStatus,
    Project,
    ProjectStatus,
    ProposalStatus,
    ReviewPanel,
)
from tests.factories import (
    awarded_challenge,
    contract_between,
    make_expert,
    project_for,
)

# Markers looked for in pages: a score comment and an overall opinion that only
# count once every expert has submitted, a deliverable's file and project text.
SCORE_MARK = "MATRIX-SCORE-7315"
OPINION_MARK = "MATRIX-OPINION-2284"
PROJECT_MARK = "MATRIX-PROJECT-5150"
DELIVERABLE_MARK = "MATRIX-DELIVERABLE-3306"
ORG_RECORD_MARK = "MATRIX-INTEGRITY-ORG-4471"
PERSON_RECORD_MARK = "MATRIX-INTEGRITY-PERSON-9902"
FILE_BYTES = b"%PDF-1.4\n% matrix deliverable MATRIX-FILE-6120\n%%EOF\n"
ACCOUNT = (
    "项目组按合同投入八名研究人员和全部约定经费，按期完成样机试制，每月向发榜企业"
    "报告进展，发现温控精度不足时及时报告风险并调整方案，但受现有技术条件所限，"
    "最终指标未能达到要求。"
)
# Experts besides the role's own: two more on its panels, one outside them all,
# one for the bureau to edit and retire, one already retired.
EXPERTS = ("expert2", "expert3", "expert_out", "expert_spare", "expert_retired")


def build_delivery(app, factory, orgs: dict, users: dict, ids: dict) -> None:
    """Add the delivery objects to the world (ids and users are filled in place)."""
    for key in EXPERTS:
        users[key] = factory.user(orgs["expert"])
        ids[f"user:{key}"] = users[key].id
    with app.app_context():
        World(orgs, users, ids).build()
    today = local_today()
    ids["uni_b_email"] = users["uni_b"].email
    ids["ent_b_name"] = orgs["ent_b"].name
    ids["past_date"] = (today - timedelta(days=3)).isoformat()
    ids["future_date"] = (today + timedelta(days=40)).isoformat()


class World:
    """Rows for the delivery rules, written in one app context."""

    def __init__(self, orgs: dict, users: dict, ids: dict):
        self.orgs, self.users, self.ids = orgs, users, ids
        self.ent, self.inst = orgs["ent_a"].id, orgs["inst_a"].id
        self.today = local_today()
        self.serial = 0

    def build(self) -> None:
        """Experts, the bid panel, challenges, contracts, projects and records."""
        ids = self.ids
        experts = {"expert": make_expert(self.users["expert"]).id}
        for key in EXPERTS:
            fields = {}
            if key == "expert_retired":
                fields = {"active": False, "retired_at": utcnow()}
            experts[key] = make_expert(self.users[key], **fields).id
        self.experts = experts
        ids.update(
            expert_profile=experts["expert"],
            expert_profile2=experts["expert2"],
            expert_profile3=experts["expert3"],
            expert_spare=experts["expert_spare"],
            expert_retired=experts["expert_retired"],
            expert_out=experts["expert_out"],
        )
        ids["panel"] = self.bid_panel()
        # expert3's seat, not yet submitted: the one a replacement may give away.
        ids["panel_seat"] = _db.session.scalar(
            select(PanelMember.id).where(
                PanelMember.panel_id == ids["panel"],
                PanelMember.expert_id == experts["expert3"],
            )
        )
        # An evaluating challenge with a bid and no panel yet: /panels/new.
        ids["challenge_eval"], _ = self.challenge(
            "评审中的冷链需求", ChallengeStatus.EVALUATING, ProposalStatus.SUBMITTED
        )
        ids["challenge_awarded"], _ = self.challenge("已揭榜待立项的冷链需求")
        ids["contract_start"] = contract_between(
            self.ent,
            self.inst,
            challenge_id=ids["challenge_awarded"],
            title="立项用技术合同",
        )
        self.contract = contract_between(
            self.ent,
            self.inst,
            title="揭榜项目技术合同",
            amount_fen=900_000_000,
            tech_amount_fen=900_000_000,
        )
        self.projects()
        self.integrity()
        _db.session.commit()

    # --- builders -------------------------------------------------------------

    def challenge(
        self,
        title: str,
        status=ChallengeStatus.AWARDED,
        bid_status=ProposalStatus.SELECTED,
    ) -> tuple[int, int]:
        """An A challenge past its deadline with institute A's bid; both ids."""
        self.serial += 1
        bid = {
            "status": bid_status,
            "submitted_by_id": self.users["inst_a"].id,
            "solution": "院所甲的温控方案",
            "technical_route": "",
            "team": "",
            "price_fen": 40_000_000,
        }
        return awarded_challenge(
            self.ent,
            self.inst,
            bid,
            title=f"{title}（{self.serial}）",
            description="冷链运输中温度波动大，需要高精度温控方案。",
            public_summary="寻求冷链温控技术。",
            keywords=["冷链", "温控"],
            status=status,
            deadline=self.today - timedelta(days=10),
            awarded_at=utcnow() if status == ChallengeStatus.AWARDED else None,
        )

    def member(self, key: str, done: bool, verdict: str = "") -> PanelMember:
        """A seat for an expert; a submitted one carries the opinion marker."""
        if not done:
            return PanelMember(expert_id=self.experts[key])
        return PanelMember(
            expert_id=self.experts[key],
            verdict=verdict,
            comment=f"专家意见 {OPINION_MARK}",
            submitted_at=utcnow() - timedelta(hours=1),
        )

    def panel(self, purpose, challenge_id, members, done=False, **subject) -> int:
        """A panel of these members on the challenge (for a check or exemption)."""
        status = PanelStatus.COMPLETED if done else PanelStatus.SCORING
        panel = ReviewPanel(
            purpose=purpose,
            challenge_id=challenge_id,
            status=status,
            completed_at=utcnow() if done else None,
            formed_by_id=self.users["bureau"].id,
            formed_by_org_id=self.orgs["bureau"].id,
            **subject,
        )
        panel.members = members
        _db.session.add(panel)
        _db.session.flush()
        return panel.id

    def bid_panel(self) -> int:
        """A's open challenge scored by the role's expert and two colleagues.

        expert2 has submitted (scores hidden from the others until all have);
        the role's expert and expert3 have not.
        """
        scored = self.member("expert2", True)
        scored.scores.append(
            PanelScore(
                proposal_id=self.ids["proposal"],
                merit=71,
                feasibility=72,
                team=73,
                price=74,
                comment=f"评语 {SCORE_MARK}",
            )
        )
        members = [self.member("expert", False), scored, self.member("expert3", False)]
        return self.panel(PanelPurpose.PROPOSALS, self.ids["challenge"], members)

    def project(self, key: str, status: ProjectStatus, title: str) -> Project:
        """A project of A's on its own awarded challenge, under the shared contract."""
        challenge_id, bid_id = self.challenge(title)
        closed = status in (ProjectStatus.FAILED, ProjectStatus.COMPLETED)
        project_id = project_for(
            challenge_id,
            self.contract,
            bid_id,
            status=status,
            started_at=None if status == ProjectStatus.PLANNING else utcnow(),
            closed_at=utcnow() if closed else None,
            created_by_id=self.users["ent_a"].id,
        )
        project = _db.session.get(Project, project_id)
        self.ids[key] = project.id
        self.ids[f"challenge_{key}"] = challenge_id
        return project

    def milestone(self, project, key, seq, status=MilestoneStatus.PENDING) -> Milestone:
        """A milestone of 10 万元 due in `seq` months."""
        milestone = Milestone(
            project_id=project.id,
            seq=seq,
            deliverable=f"第{seq}阶段样机",
            description="样机及测试报告",
            due_on=self.today + timedelta(days=30 * seq),
            amount_fen=10_000_000,
            status=status,
            submitted_at=utcnow() if status == MilestoneStatus.SUBMITTED else None,
        )
        _db.session.add(milestone)
        _db.session.flush()
        self.ids[key] = milestone.id
        return milestone

    def acceptance(self, project, kind, conclusion=None) -> Acceptance:
        """A check scheduled for today, concluded when a conclusion is given."""
        item = Acceptance(
            project_id=project.id,
            kind=kind,
            scheduled_on=self.today,
            conclusion=conclusion,
            report="验收报告" if conclusion else "",
            scheduled_by_id=self.users["bureau"].id,
        )
        _db.session.add(item)
        _db.session.flush()
        return item

    def projects(self) -> None:
        """One project per state the project rules need."""
        running = self.project("project", ProjectStatus.RUNNING, PROJECT_MARK)
        self.milestone(running, "milestone_pending", 2)
        submitted = self.milestone(
            running, "milestone_submitted", 1, MilestoneStatus.SUBMITTED
        )
        self.deliverable(submitted)
        # A second submission for the owner to return (the first gets accepted).
        returnable = self.milestone(
            running, "milestone_return", 3, MilestoneStatus.SUBMITTED
        )
        self.deliverable(returnable, with_file=False)
        planning = self.project("project_plan", ProjectStatus.PLANNING, "计划中项目")
        self.milestone(planning, "milestone_plan", 1)
        self.milestone(planning, "milestone_plan_del", 2)
        begin = self.project("project_begin", ProjectStatus.PLANNING, "待实施项目")
        self.milestone(begin, "milestone_begin", 1)
        # A mid-term check whose panel has finished: the bureau concludes it.
        checked = self.project("project_check", ProjectStatus.RUNNING, "中期检查项目")
        check = self.acceptance(checked, AcceptanceKind.MIDTERM)
        self.ids["acceptance"] = check.id
        members = [self.member(k, True, "passed") for k in ("expert2", "expert3")]
        self.panel(
            PanelPurpose.MIDTERM,
            checked.challenge_id,
            members,
            True,
            acceptance_id=check.id,
        )
        # A mid-term check the role's expert has still to give an opinion on.
        review = self.project("project_review", ProjectStatus.RUNNING, "专家检查项目")
        pending = self.acceptance(review, AcceptanceKind.MIDTERM)
        members = [
            self.member("expert", False),
            self.member("expert2", True, "passed"),
            self.member("expert3", False),
        ]
        self.ids["panel_review"] = self.panel(
            PanelPurpose.MIDTERM, review.challenge_id, members, acceptance_id=pending.id
        )
        failed = self.project("project_failed", ProjectStatus.FAILED, "未通过项目")
        self.acceptance(failed, AcceptanceKind.FINAL, AcceptanceConclusion.FAILED)
        # An application whose panel has assessed it: the bureau decides.
        applied = self.project("project_exempt", ProjectStatus.FAILED, "申请免责项目")
        self.acceptance(applied, AcceptanceKind.FINAL, AcceptanceConclusion.FAILED)
        exemption = self.exemption(applied, ExemptionStatus.APPLIED)
        self.ids["exemption"] = exemption.id
        members = [self.member(k, True, "grant") for k in ("expert2", "expert3")]
        self.panel(
            PanelPurpose.EXEMPTION,
            applied.challenge_id,
            members,
            True,
            exemption_id=exemption.id,
        )
        granted = self.project("project_relist", ProjectStatus.FAILED, "已免责项目")
        self.acceptance(granted, AcceptanceKind.FINAL, AcceptanceConclusion.FAILED)
        self.exemption(granted, ExemptionStatus.GRANTED)

    def exemption(self, project, status) -> Exemption:
        """The winner's application, decided by the bureau unless still applied."""
        decided = status != ExemptionStatus.APPLIED
        item = Exemption(
            project_id=project.id,
            diligence_account=ACCOUNT,
            status=status,
            applied_by_id=self.users["inst_a"].id,
            decision_reason="勤勉尽责，予以免责。" if decided else "",
            decided_by_id=self.users["bureau"].id if decided else None,
            decided_at=utcnow() if decided else None,
        )
        _db.session.add(item)
        _db.session.flush()
        return item

    def deliverable(self, milestone: Milestone, with_file: bool = True) -> None:
        """A submission, with one file whose bytes are stored like an upload."""
        from marketplace.proposals.attachments import upload_dir

        submission = Deliverable(
            milestone_id=milestone.id,
            note=f"样机已完成 {DELIVERABLE_MARK}",
            submitted_by_id=self.users["inst_a"].id,
        )
        if not with_file:
            _db.session.add(submission)
            _db.session.flush()
            return
        stored = hashlib.sha256(f"matrix-file-{milestone.id}".encode()).hexdigest()
        item = DeliverableFile(
            original_name="样机测试报告.pdf",
            stored_name=stored[:32],
            content_type="application/pdf",
            size_bytes=len(FILE_BYTES),
            sha256=hashlib.sha256(FILE_BYTES).hexdigest(),
        )
        submission.files.append(item)
        _db.session.add(submission)
        _db.session.flush()
        self.ids["deliverable_file"] = item.id
        (upload_dir() / item.stored_name).write_bytes(FILE_BYTES)

    def integrity(self) -> None:
        """A's org-wide record (its restriction long over) and one on A's user."""
        bureau = self.users["bureau"].id
        org_record = IntegrityRecord(
            org_id=self.ent,
            misconduct_type="false_application",
            facts=f"虚报项目材料 {ORG_RECORD_MARK}",
            decided_on=self.today - timedelta(days=400),
            restricted_until=self.today - timedelta(days=35),
            source_document=f"科监〔2025〕7 号 {ORG_RECORD_MARK}",
            recorded_by_id=bureau,
        )
        person_record = IntegrityRecord(
            org_id=self.ent,
            user_id=self.users["ent_a"].id,
            misconduct_type="plagiarism",
            facts=f"抄袭他人报告 {PERSON_RECORD_MARK}",
            decided_on=self.today - timedelta(days=30),
            restricted_until=None,
            source_document=f"科监〔2026〕3 号 {PERSON_RECORD_MARK}",
            recorded_by_id=bureau,
        )
        _db.session.add_all([org_record, person_record])
        _db.session.flush()
        self.ids["integrity"] = org_record.id
        self.ids["integrity_person"] = person_record.id
