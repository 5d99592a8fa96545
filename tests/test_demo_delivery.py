"""seed-demo's 揭榜挂帅 delivery: experts, panels, two projects, an integrity record."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace import demo, glossary, permissions
from marketplace.admin.audit_log import OBJECT_LABELS
from marketplace.clock import local_today
from marketplace.extensions import db as _db
from marketplace.models import (
    Acceptance,
    AcceptanceConclusion,
    AcceptanceKind,
    AuditEvent,
    Challenge,
    Contract,
    Deliverable,
    Exemption,
    ExemptionStatus,
    ExpertProfile,
    IntegrityRecord,
    Milestone,
    MilestoneStatus,
    Notification,
    OrgKind,
    PanelMember,
    PanelPurpose,
    PanelScore,
    PanelStatus,
    Payment,
    Project,
    ProjectStatus,
    Proposal,
    ProposalStatus,
    ReviewPanel,
    User,
)
from marketplace.money import format_wan
from marketplace.projects import agreement
from marketplace.stats import delivery
from tests.demo_seed import seed_once

SEED_ARGS = ["seed-demo", "--limit", "20"]
TABLES = (AuditEvent, Deliverable, Exemption, ExpertProfile, IntegrityRecord,
          Milestone, Notification, PanelMember, PanelScore, Payment, Project,
          ReviewPanel, Acceptance, User)  # fmt: skip
EVER = date(2019, 1, 1)


@pytest.fixture
def seeded(app, runner, request, tmp_path_factory):
    """A database after one seed-demo run; returns the command's output.

    The module's first test runs the command; the others get the rows it left
    (tests/demo_seed.py).
    """
    return seed_once(app, runner, SEED_ARGS, request.module.__name__, tmp_path_factory)


def _counts() -> dict[str, int]:
    return {
        model.__tablename__: _db.session.scalar(select(func.count()).select_from(model))
        for model in TABLES
    }


def _project(external_id: str) -> Project:
    return _db.session.scalar(
        select(Project)
        .join(Challenge, Challenge.id == Project.challenge_id)
        .where(Challenge.external_id == external_id)
    )


def _panels(project: Project) -> dict[PanelPurpose, ReviewPanel]:
    """The project's completed panels, none with a party on it (nor a bidder on
    the bid panel)."""
    panels = _db.session.scalars(
        select(ReviewPanel).where(ReviewPanel.challenge_id == project.challenge_id)
    ).all()
    bidders = _db.session.scalars(
        select(Proposal.org_id).where(Proposal.challenge_id == project.challenge_id)
    )
    parties = {project.owner_org_id, project.winner_org_id}
    for panel in panels:
        conflicted = parties
        if panel.purpose == PanelPurpose.PROPOSALS:
            conflicted = parties | set(bidders)
        assert panel.status == PanelStatus.COMPLETED and len(panel.members) == 3
        assert not _orgs_of(m.expert_id for m in panel.members) & conflicted
        assert all(m.submitted_at for m in panel.members)
    return {p.purpose: p for p in panels}


def _orgs_of(ids) -> set[int]:
    return set(
        _db.session.scalars(
            select(ExpertProfile.org_id).where(ExpertProfile.id.in_(list(ids)))
        )
    )


def test_expert_pool_of_the_demo_universities_and_institutes(app, seeded):
    with app.app_context():
        experts = _db.session.scalars(select(ExpertProfile)).all()
        assert len(experts) == 8
        kinds = {e.org.kind for e in experts}
        assert kinds <= {OrgKind.UNIVERSITY, OrgKind.INSTITUTE}
        assert len({e.org_id for e in experts}) >= 4
        for expert in experts:
            assert expert.active and expert.title and expert.field_codes
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", expert.user.name)
            assert expert.user.email.endswith(f"@{demo.DEMO_DOMAIN}")
            assert expert.org_id == expert.user.org_id
    assert f"expert-01@{demo.DEMO_DOMAIN}" in seeded


def test_an_expert_logs_in_with_the_demo_password(app, seeded, login):
    expert = SimpleNamespace(email=f"expert-01@{demo.DEMO_DOMAIN}")
    assert login(expert, demo.DEMO_PASSWORD) is not None


def test_the_awarded_challenge_was_scored_by_a_panel_free_of_conflict(app, seeded):
    with app.app_context():
        session = _db.session
        project = _project("demo-c-01")
        challenge = project.challenge
        (panel,) = session.scalars(
            select(ReviewPanel).where(
                ReviewPanel.challenge_id == challenge.id,
                ReviewPanel.purpose == PanelPurpose.PROPOSALS,
            )
        )
        assert panel.status == PanelStatus.COMPLETED and len(panel.members) == 3
        bids = session.scalars(
            select(Proposal).where(Proposal.challenge_id == challenge.id)
        ).all()
        assert len(bids) >= 2
        conflicted = {challenge.org_id, *(b.org_id for b in bids)}
        assert not _orgs_of(m.expert_id for m in panel.members) & conflicted
        totals: dict[int, int] = {}
        for member in panel.members:
            assert member.submitted_at is not None
            assert panel.created_at <= member.submitted_at <= panel.completed_at
            assert {s.proposal_id for s in member.scores} == {b.id for b in bids}
            for s in member.scores:
                weighted = (
                    s.merit * panel.weight_merit
                    + s.feasibility * panel.weight_feasibility
                    + s.team * panel.weight_team
                    + s.price * panel.weight_price
                )
                totals[s.proposal_id] = totals.get(s.proposal_id, 0) + weighted
        best = max(totals, key=totals.get)
        assert best == project.proposal_id
        assert session.get(Proposal, best).status == ProposalStatus.SELECTED
        assert panel.completed_at <= challenge.awarded_at


def test_running_project_paid_its_first_milestone_under_its_contract(app, seeded):
    with app.app_context():
        project = _project("demo-c-01")
        assert project.status == ProjectStatus.RUNNING
        first, second = project.milestones
        assert first.status == MilestoneStatus.ACCEPTED and first.on_time is True
        assert second.status == MilestoneStatus.PENDING
        assert second.due_on > local_today() and second.payment_id is None
        assert first.amount_fen + second.amount_fen == project.budget_fen
        payment = _db.session.get(Payment, first.payment_id)
        assert payment.contract_id == project.contract_id
        assert payment.amount_fen == first.amount_fen == project.released_fen > 0
        contract = _db.session.get(Contract, project.contract_id)
        assert contract.paid_fen == sum(p.amount_fen for p in contract.payments)
        assert contract.paid_fen <= contract.amount_fen
        assert contract.signed_on <= payment.received_on < local_today()
        assert project.budget_fen <= contract.amount_fen
        (check,) = project.acceptances
        assert check.kind == AcceptanceKind.MIDTERM
        assert check.conclusion == AcceptanceConclusion.PASSED and check.report
        panels = _panels(project)
        assert set(panels) == {PanelPurpose.PROPOSALS, PanelPurpose.MIDTERM}
        assert panels[PanelPurpose.MIDTERM].acceptance_id == check.id
        assert all(m.verdict for m in panels[PanelPurpose.MIDTERM].members)
        assert project.owner_org.name == demo.FIRST_ENTERPRISE


def test_failed_project_was_granted_exemption_by_an_independent_panel(app, seeded):
    with app.app_context():
        project = _project("demo-c-03")
        assert project.status == ProjectStatus.FAILED and project.closed_at
        assert project.released_fen == project.milestones[0].amount_fen > 0
        assert project.milestones[0].on_time is False
        assert project.milestones[1].status == MilestoneStatus.RETURNED
        (check,) = project.acceptances
        assert (check.kind, check.conclusion) == (
            AcceptanceKind.FINAL,
            AcceptanceConclusion.FAILED,
        )
        exemption = project.exemption
        assert exemption.status == ExemptionStatus.GRANTED
        assert exemption.decision_reason and exemption.decided_at
        panels = _panels(project)
        assert set(panels) == {PanelPurpose.FINAL, PanelPurpose.EXEMPTION}
        assert panels[PanelPurpose.FINAL].acceptance_id == check.id
        assert panels[PanelPurpose.EXEMPTION].exemption_id == exemption.id
        assert {m.verdict for m in panels[PanelPurpose.EXEMPTION].members} == {"grant"}
        # Independent: no one who judged the failed acceptance assesses it again.
        judged = {m.expert_id for m in panels[PanelPurpose.FINAL].members}
        assert not judged & {
            m.expert_id for m in panels[PanelPurpose.EXEMPTION].members
        }


def test_integrity_restriction_runs_against_a_peripheral_organisation(app, seeded):
    with app.app_context():
        (record,) = _db.session.scalars(select(IntegrityRecord)).all()
        org = record.org
        assert org.kind == OrgKind.AGENCY and org.name != demo.FIRST_AGENCY
        assert record.restricts_on(local_today())
        assert permissions.org_restricted(org.id, local_today())
        assert record.type_label == "虚假申报" and record.source_document
        involved = set(_db.session.scalars(select(Project.winner_org_id)))
        involved |= set(_db.session.scalars(select(ExpertProfile.org_id)))
        assert org.id not in involved


def test_second_run_adds_nothing(app, runner, seeded):
    with app.app_context():
        before = _counts()
    assert before["projects"] == 2 and before["review_panels"] == 4
    again = runner.invoke(args=SEED_ARGS)
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert _counts() == before


def test_the_dashboard_shows_the_delivery_after_seeding(app, seeded, login):
    today = local_today()
    with app.app_context():
        figures = delivery.dashboard(EVER, today)
    stages = {row["key"]: row["count"] for row in figures["stages"]["rows"]}
    assert stages == {"planning": 0, "running": 1, "completed": 0, "failed": 1}
    total = figures["stages"]["total"]
    assert 0 < total["released_fen"] < total["budget_fen"]
    assert figures["milestones"]["on_time"] == 1 == figures["milestones"]["late"]
    outcomes = {row["key"]: row for row in figures["acceptances"]["rows"]}
    assert outcomes["midterm"]["passed"] == 1 and outcomes["final"]["failed"] == 1
    assert figures["exemptions"]["granted"] == 1 == figures["exemptions"]["applied"]
    assert sum(row["panels"] for row in figures["workload"]) == 12
    assert figures["integrity"]["total"]["in_force"] == 1

    bureau = SimpleNamespace(email=f"bureau@{demo.DEMO_DOMAIN}")
    client = login(bureau, demo.DEMO_PASSWORD)
    response = client.get(
        "/stats/", query_string={"from": EVER.isoformat(), "to": today.isoformat()}
    )
    html = response.get_data(as_text=True)
    assert f'id="delivery-released">{format_wan(total["released_fen"])}' in html
    assert "虚假申报" in html


def test_the_projects_went_through_the_project_verbs(app, seeded):
    """Only the verbs write these events, dated between signing and now."""
    with app.app_context():
        for external_id in ("demo-c-01", "demo-c-03"):
            project = _project(external_id)
            events = _db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_type == "projects",
                    AuditEvent.object_id == project.id,
                )
            ).all()
            actions = {e.action for e in events}
            assert {
                "project_started",
                "milestone_plan_agreed",
                "project_running",
                "milestone_funds_released",
            } <= actions
            # The fingerprint agree_plan writes matches the plan as delivered.
            assert agreement.plan_agreed(project) is not None
            signed = _db.session.get(Contract, project.contract_id).signed_on
            for event in events:
                assert signed <= local_today(_aware(event.created_at)) < local_today()
        failed = _project("demo-c-03")
        exemption_actions = set(
            _db.session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.object_type == "exemptions",
                    AuditEvent.object_id == failed.exemption.id,
                )
            )
        )
        assert exemption_actions == {"exemption_applied", "exemption_granted"}


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_audit_log_names_every_object_and_state_the_demo_recorded(app, seeded):
    """The sysadmin's log shows no table name or raw state for the demo's events."""
    with app.app_context():
        rows = _db.session.execute(
            select(
                AuditEvent.object_type,
                AuditEvent.from_state,
                AuditEvent.to_state,
                AuditEvent.action,
            ).distinct()
        ).all()
    unnamed = sorted({kind for kind, *_ in rows if kind and kind not in OBJECT_LABELS})
    raw = sorted(
        {
            (kind, state, action)
            for kind, before, after, action in rows
            for state in (before, after)
            if state and glossary.state_label(state, kind, action) == state
        }
    )
    assert unnamed == [] and raw == []
