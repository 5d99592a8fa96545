"""Projects (揭榜项目): starting one from an awarded challenge, and the project list.

The builders for the other project test files (test_projects_*.py) live here.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace import audit
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.models import (
    AuditEvent,
    Challenge,
    Contract,
    ContractStatus,
    ExpertProfile,
    Milestone,
    Notification,
    Organisation,
    OrgKind,
    PanelMember,
    PanelStatus,
    Project,
    ProjectStatus,
    ReviewPanel,
)
from marketplace.projects import services
from tests import factories
from tests.concurrency import race
from tests.dates import today
from tests.sample_files import PDF  # noqa: F401  (the delivery tests take it from here)

BOUNTY = 50_000_000  # 50 万元
CONTRACT_AMOUNT = 60_000_000  # tests.factories.contract_between


# --- builders -------------------------------------------------------------------------


def count(db, model, *where) -> int:
    """Rows of a model matching the conditions."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def party(factory, login, kind):
    """A logged-in member of a new verified organisation of this kind."""
    org = factory.org(kind)
    user = factory.user(org)
    client = login(user)
    client.org, client.user = org, user
    return client


def awarded_challenge(db, owner_org, winner_org, bounty=BOUNTY, contract=True):
    """An awarded challenge with its selected bid, deal and (optionally) contract."""
    challenge_id, proposal_id = factories.awarded_challenge(
        owner_org.id, winner_org.id, bounty_fen=bounty
    )
    deal_id = factories.deal_for(challenge_id, proposal_id)
    contract_id = (
        factories.contract_between(owner_org.id, winner_org.id, deal_id)
        if contract
        else None
    )
    return challenge_id, proposal_id, deal_id, contract_id


def make_world(db, factory, login) -> SimpleNamespace:
    """Owner, winner, an outsider and the bureau around an awarded challenge."""
    owner = party(factory, login, OrgKind.ENTERPRISE)
    winner = party(factory, login, OrgKind.INSTITUTE)
    outsider = party(factory, login, OrgKind.ENTERPRISE)
    bureau = party(factory, login, OrgKind.BUREAU)
    challenge_id, proposal_id, deal_id, contract_id = awarded_challenge(
        db, owner.org, winner.org
    )
    return SimpleNamespace(
        owner=owner,
        winner=winner,
        outsider=outsider,
        bureau=bureau,
        challenge_id=challenge_id,
        proposal_id=proposal_id,
        deal_id=deal_id,
        contract_id=contract_id,
        factory=factory,
    )


@pytest.fixture
def world(db, factory, login):
    """Owner, winner, an outsider and the bureau around an awarded challenge."""
    return make_world(db, factory, login)


def start(world, **data) -> int:
    """The owner starts the project through the page; returns its id."""
    response = world.owner.post(
        f"/projects/start/{world.challenge_id}",
        data={"contract": str(world.contract_id), **data},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(response.location.rstrip("/").rsplit("/", 1)[1])


def milestone_form(deliverable="小试报告", days=30, amount="20", **over):
    """The milestone form's fields."""
    data = {
        "deliverable": deliverable,
        "description": "完成小试并提交报告",
        "due_on": (today() + timedelta(days=days)).isoformat(),
        "amount": amount,
    }
    data.update(over)
    return data


def add_milestone(client, project_id, **data):
    """Post a new milestone as this client."""
    return client.post(
        f"/projects/{project_id}/milestones/new", data=milestone_form(**data)
    )


def running_project(world, amounts=("20", "30")) -> int:
    """A started project with one milestone per amount, delivery begun."""
    project_id = start(world)
    for number, amount in enumerate(amounts, start=1):
        response = add_milestone(
            world.owner,
            project_id,
            deliverable=f"第{number}阶段成果",
            days=30 * number,
            amount=amount,
        )
        assert response.status_code == 302
    assert agree(world, project_id).status_code == 302
    assert (
        world.owner.post(
            f"/projects/{project_id}/begin", data={"confirm": "y"}
        ).status_code
        == 302
    )
    return project_id


def agree(world, project_id):
    """The winner agrees to the milestone plan as it stands."""
    return world.winner.post(f"/projects/{project_id}/agree", data={"confirm": "y"})


def milestone_ids(db, project_id) -> list[int]:
    """The project's milestones in order."""
    return list(
        db.session.scalars(
            select(Milestone.id)
            .where(Milestone.project_id == project_id)
            .order_by(Milestone.seq)
        )
    )


def deliver(client, project_id, milestone_id, note="已完成，见附件", files=()):
    """Submit a deliverable as this client."""
    data = {"note": note}
    if files:
        data["attachments"] = [(io.BytesIO(body), name) for body, name in files]
    return client.post(
        f"/projects/{project_id}/milestones/{milestone_id}/deliver",
        data=data,
        content_type="multipart/form-data",
    )


def completed_panel(db, factory, challenge_id, purpose, **subject) -> int:
    """A completed expert panel (acceptance_id= or exemption_id=) with one member."""
    org = factory.org(OrgKind.UNIVERSITY)
    user = factory.user(org)
    expert = ExpertProfile(user_id=user.id, org_id=org.id, field_codes=["environment"])
    db.session.add(expert)
    db.session.flush()
    panel = ReviewPanel(
        purpose=purpose,
        challenge_id=challenge_id,
        status=PanelStatus.COMPLETED,
        completed_at=utcnow(),
        **subject,
    )
    panel.members.append(
        PanelMember(
            expert_id=expert.id,
            verdict="passed",
            comment="专家意见：材料齐全。",
            submitted_at=utcnow(),
        )
    )
    db.session.add(panel)
    db.session.commit()
    return panel.id


def colleague(world, login):
    """Another logged-in member of the owner organisation."""
    return login(world.factory.user(world.owner.org))


def notes_for(db, org_id) -> list[str]:
    """Messages notified to members of an organisation."""
    from marketplace.models import User

    return list(
        db.session.scalars(
            select(Notification.message)
            .join(User, User.id == Notification.user_id)
            .where(User.org_id == org_id)
        )
    )


def actions(db) -> list[str]:
    """Audit actions written so far."""
    return list(db.session.scalars(select(AuditEvent.action)))


def upload_files(app) -> list[str]:
    """Files in the upload folder."""
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


# --- starting a project ---------------------------------------------------------------


def test_owner_starts_the_project_from_the_challenge_page(db, world):
    page = world.owner.get(f"/challenges/{world.challenge_id}").get_data(as_text=True)
    assert f"/projects/start/{world.challenge_id}" in page
    for client in (world.winner, world.outsider):
        text = client.get(f"/challenges/{world.challenge_id}").get_data(as_text=True)
        assert "/projects/start/" not in text
    form = world.owner.get(f"/projects/start/{world.challenge_id}")
    assert form.status_code == 200 and "确认立项" in form.get_data(as_text=True)

    project_id = start(world)
    project = db.session.get(Project, project_id)
    assert project.status == ProjectStatus.PLANNING
    assert (project.budget_fen, project.released_fen) == (BOUNTY, 0)
    assert (project.owner_org_id, project.winner_org_id) == (
        world.owner.org.id,
        world.winner.org.id,
    )
    assert project.contract_id == world.contract_id
    assert "project_started" in actions(db)
    assert any("已立项" in n for n in notes_for(db, world.winner.org.id))
    for client in (world.owner, world.winner, world.bureau):
        text = client.get(f"/challenges/{world.challenge_id}").get_data(as_text=True)
        assert f"/projects/{project_id}" in text
    text = world.outsider.get(f"/challenges/{world.challenge_id}").get_data(
        as_text=True
    )
    assert f"/projects/{project_id}" not in text


def test_a_second_start_is_refused(db, world):
    project_id = start(world)
    again = world.owner.post(
        f"/projects/start/{world.challenge_id}",
        data={"contract": str(world.contract_id)},
    )
    assert again.status_code == 302 and again.location.endswith(f"/{project_id}")
    assert count(db, Project) == 1
    challenge = db.session.get(Challenge, world.challenge_id)
    with pytest.raises(StateError, match="已立项"):
        services.start_project(challenge, world.owner.user, world.contract_id)


def test_racing_start_is_decided_by_the_unique_key(db, world, monkeypatch):
    start(world)
    # As if the other request had not committed yet when this one looked.
    monkeypatch.setattr(services, "project_of", lambda challenge: None)
    challenge = db.session.get(Challenge, world.challenge_id)
    with pytest.raises(StateError, match="已立项"):
        services.start_project(challenge, world.owner.user, world.contract_id)
    assert count(db, Project) == 1


def test_simultaneous_starts_give_one_project(db, world, login):
    other = colleague(world, login)
    data = {"contract": str(world.contract_id)}
    path = f"/projects/start/{world.challenge_id}"
    results = race(
        lambda: world.owner.post(path, data=data), lambda: other.post(path, data=data)
    )
    assert all(r.status_code in (200, 302) for r in results)
    assert count(db, Project) == 1
    assert actions(db).count("project_started") == 1


def test_start_needs_a_contract_between_owner_and_winner(db, world):
    contract = db.session.get(Contract, world.contract_id)
    contract.status = ContractStatus.REJECTED
    contract.reject_reason = "材料不全"
    db.session.commit()
    page = world.owner.get(f"/projects/start/{world.challenge_id}")
    assert "请先登记本项目的技术合同" in page.get_data(as_text=True)
    challenge = db.session.get(Challenge, world.challenge_id)
    with pytest.raises(ServiceError, match="请先登记本项目的技术合同"):
        services.start_project(challenge, world.owner.user)
    # A contract with someone else does not count either.
    other = factories.contract_between(
        world.owner.org.id, world.outsider.org.id, world.deal_id
    )
    response = world.owner.post(
        f"/projects/start/{world.challenge_id}", data={"contract": str(other)}
    )
    assert response.status_code == 200
    assert count(db, Project) == 0


def test_budget_is_what_the_contract_can_still_receive_when_less(db, world):
    contract = db.session.get(Contract, world.contract_id)
    contract.paid_fen = 20_000_000  # 40 万 left, bounty 50 万
    db.session.commit()
    project = db.session.get(Project, start(world))
    assert project.budget_fen == 40_000_000


def test_a_fully_paid_contract_cannot_fund_a_project(db, world):
    contract = db.session.get(Contract, world.contract_id)
    contract.paid_fen = contract.amount_fen
    db.session.commit()
    response = world.owner.post(
        f"/projects/start/{world.challenge_id}",
        data={"contract": str(world.contract_id)},
    )
    assert response.status_code == 200
    assert "技术合同已全部收款" in response.get_data(as_text=True)
    assert count(db, Project) == 0


def test_negotiable_bounty_takes_the_contract_amount(db, world):
    challenge = db.session.get(Challenge, world.challenge_id)
    challenge.bounty_fen = None
    db.session.commit()
    project = db.session.get(Project, start(world))
    assert project.budget_fen == CONTRACT_AMOUNT


def test_only_the_owner_starts_and_only_awarded_challenges(db, world, client):
    path = f"/projects/start/{world.challenge_id}"
    assert client.get(path).status_code == 302  # to the login page
    for other in (world.winner, world.outsider, world.bureau):
        assert other.get(path).status_code == 403
        assert other.post(path, data={"contract": world.contract_id}).status_code == 403
    assert world.owner.get("/projects/start/999999").status_code == 404
    open_one = factories.make_challenge(world.owner.org.id)
    response = world.owner.post(
        f"/projects/start/{open_one.id}", data={"contract": str(world.contract_id)}
    )
    assert response.status_code == 200
    assert count(db, Project) == 0


def test_project_list_shows_own_projects_only(db, world):
    project_id = start(world)
    for client in (world.owner, world.winner, world.bureau):
        page = client.get("/projects/").get_data(as_text=True)
        assert f"/projects/{project_id}" in page
    assert f"/projects/{project_id}" not in world.outsider.get("/projects/").get_data(
        as_text=True
    )
    running = world.bureau.get("/projects/?status=running").get_data(as_text=True)
    assert f"/projects/{project_id}" not in running
    planning = world.bureau.get("/projects/?status=planning").get_data(as_text=True)
    assert f"/projects/{project_id}" in planning


def test_history_names_the_organisation_when_no_user_acted(db, world):
    """A step recorded for an organisation without a user reads as that body."""
    project_id = start(world)
    project = db.session.get(Project, project_id)
    org = db.session.get(Organisation, world.winner.org.id)
    audit.record("milestone_plan_agreed", obj=project, org_id=org.id)
    db.session.commit()
    page = world.owner.get(f"/projects/{project_id}").get_data(as_text=True)
    history = page[page.index("办理记录") :]
    assert f"· {org.name}</div>" in history
