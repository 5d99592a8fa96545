"""Projects: mid-term and final acceptance, exemption, re-listing, overdue reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.exceptions import StateError
from marketplace.models import (
    Acceptance,
    AcceptanceConclusion,
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Deliverable,
    Exemption,
    ExemptionStatus,
    Milestone,
    Notification,
    PanelPurpose,
    Project,
    ProjectStatus,
)
from marketplace.projects import milestones
from marketplace.projects.services import close_project, delivery_record
from tests.dates import iso, today
from tests.test_projects import (
    PDF,
    actions,
    completed_panel,
    count,
    deliver,
    make_world,
    milestone_ids,
    notes_for,
    running_project,
    upload_files,
)

ACCOUNT = (
    "项目组按合同投入了八名研究人员和全部约定经费，按期完成小试和中试，"
    "每月向发榜企业报告进展，并在发现菌种耐受性不足时及时报告风险并调整工艺参数，"
    "但受限于现有技术条件，最终指标未能达到要求。"
)


@pytest.fixture
def world(db, factory, login):
    """Owner, winner, an outsider and the bureau around an awarded challenge."""
    return make_world(db, factory, login)


def schedule(world, project_id, kind, days=7):
    """The bureau schedules a check through the page."""
    return world.bureau.post(
        f"/projects/{project_id}/acceptances",
        data={
            "kind": kind,
            "scheduled_on": (today() + timedelta(days=days)).isoformat(),
        },
    )


def acceptance_id(db, project_id, kind) -> int:
    """The id of the project's check of this kind."""
    return db.session.scalar(
        select(Acceptance.id).where(
            Acceptance.project_id == project_id, Acceptance.kind == kind
        )
    )


def conclude(world, project_id, check_id, conclusion, report="专家组意见：见附件。"):
    """The bureau records a conclusion through the page."""
    return world.bureau.post(
        f"/projects/{project_id}/acceptances/{check_id}/conclude",
        data={"conclusion": conclusion, "report": report, "confirm": "y"},
    )


def with_panel(db, world, project_id, kind) -> int:
    """Schedule a check of this kind and give it a completed panel; its id."""
    assert schedule(world, project_id, kind, days=0).status_code == 302
    check = acceptance_id(db, project_id, kind)
    completed_panel(
        db, world.factory, world.challenge_id, PanelPurpose(kind), acceptance_id=check
    )
    return check


def failed_project(db, world) -> int:
    """A running project whose mid-term passed and whose final acceptance failed."""
    project_id = running_project(world)
    midterm = with_panel(db, world, project_id, "midterm")
    assert conclude(world, project_id, midterm, "passed").status_code == 302
    final = with_panel(db, world, project_id, "final")
    assert conclude(world, project_id, final, "failed").status_code == 302
    return project_id


def status_of(db, project_id) -> ProjectStatus:
    """The project's current status, read afresh."""
    db.session.expire_all()
    return db.session.get(Project, project_id).status


# --- mid-term and final acceptance -------------------------------------------


def test_midterm_passes_and_final_fails(db, world):
    project_id = running_project(world)
    assert schedule(world, project_id, "midterm", days=0).status_code == 302
    midterm = acceptance_id(db, project_id, "midterm")
    assert any("中期检查" in n for n in notes_for(db, world.winner.org.id))
    page = world.bureau.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "记录结论" in page

    # No completed panel yet: no conclusion.
    early = conclude(world, project_id, midterm, "passed")
    assert "专家组尚未完成评审" in early.get_data(as_text=True)
    assert db.session.get(Acceptance, midterm).conclusion is None
    # The final check waits for the mid-term one.
    schedule(world, project_id, "final")
    assert acceptance_id(db, project_id, "final") is None

    completed_panel(
        db,
        world.factory,
        world.challenge_id,
        PanelPurpose.MIDTERM,
        acceptance_id=midterm,
    )
    empty = conclude(world, project_id, midterm, "passed", report="")
    assert "请填写验收报告" in empty.get_data(as_text=True)
    assert conclude(world, project_id, midterm, "passed").status_code == 302
    db.session.expire_all()
    check = db.session.get(Acceptance, midterm)
    assert check.conclusion == AcceptanceConclusion.PASSED and check.concluded_at
    assert status_of(db, project_id) == ProjectStatus.RUNNING
    # Concluding again changes nothing; a second mid-term check is refused.
    conclude(world, project_id, midterm, "failed")
    assert status_of(db, project_id) == ProjectStatus.RUNNING
    schedule(world, project_id, "midterm")
    assert count(db, Acceptance) == 1

    final = with_panel(db, world, project_id, "final")
    assert conclude(world, project_id, final, "failed").status_code == 302
    assert status_of(db, project_id) == ProjectStatus.FAILED
    project = db.session.get(Project, project_id)
    assert project.closed_at is not None
    assert {"acceptance_scheduled", "acceptance_concluded", "project_failed"} <= set(
        actions(db)
    )
    for org in (world.owner.org, world.winner.org):
        assert any("结题验收结论：不通过" in n for n in notes_for(db, org.id))
    # Nothing more is scheduled for a closed project.
    assert schedule(world, project_id, "midterm").status_code == 302
    assert count(db, Acceptance) == 2


def test_final_passed_after_rectification_completes_the_project(db, world):
    project_id = running_project(world)
    final = with_panel(db, world, project_id, "final")  # no mid-term check needed
    assert conclude(world, project_id, final, "rectify").status_code == 302
    assert status_of(db, project_id) == ProjectStatus.COMPLETED
    assert delivery_record(world.winner.org.id) == {
        "completed": 1,
        "failed": 0,
        "exempted": 0,
    }
    page = world.outsider.get(f"/orgs/{world.winner.org.id}").get_data(as_text=True)
    assert "揭榜项目履约记录" in page and "已结题" in page
    # No mid-term check once the final one is scheduled.
    schedule(world, project_id, "midterm")
    assert acceptance_id(db, project_id, "midterm") is None


def test_midterm_failure_fails_the_project(db, world):
    project_id = running_project(world)
    midterm = with_panel(db, world, project_id, "midterm")
    conclude(world, project_id, midterm, "failed")
    assert status_of(db, project_id) == ProjectStatus.FAILED
    assert delivery_record(world.winner.org.id)["failed"] == 1


def test_panel_of_another_check_does_not_count(db, world):
    project_id = running_project(world)
    midterm = with_panel(db, world, project_id, "midterm")
    conclude(world, project_id, midterm, "passed")
    schedule(world, project_id, "final")
    final = acceptance_id(db, project_id, "final")
    # A completed panel, but formed for the mid-term check.
    completed_panel(
        db, world.factory, world.challenge_id, PanelPurpose.FINAL, acceptance_id=midterm
    )
    conclude(world, project_id, final, "passed")
    assert status_of(db, project_id) == ProjectStatus.RUNNING


def aware(moment: datetime) -> datetime:
    """A stored moment as an aware one (SQLite drops the zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_close_project_dates_the_closure_by_the_clock_it_is_given(db, world):
    # seed-demo closes its projects in the past through the same verb.
    project_id = running_project(world)
    project = db.session.get(Project, project_id)
    past = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    close_project(project, ProjectStatus.FAILED, world.bureau.user, "", now=past)
    db.session.commit()
    db.session.expire_all()
    project = db.session.get(Project, project_id)
    assert project.status == ProjectStatus.FAILED
    assert aware(project.closed_at) == past
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "project_failed")
    )
    assert aware(event.created_at) == past
    assert event.from_state == ProjectStatus.RUNNING
    # Closed is closed, whatever the clock says.
    with pytest.raises(StateError):
        close_project(project, ProjectStatus.COMPLETED, world.bureau.user, "", now=past)


def test_only_the_bureau_schedules_and_concludes(db, world, client):
    project_id = running_project(world)
    midterm = with_panel(db, world, project_id, "midterm")
    data = {"kind": "final", "scheduled_on": iso()}
    for party in (world.owner, world.winner):
        path = f"/projects/{project_id}/acceptances"
        assert party.post(path, data=data).status_code == 403
        conclude_path = f"/projects/{project_id}/acceptances/{midterm}/conclude"
        assert party.get(conclude_path).status_code == 403
        assert (
            party.post(
                conclude_path, data={"conclusion": "failed", "report": "x"}
            ).status_code
            == 403
        )
    path = f"/projects/{project_id}/acceptances/{midterm}/conclude"
    assert world.outsider.get(path).status_code == 404
    assert client.get(path).status_code == 302
    missing = world.bureau.get(f"/projects/{project_id}/acceptances/999/conclude")
    assert missing.status_code == 404
    past = schedule(world, project_id, "final", days=-1)
    assert past.status_code == 302 and acceptance_id(db, project_id, "final") is None
    assert db.session.get(Acceptance, midterm).conclusion is None
    assert status_of(db, project_id) == ProjectStatus.RUNNING


# --- deliverables after closure ----------------------------------------------


def test_deliverable_after_closure_is_refused(app, db, world):
    project_id = running_project(world)
    first = milestone_ids(db, project_id)[0]
    midterm = with_panel(db, world, project_id, "midterm")
    conclude(world, project_id, midterm, "failed")
    response = deliver(world.winner, project_id, first, files=[(PDF, "late.pdf")])
    assert response.status_code == 200
    assert "项目已结束，不能再提交成果" in response.get_data(as_text=True)
    assert count(db, Deliverable) == 0 and upload_files(app) == []
    assert db.session.get(Milestone, first).status == "pending"
    with pytest.raises(StateError, match="项目已结束，不能再提交成果"):
        milestones.submit_deliverable(
            db.session.get(Milestone, first), world.winner.user, "补交"
        )
    assert count(db, Deliverable) == 0


# --- exemption and re-listing ------------------------------------------------


def test_exemption_granted_leaves_no_mark_and_allows_relisting(db, world, client):
    project_id = failed_project(db, world)
    assert delivery_record(world.winner.org.id)["failed"] == 1
    public = client.get(f"/orgs/{world.winner.org.id}").get_data(as_text=True)
    assert "未通过验收" in public

    path = f"/projects/{project_id}/exemption"
    short = world.winner.post(path, data={"account": "我们很努力。"})
    assert short.status_code == 200 and count(db, Exemption) == 0
    assert world.owner.post(path, data={"account": ACCOUNT}).status_code == 403
    assert world.winner.post(path, data={"account": ACCOUNT}).status_code == 302
    exemption = db.session.scalar(select(Exemption))
    assert exemption.status == ExemptionStatus.APPLIED
    assert any("容错免责" in n for n in notes_for(db, world.bureau.org.id))
    # Once only.
    world.winner.post(path, data={"account": ACCOUNT + "补充"})
    assert count(db, Exemption) == 1

    decide = f"/projects/{project_id}/exemption/decide"
    assert world.owner.get(decide).status_code == 403
    assert (
        world.winner.post(
            decide, data={"decision": "granted", "reason": "x", "confirm": "y"}
        ).status_code
        == 403
    )
    early = world.bureau.post(
        decide, data={"decision": "granted", "reason": "勤勉尽责", "confirm": "y"}
    )
    assert "专家组尚未完成评估" in early.get_data(as_text=True)
    completed_panel(
        db,
        world.factory,
        world.challenge_id,
        PanelPurpose.EXEMPTION,
        exemption_id=exemption.id,
    )
    no_reason = world.bureau.post(
        decide, data={"decision": "granted", "reason": "", "confirm": "y"}
    )
    assert "请填写认定理由" in no_reason.get_data(as_text=True)
    # The owner may not re-list before the exemption is granted.
    world.owner.post(f"/projects/{project_id}/relist", data={"confirm": "y"})
    assert db.session.get(Project, project_id).relisted_challenge_id is None

    granted = world.bureau.post(
        decide,
        data={
            "decision": "granted",
            "reason": "专家组认定已勤勉尽责。",
            "confirm": "y",
        },
    )
    assert granted.status_code == 302
    db.session.expire_all()
    exemption = db.session.get(Exemption, exemption.id)
    assert exemption.status == ExemptionStatus.GRANTED and exemption.decided_at
    assert "exemption_granted" in actions(db)
    assert any("予以免责" in n for n in notes_for(db, world.winner.org.id))
    assert delivery_record(world.winner.org.id) == {
        "completed": 0,
        "failed": 0,
        "exempted": 1,
    }
    public = client.get(f"/orgs/{world.winner.org.id}").get_data(as_text=True)
    assert "未通过验收" not in public and "容错免责" not in public
    insider = world.winner.get(f"/orgs/{world.winner.org.id}").get_data(as_text=True)
    assert "容错免责" in insider
    # Deciding twice changes nothing.
    world.bureau.post(
        decide, data={"decision": "refused", "reason": "改判", "confirm": "y"}
    )
    db.session.expire_all()
    assert db.session.get(Exemption, exemption.id).status == ExemptionStatus.GRANTED

    assert world.winner.post(f"/projects/{project_id}/relist").status_code == 403
    unticked = world.owner.post(f"/projects/{project_id}/relist")
    assert unticked.status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, project_id).relisted_challenge_id is None
    relisted = world.owner.post(f"/projects/{project_id}/relist", data={"confirm": "y"})
    assert relisted.status_code == 302
    db.session.expire_all()
    project = db.session.get(Project, project_id)
    new = db.session.get(Challenge, project.relisted_challenge_id)
    old = db.session.get(Challenge, world.challenge_id)
    assert relisted.location.endswith(f"/challenges/{new.id}")
    assert new.status == ChallengeStatus.DRAFT and new.org_id == old.org_id
    assert new.title == old.title + "（新技术路线）"
    assert new.description.startswith(old.description)
    assert "原技术路线" in new.description
    assert (new.bounty_fen, new.field_id, new.region_code) == (
        old.bounty_fen,
        old.field_id,
        old.region_code,
    )
    assert new.keywords == old.keywords
    assert new.allowed_bidder_kinds == old.allowed_bidder_kinds
    assert new.technical_targets == old.technical_targets
    assert "project_relisted" in actions(db)
    # Once only.
    world.owner.post(f"/projects/{project_id}/relist", data={"confirm": "y"})
    assert db.session.scalar(select(Challenge.id).where(Challenge.id > new.id)) is None


def test_refused_exemption_keeps_the_mark(db, world):
    project_id = failed_project(db, world)
    world.winner.post(f"/projects/{project_id}/exemption", data={"account": ACCOUNT})
    exemption = db.session.scalar(select(Exemption))
    completed_panel(
        db,
        world.factory,
        world.challenge_id,
        PanelPurpose.EXEMPTION,
        exemption_id=exemption.id,
    )
    world.bureau.post(
        f"/projects/{project_id}/exemption/decide",
        data={"decision": "refused", "reason": "未按约定投入经费。", "confirm": "y"},
    )
    db.session.expire_all()
    assert db.session.get(Exemption, exemption.id).status == ExemptionStatus.REFUSED
    assert delivery_record(world.winner.org.id)["failed"] == 1
    world.owner.post(f"/projects/{project_id}/relist", data={"confirm": "y"})
    assert db.session.get(Project, project_id).relisted_challenge_id is None


def test_no_exemption_for_a_running_project(db, world):
    project_id = running_project(world)
    path = f"/projects/{project_id}/exemption"
    assert world.winner.get(path).status_code == 302
    assert world.winner.post(path, data={"account": ACCOUNT}).status_code == 200
    assert world.outsider.post(path, data={"account": ACCOUNT}).status_code == 404
    assert world.bureau.get(f"{path}/decide").status_code == 404
    assert count(db, Exemption) == 0


# --- overdue milestones ------------------------------------------------------


def test_remind_overdue_notifies_once(app, db, world):
    project_id = running_project(world)
    first, second = milestone_ids(db, project_id)
    db.session.get(Milestone, first).due_on = today(-1)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["projects", "remind-overdue"])
    assert result.exit_code == 0, result.output
    assert "已提醒 1 个逾期里程碑" in result.output
    for org in (world.owner.org, world.winner.org, world.bureau.org):
        assert sum("已逾期" in n for n in notes_for(db, org.id)) == 1
    assert db.session.get(Milestone, first).overdue_notified_at is not None
    assert db.session.get(Milestone, second).overdue_notified_at is None
    page = world.owner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert page.count("已逾期") == 1
    assert "里程碑逾期" in world.bureau.get("/projects/").get_data(as_text=True)

    before = count(db, Notification)
    again = runner.invoke(args=["projects", "remind-overdue"])
    assert "已提醒 0 个逾期里程碑" in again.output
    assert count(db, Notification) == before
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "milestone_overdue")
    )


def test_accepted_milestones_are_not_overdue(app, db, world):
    project_id = running_project(world, amounts=("10",))
    (only,) = milestone_ids(db, project_id)
    deliver(world.winner, project_id, only)
    world.owner.post(
        f"/projects/{project_id}/milestones/{only}/accept", data={"confirm": "y"}
    )
    db.session.get(Milestone, only).due_on = today(-3)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["projects", "remind-overdue"])
    assert "已提醒 0 个逾期里程碑" in result.output


# --- every page renders for those who may use it --------------------------------


def test_pages_render(db, world):
    project_id = running_project(world)
    first = milestone_ids(db, project_id)[0]
    pages = [
        (
            world.winner,
            f"/projects/{project_id}/milestones/{first}/deliver",
            "提交成果",
        ),
        (world.bureau, "/projects/", "揭榜项目"),
    ]
    midterm = with_panel(db, world, project_id, "midterm")
    pages.append(
        (
            world.bureau,
            f"/projects/{project_id}/acceptances/{midterm}/conclude",
            "专家意见：材料齐全",
        )
    )
    for client, path, text in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert text in response.get_data(as_text=True), path
    conclude(world, project_id, midterm, "failed")
    apply = world.winner.get(f"/projects/{project_id}/exemption")
    assert apply.status_code == 200 and "勤勉尽责情况说明" in apply.get_data(
        as_text=True
    )
    world.winner.post(f"/projects/{project_id}/exemption", data={"account": ACCOUNT})
    decide = world.bureau.get(f"/projects/{project_id}/exemption/decide")
    assert decide.status_code == 200 and "尚未组建容错免责专家组" in decide.get_data(
        as_text=True
    )
    for client in (world.owner, world.winner, world.bureau):
        page = client.get(f"/projects/{project_id}").get_data(as_text=True)
        assert "容错免责" in page and "中期检查" in page


# --- delivery controls: dates and who may judge again -------------------------


def test_conclusion_waits_for_the_scheduled_date(db, world):
    project_id = running_project(world)
    assert schedule(world, project_id, "midterm", days=3).status_code == 302
    check = acceptance_id(db, project_id, "midterm")
    completed_panel(
        db, world.factory, world.challenge_id, PanelPurpose.MIDTERM, acceptance_id=check
    )
    early = conclude(world, project_id, check, "failed")
    day = iso(3)
    assert f"安排在 {day}" in early.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Acceptance, check).conclusion is None
    assert status_of(db, project_id) == ProjectStatus.RUNNING


def test_failed_panel_experts_may_not_judge_the_exemption(db, world):
    from marketplace.models import ExpertProfile, OrgKind, PanelMember, ReviewPanel
    from marketplace.panels import services as panels
    from marketplace.panels.conflicts import FAILED_PANEL_REASON

    project_id = failed_project(db, world)
    final = acceptance_id(db, project_id, "final")
    sat = db.session.scalar(
        select(PanelMember.expert_id)
        .join(ReviewPanel, ReviewPanel.id == PanelMember.panel_id)
        .where(ReviewPanel.acceptance_id == final)
    )
    # The factory rolls back the outer session: make every account first.
    users = [world.factory.user(world.factory.org(OrgKind.UNIVERSITY)) for _ in "abc"]
    experts = [
        ExpertProfile(user_id=u.id, org_id=u.org_id, field_codes=[]) for u in users
    ]
    db.session.add_all(experts)
    db.session.commit()
    others = [e.id for e in experts]
    path = f"/projects/{project_id}/exemption"
    assert world.winner.post(path, data={"account": ACCOUNT}).status_code == 302
    exemption = db.session.scalar(select(Exemption))
    project = db.session.get(Project, project_id)
    challenge = db.session.get(Challenge, world.challenge_id)
    proposed = panels.propose_experts(challenge, "exemption", 50, project)
    assert sat not in {c.expert.id for c in proposed.candidates}
    assert {x.expert.id: x.reason for x in proposed.excluded}[sat] == (
        FAILED_PANEL_REASON
    )
    with pytest.raises(panels.ServiceError, match=FAILED_PANEL_REASON):
        panels.form_panel(
            world.bureau.user,
            challenge,
            "exemption",
            [sat, *others[:2]],
            exemption=exemption,
        )
    # The other experts may sit; for a final check they are all eligible.
    panel = panels.form_panel(
        world.bureau.user, challenge, "exemption", others, exemption=exemption
    )
    assert {m.expert_id for m in panel.members} == set(others)


def test_verdicts_wait_for_the_confirmation_tick(db, world):
    project_id = running_project(world)
    check = with_panel(db, world, project_id, "midterm")
    path = f"/projects/{project_id}/acceptances/{check}/conclude"
    assert 'name="confirm"' in world.bureau.get(path).get_data(as_text=True)
    unticked = world.bureau.post(
        path, data={"conclusion": "failed", "report": "专家组意见：不通过。"}
    )
    assert "请先勾选确认框" in unticked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Acceptance, check).conclusion is None
    assert status_of(db, project_id) == ProjectStatus.RUNNING


def test_exemption_decision_waits_for_the_confirmation_tick(db, world):
    project_id = failed_project(db, world)
    path = f"/projects/{project_id}/exemption"
    assert world.winner.post(path, data={"account": ACCOUNT}).status_code == 302
    exemption = db.session.scalar(select(Exemption))
    completed_panel(
        db,
        world.factory,
        world.challenge_id,
        PanelPurpose.EXEMPTION,
        exemption_id=exemption.id,
    )
    decide = f"/projects/{project_id}/exemption/decide"
    unticked = world.bureau.post(
        decide, data={"decision": "granted", "reason": "已勤勉尽责。"}
    )
    assert "请先勾选确认框" in unticked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Exemption, exemption.id).status == ExemptionStatus.APPLIED
