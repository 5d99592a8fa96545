"""Projects: the milestone plan, deliverables, the owner's acceptance, funding."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.models import (
    Contract,
    Deliverable,
    DeliverableFile,
    Milestone,
    MilestoneStatus,
    Payment,
    Project,
    ProjectStatus,
)
from tests.concurrency import race
from tests.dates import today
from tests.test_projects import (
    PDF,
    actions,
    add_milestone,
    agree,
    colleague,
    count,
    deliver,
    make_world,
    milestone_form,
    milestone_ids,
    notes_for,
    running_project,
    start,
    upload_files,
)


@pytest.fixture
def world(db, factory, login):
    """Owner, winner, an outsider and the bureau around an awarded challenge."""
    return make_world(db, factory, login)


# --- the milestone plan ---------------------------------------------------------------


def test_plan_over_budget_is_refused_and_nothing_stored(db, world):
    project_id = start(world)
    assert add_milestone(world.owner, project_id, amount="30").status_code == 302
    response = add_milestone(world.owner, project_id, deliverable="中试", amount="25")
    assert response.status_code == 200
    assert "里程碑金额合计超过悬赏金额" in response.get_data(as_text=True)
    assert count(db, Milestone) == 1
    first = milestone_ids(db, project_id)[0]
    edit = world.owner.post(
        f"/projects/{project_id}/milestones/{first}/edit",
        data=milestone_form(amount="50.01"),
    )
    assert "里程碑金额合计超过悬赏金额" in edit.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Milestone, first).amount_fen == 30_000_000
    # Exactly the budget is fine.
    assert add_milestone(world.owner, project_id, amount="20").status_code == 302
    assert count(db, Milestone) == 2


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"days": -1}, "计划完成日期不能早于今天"),
        ({"amount": "-1"}, "金额只能是不带单位的非负数字"),
        ({"amount": ""}, "请填写拨付金额"),
        ({"deliverable": ""}, "请填写交付成果"),
        ({"amount": "abc"}, "金额只能是不带单位的非负数字"),
    ],
)
def test_bad_milestones_are_refused(db, world, over, message):
    project_id = start(world)
    response = add_milestone(world.owner, project_id, **over)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(db, Milestone) == 0


def test_plan_is_edited_renumbered_and_begun(db, world):
    project_id = start(world)
    begin = world.owner.post(f"/projects/{project_id}/begin", data={"confirm": "y"})
    assert begin.status_code == 302
    assert db.session.get(Project, project_id).status == ProjectStatus.PLANNING
    for number in range(3):
        add_milestone(world.owner, project_id, deliverable=f"成果{number}", amount="5")
    first, second, third = milestone_ids(db, project_id)
    edit = world.owner.post(
        f"/projects/{project_id}/milestones/{second}/edit",
        data=milestone_form(deliverable="中试报告", amount="0"),
    )
    assert edit.status_code == 302
    delete = world.owner.post(f"/projects/{project_id}/milestones/{first}/delete")
    assert delete.status_code == 302
    db.session.expire_all()
    rows = db.session.scalars(
        select(Milestone)
        .where(Milestone.project_id == project_id)
        .order_by(Milestone.seq)
    ).all()
    assert [(m.id, m.seq) for m in rows] == [(second, 1), (third, 2)]
    assert rows[0].deliverable == "中试报告" and rows[0].amount_fen == 0
    assert agree(world, project_id).status_code == 302
    assert (
        world.owner.post(
            f"/projects/{project_id}/begin", data={"confirm": "y"}
        ).status_code
        == 302
    )
    db.session.expire_all()
    project = db.session.get(Project, project_id)
    assert project.status == ProjectStatus.RUNNING and project.started_at
    assert {"milestone_added", "milestone_updated", "milestone_removed"} <= set(
        actions(db)
    )
    assert "project_running" in actions(db)
    # The plan is fixed once delivery has begun.
    late = add_milestone(world.owner, project_id)
    assert late.status_code == 302 and count(db, Milestone) == 2
    world.owner.post(f"/projects/{project_id}/milestones/{third}/delete")
    assert count(db, Milestone) == 2


# --- deliverables, acceptance and staged funding --------------------------------------


def test_two_milestones_one_returned_then_accepted_with_payments(app, db, world):
    project_id = running_project(world)
    first, second = milestone_ids(db, project_id)

    submitted = deliver(world.winner, project_id, first, files=[(PDF, "小试报告.pdf")])
    assert submitted.status_code == 302, submitted.get_data(as_text=True)[:2000]
    assert db.session.get(Milestone, first).status == MilestoneStatus.SUBMITTED
    assert any("请验收" in n for n in notes_for(db, world.owner.org.id))
    again = deliver(world.winner, project_id, first)
    assert "不能重复提交" in again.get_data(as_text=True)
    assert count(db, Deliverable) == 1

    refused = world.owner.post(
        f"/projects/{project_id}/milestones/{first}/return", data={"comment": ""}
    )
    assert refused.status_code == 302
    assert db.session.get(Milestone, first).status == MilestoneStatus.SUBMITTED
    world.owner.post(
        f"/projects/{project_id}/milestones/{first}/return",
        data={"comment": "数据不完整，请补充中试数据。"},
    )
    db.session.expire_all()
    milestone = db.session.get(Milestone, first)
    assert milestone.status == MilestoneStatus.RETURNED
    assert milestone.times_returned == 1
    assert any("退回修改" in n for n in notes_for(db, world.winner.org.id))
    page = world.winner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "数据不完整" in page and "重新提交成果" in page

    assert deliver(world.winner, project_id, first, note="已补充").status_code == 302
    world.owner.post(
        f"/projects/{project_id}/milestones/{first}/accept", data={"confirm": "y"}
    )
    assert deliver(world.winner, project_id, second).status_code == 302
    world.owner.post(
        f"/projects/{project_id}/milestones/{second}/accept", data={"confirm": "y"}
    )

    db.session.expire_all()
    project = db.session.get(Project, project_id)
    contract = db.session.get(Contract, world.contract_id)
    payments = db.session.scalars(select(Payment).order_by(Payment.id)).all()
    assert [p.amount_fen for p in payments] == [20_000_000, 30_000_000]
    assert [p.note for p in payments] == ["第1期里程碑验收拨付", "第2期里程碑验收拨付"]
    assert all(
        p.contract_id == contract.id and p.received_on == today() for p in payments
    )
    assert project.released_fen == contract.paid_fen == 50_000_000
    milestones = [db.session.get(Milestone, i) for i in (first, second)]
    assert [m.status for m in milestones] == [MilestoneStatus.ACCEPTED] * 2
    assert [m.payment_id for m in milestones] == [p.id for p in payments]
    assert all(m.accepted_at for m in milestones)
    assert milestones[0].times_returned == 1
    assert any("通过验收" in n for n in notes_for(db, world.winner.org.id))
    done = set(actions(db))
    assert {
        "milestone_submitted",
        "milestone_returned",
        "milestone_accepted",
        "milestone_funds_released",
        "payment_recorded",
    } <= done
    # Accepting twice releases nothing more.
    world.owner.post(
        f"/projects/{project_id}/milestones/{second}/accept", data={"confirm": "y"}
    )
    assert count(db, Payment) == 2

    file_id = db.session.scalar(select(DeliverableFile.id))
    for client in (world.owner, world.winner, world.bureau):
        response = client.get(f"/projects/files/{file_id}")
        assert response.status_code == 200 and response.data == PDF
    assert world.outsider.get(f"/projects/files/{file_id}").status_code == 404
    assert app.test_client().get(f"/projects/files/{file_id}").status_code == 404
    assert world.owner.get("/projects/files/999999").status_code == 404
    text = world.owner.get(f"/contracts/{world.contract_id}").get_data(as_text=True)
    assert "第2期里程碑验收拨付" in text


def test_zero_amount_milestone_releases_nothing(db, world):
    project_id = running_project(world, amounts=("0",))
    (only,) = milestone_ids(db, project_id)
    deliver(world.winner, project_id, only)
    world.owner.post(
        f"/projects/{project_id}/milestones/{only}/accept", data={"confirm": "y"}
    )
    db.session.expire_all()
    milestone = db.session.get(Milestone, only)
    assert milestone.status == MilestoneStatus.ACCEPTED and milestone.payment_id is None
    assert count(db, Payment) == 0


def test_simultaneous_acceptances_release_once(db, world, login):
    project_id = running_project(world, amounts=("20",))
    (only,) = milestone_ids(db, project_id)
    deliver(world.winner, project_id, only)
    other = colleague(world, login)
    path = f"/projects/{project_id}/milestones/{only}/accept"
    ticked = {"confirm": "y"}
    race(
        lambda: world.owner.post(path, data=ticked),
        lambda: other.post(path, data=ticked),
    )
    db.session.expire_all()
    assert count(db, Payment) == 1
    assert db.session.get(Project, project_id).released_fen == 20_000_000
    assert db.session.get(Contract, world.contract_id).paid_fen == 20_000_000


def test_release_never_exceeds_the_contract(db, world):
    project_id = running_project(world, amounts=("50",))
    (only,) = milestone_ids(db, project_id)
    deliver(world.winner, project_id, only)
    # Someone recorded other money on the contract meanwhile: 15 万 left.
    contract = db.session.get(Contract, world.contract_id)
    contract.paid_fen = 45_000_000
    db.session.commit()
    response = world.owner.post(
        f"/projects/{project_id}/milestones/{only}/accept", data={"confirm": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Milestone, only).status == MilestoneStatus.SUBMITTED
    assert db.session.get(Project, project_id).released_fen == 0
    assert db.session.get(Contract, world.contract_id).paid_fen == 45_000_000
    assert count(db, Payment) == 0


def test_bad_uploads_leave_nothing_behind(app, db, world):
    project_id = running_project(world)
    first = milestone_ids(db, project_id)[0]
    response = deliver(
        world.winner,
        project_id,
        first,
        files=[(PDF, "ok.pdf"), (b"<html></html>", "evil.pdf")],
    )
    assert response.status_code == 200
    assert "不是有效的" in response.get_data(as_text=True)
    assert count(db, Deliverable) == 0 and count(db, DeliverableFile) == 0
    assert db.session.get(Milestone, first).status == MilestoneStatus.PENDING
    assert upload_files(app) == []
    empty = deliver(world.winner, project_id, first, note="")
    assert "请填写成果说明" in empty.get_data(as_text=True)
    assert count(db, Deliverable) == 0


def test_wrong_party_and_wrong_state_are_refused(db, world, client):
    project_id = start(world)
    add_milestone(world.owner, project_id)
    (only,) = milestone_ids(db, project_id)
    base = f"/projects/{project_id}/milestones/{only}"
    # Planning: nothing to deliver yet.
    early = deliver(world.winner, project_id, only)
    assert "项目尚未开始实施" in early.get_data(as_text=True)
    assert count(db, Deliverable) == 0
    assert world.owner.post(f"{base}/accept", data={"confirm": "y"}).status_code == 302
    assert db.session.get(Milestone, only).status == MilestoneStatus.PENDING
    # Wrong party: 403 for the parties and the bureau, 404 for outsiders.
    new = world.winner.post(f"/projects/{project_id}/milestones/new")
    assert new.status_code == 403
    assert world.winner.post(f"/projects/{project_id}/begin").status_code == 403
    assert world.bureau.post(f"{base}/edit", data=milestone_form()).status_code == 403
    assert world.owner.get(f"{base}/deliver").status_code == 403
    agree(world, project_id)
    world.owner.post(f"/projects/{project_id}/begin", data={"confirm": "y"})
    assert deliver(world.owner, project_id, only).status_code == 403
    deliver(world.winner, project_id, only)
    assert world.winner.post(f"{base}/accept").status_code == 403
    assert world.bureau.post(f"{base}/accept").status_code == 403
    returned = world.winner.post(f"{base}/return", data={"comment": "x"})
    assert returned.status_code == 403
    for path in (
        f"/projects/{project_id}",
        f"{base}/deliver",
        f"{base}/edit",
        "/projects/999999",
    ):
        assert world.outsider.get(path).status_code == 404, path
    for path in (f"{base}/accept", f"{base}/delete", f"/projects/{project_id}/begin"):
        assert world.outsider.post(path).status_code == 404, path
        assert client.post(path).status_code == 302  # anonymous: to the login page
    assert client.get(f"/projects/{project_id}").status_code == 302
    missing = world.owner.get(f"/projects/{project_id}/milestones/999999/edit")
    assert missing.status_code == 404
    db.session.expire_all()
    assert db.session.get(Milestone, only).status == MilestoneStatus.SUBMITTED
    assert count(db, Payment) == 0


def test_plan_pages_render(db, world):
    project_id = start(world)
    page = world.owner.get(f"/projects/{project_id}/milestones/new")
    assert page.status_code == 200 and "新增里程碑" in page.get_data(as_text=True)
    add_milestone(world.owner, project_id, deliverable="小试报告", amount="12.5")
    (only,) = milestone_ids(db, project_id)
    edit = world.owner.get(f"/projects/{project_id}/milestones/{only}/edit")
    text = edit.get_data(as_text=True)
    assert edit.status_code == 200 and "小试报告" in text and 'value="12.5"' in text
    detail = world.owner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "揭榜单位尚未同意当前计划" in detail and "12.50 万元" in detail
    agree(world, project_id)
    detail = world.owner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "确定计划，开始实施" in detail and "已于" in detail
    assert (
        world.winner.get(
            f"/projects/{project_id}/milestones/{only}/deliver"
        ).status_code
        == 302
    )


# --- confirmation before what cannot be undone ---------------------------------


def test_money_and_the_plan_wait_for_the_confirmation_tick(db, world):
    project_id = start(world)
    add_milestone(world.owner, project_id, deliverable="样机", amount="5")
    (only,) = milestone_ids(db, project_id)
    agree(world, project_id)
    page = world.owner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert 'name="confirm"' in page and "开始实施后计划不能再修改" in page
    # An unticked (or script-less) POST changes nothing and says why.
    begin = world.owner.post(f"/projects/{project_id}/begin", follow_redirects=True)
    assert "请先勾选确认框" in begin.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Project, project_id).status == ProjectStatus.PLANNING
    begun = world.owner.post(f"/projects/{project_id}/begin", data={"confirm": "y"})
    assert begun.status_code == 302
    deliver(world.winner, project_id, only)
    page = world.owner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "确认验收并拨付 5.00 万元" in page or "确认验收并拨付 5 万元" in page
    path = f"/projects/{project_id}/milestones/{only}/accept"
    for data in ({}, {"confirm": ""}):
        refused = world.owner.post(path, data=data, follow_redirects=True)
        assert "请先勾选确认框" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Milestone, only).status == MilestoneStatus.SUBMITTED
    assert db.session.get(Project, project_id).released_fen == 0
    assert count(db, Payment) == 0
    assert world.owner.post(path, data={"confirm": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, project_id).released_fen == 5 * 1_000_000


def test_the_plan_needs_the_winners_agreement_to_start(db, world):
    project_id = start(world)
    add_milestone(world.owner, project_id, deliverable="样机", amount="5")
    (only,) = milestone_ids(db, project_id)
    begin = f"/projects/{project_id}/begin"
    ticked = {"confirm": "y"}
    page = world.owner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "揭榜单位尚未同意当前计划" in page and "确定计划，开始实施" not in page
    refused = world.owner.post(begin, data=ticked, follow_redirects=True)
    assert "揭榜单位尚未同意里程碑计划" in refused.get_data(as_text=True)
    # Only the winner agrees: the owner and the bureau get a 403, outsiders 404.
    path = f"/projects/{project_id}/agree"
    assert world.owner.post(path, data=ticked).status_code == 403
    assert world.bureau.post(path, data=ticked).status_code == 403
    assert world.outsider.post(path, data=ticked).status_code == 404
    unticked = world.winner.post(path, follow_redirects=True)
    assert "请先勾选确认框" in unticked.get_data(as_text=True)
    assert "milestone_plan_agreed" not in actions(db)
    winner_page = world.winner.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "同意里程碑计划" in winner_page
    assert agree(world, project_id).status_code == 302
    assert any(
        "同意" in n and "里程碑计划" in n for n in notes_for(db, world.owner.org.id)
    )
    twice = agree(world, project_id)
    assert twice.status_code == 302
    assert actions(db).count("milestone_plan_agreed") == 1
    # The owner changes the plan afterwards: the agreement no longer covers it.
    world.owner.post(
        f"/projects/{project_id}/milestones/{only}/edit",
        data=milestone_form(deliverable="样机两台", amount="6"),
    )
    changed = world.owner.post(begin, data=ticked, follow_redirects=True)
    assert "需揭榜单位再次同意" in changed.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Project, project_id).status == ProjectStatus.PLANNING
    assert agree(world, project_id).status_code == 302
    assert world.owner.post(begin, data=ticked).status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, project_id).status == ProjectStatus.RUNNING
    # Nothing left to agree to once the project runs.
    late = world.winner.post(path, data=ticked, follow_redirects=True)
    assert "项目已开始实施" in late.get_data(as_text=True)
