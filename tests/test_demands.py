"""Unmet demands: a weak match becomes a challenge draft in one step, and a lead."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.demands import kept
from marketplace.demands.services import redact, title_from
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    OrgKind,
    UnmetDemand,
    User,
)
from marketplace.search import query as engine
from marketplace.search.sync import get_index
from tests.conftest import PASSWORD
from tests.factories import make_result

TEXT = "面粉放久了生虫、结块，夏天更严重。希望不加防腐剂延长保鲜期。"


@pytest.fixture(autouse=True)
def weak_catalogue(app, db, factory, monkeypatch):
    """A catalogue whose best hit is only partly relevant."""
    institute = factory.org(OrgKind.INSTITUTE)
    make_result(institute.id, title="小麦储藏害虫监测装置", keywords=["储藏"])
    get_index().reindex(db.session)
    monkeypatch.setattr(engine, "STRONG_MATCH", 1_000_000.0)


def fresh(db):
    return db.session


def challenges(db) -> list[Challenge]:
    return list(fresh(db).scalars(select(Challenge).order_by(Challenge.id)))


def ask(client, text: str = TEXT):
    page = client.post("/match", data={"text": text}).get_data(as_text=True)
    assert "没有找到足够匹配的科技成果" in page
    return page


def publish(client, text: str = TEXT):
    return client.post("/demands/draft", data={"text": text})


# --- titles and privacy --------------------------------------------------------


def test_title_is_the_first_sentence_within_the_limit():
    assert title_from(TEXT) == "面粉放久了生虫、结块，夏天更严重"
    assert title_from("\n\n  挂面断条\n其余") == "挂面断条"
    long = "长" * 300 + "。第二句"
    assert len(title_from(long)) == 200 and title_from(long).endswith("…")
    assert title_from("。。。") == "技术需求"


def test_contact_details_are_hidden():
    shown = redact(
        "联系张经理 13912345678 或 0396-2345678，邮箱 zhang@example.cn，"
        "身份证 41170219800101123X，微信号 zhang_2024。COD 3000mg/L，500 吨。"
    )
    for secret in ("13912345678", "2345678", "zhang@", "41170219800101123X", "2024"):
        assert secret not in shown
    assert "COD 3000mg/L，500 吨" in shown


# --- one step to a draft ---------------------------------------------------------


def test_an_enterprise_gets_its_draft_in_one_step(enterprise_client, db):
    ask(enterprise_client)
    response = publish(enterprise_client)
    assert response.status_code == 302
    [challenge] = challenges(db)
    assert response.headers["Location"] == f"/challenges/{challenge.id}/edit"
    assert challenge.status == ChallengeStatus.DRAFT
    assert challenge.org_id == enterprise_client.org.id
    assert challenge.title == "面粉放久了生虫、结块，夏天更严重"
    assert challenge.description == TEXT
    demand = fresh(db).scalar(select(UnmetDemand))
    assert demand.challenge_id == challenge.id and demand.drafted_at is not None
    actions = set(fresh(db).scalars(select(AuditEvent.action)))
    assert {"challenge_created", "unmet_demand_drafted"} <= actions
    edit = enterprise_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已根据您的描述生成技术需求草稿" in edit and "夏天更严重" in edit
    # Pressed twice: the same draft, not a second one.
    again = publish(enterprise_client)
    assert again.headers["Location"] == f"/challenges/{challenge.id}/edit"
    assert len(challenges(db)) == 1


def test_a_visitor_keeps_the_text_through_login(client, factory, db):
    firm = factory.org(OrgKind.ENTERPRISE)
    user = factory.user(firm)
    ask(client)
    response = publish(client)
    assert response.headers["Location"] == "/demands/kept"
    assert challenges(db) == []
    page = client.get("/demands/kept").get_data(as_text=True)
    assert "您的问题描述已保存" in page and "夏天更严重" in page
    assert "/auth/login?next=/demands/resume" in page
    login = client.post(
        "/auth/login?next=/demands/resume",
        data={"email": user.email, "password": PASSWORD},
    )
    assert login.headers["Location"] == "/demands/resume"
    landed = client.get("/demands/resume")
    [challenge] = challenges(db)
    assert landed.headers["Location"] == f"/challenges/{challenge.id}/edit"
    assert challenge.org_id == firm.id and challenge.description == TEXT
    demand = fresh(db).scalar(select(UnmetDemand))
    assert demand.user_id == user.id and demand.org_id == firm.id
    # Used once: a second visit creates nothing more.
    assert client.get("/demands/resume").headers["Location"] == "/challenges/new"
    assert len(challenges(db)) == 1


def test_a_plain_login_also_resumes(client, factory, db):
    user = factory.user(factory.org(OrgKind.ENTERPRISE))
    ask(client)
    publish(client)
    login = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert login.headers["Location"] == "/demands/resume"


def test_a_visitor_keeps_the_text_through_signup(client, db):
    from marketplace.creditcode import make_credit_code

    ask(client)
    publish(client)
    signup = client.post(
        "/auth/signup",
        data={
            "kind": "enterprise",
            "org_name": "驿城区新面粉厂",
            "credit_code": make_credit_code("411702", 7788),
            "region": "411702",
            "name": "李厂长",
            "email": "li-flour@example.cn",
            "password": "Passw0rd-new1",
            "confirm": "Passw0rd-new1",
        },
    )
    # Sign-up answers alike for any e-mail and logs nobody in; the login that
    # follows the mailed confirmation picks the kept text up.
    assert signup.headers["Location"] == "/auth/login"
    from tests.mail_server import queued_link

    client.post(queued_link(db, "li-flour@example.cn"))
    login = client.post(
        "/auth/login",
        data={"email": "li-flour@example.cn", "password": "Passw0rd-new1"},
    )
    assert login.headers["Location"] == "/demands/resume"
    landed = client.get("/demands/resume")
    [challenge] = challenges(db)
    assert landed.headers["Location"] == f"/challenges/{challenge.id}/edit"
    creator = fresh(db).get(User, challenge.created_by_id)
    assert creator.email == "li-flour@example.cn"


def test_a_non_enterprise_gets_a_clear_refusal(university_client, client, db):
    refused = publish(university_client)
    assert refused.status_code == 403
    assert "只有企业用户可以把问题描述发布为技术需求" in refused.get_data(as_text=True)
    assert challenges(db) == []
    assert fresh(db).scalar(select(func.count(UnmetDemand.id))) == 0
    # A visitor who then logs in as a university keeps the text, gets the message.
    ask(client)
    publish(client)
    client.post(
        "/auth/login",
        data={"email": university_client.user.email, "password": PASSWORD},
    )
    resumed = client.get("/demands/resume")
    assert resumed.status_code == 403
    assert "只有企业用户" in resumed.get_data(as_text=True)
    assert challenges(db) == []


def test_nobody_resumes_another_sessions_text(app, client, factory, login, db):
    ask(client, "甲的秘密工艺问题：发酵罐染菌")
    publish(client, "甲的秘密工艺问题：发酵罐染菌")
    demand_id = fresh(db).scalar(select(UnmetDemand.id))
    thief = login(factory.user(factory.org(OrgKind.ENTERPRISE)))
    # Another session naming that row, with its own key or none at all.
    for key in (None, "a-key-of-my-own"):
        with thief.session_transaction() as session:
            session[kept.SESSION_KEY] = {"pending": demand_id, "key": key}
        response = thief.get("/demands/resume")
        assert response.headers["Location"] == "/challenges/new"
    assert challenges(db) == []
    # The draft form never takes a row id from the client.
    thief.post("/demands/draft", data={"text": "乙的问题", "demand": str(demand_id)})
    [challenge] = challenges(db)
    assert challenge.description == "乙的问题"
    assert fresh(db).get(UnmetDemand, demand_id).challenge_id is None


def test_the_kept_page_without_a_text(client):
    page = client.get("/demands/kept").get_data(as_text=True)
    assert "没有待发布的问题描述" in page


def test_publishing_needs_the_csrf_token(app, db):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    client.get("/")
    assert client.post("/demands/draft", data={"text": TEXT}).status_code == 400
    assert fresh(db).scalar(select(func.count(UnmetDemand.id))) == 0


# --- leads for the agencies --------------------------------------------------------


def test_agencies_and_the_bureau_see_leads(
    agency_client, bureau_client, enterprise_client, client, db
):
    ask(client, "匿名的问题：豆粕发酵异味大，联系 13912345678")
    ask(enterprise_client, "企业的问题：挂面干燥能耗高")
    publish(enterprise_client, "企业的问题：挂面干燥能耗高")
    for reader in (agency_client, bureau_client):
        page = reader.get("/demands/").get_data(as_text=True)
        assert "豆粕发酵异味大" in page and "13912345678" not in page
        assert "匿名访客" in page
        assert "挂面干燥能耗高" in page and enterprise_client.org.name in page
        assert "已转为需求草稿" in page or "已转为技术需求" in page
        # Newest first.
        assert page.index("挂面干燥能耗高") < page.index("豆粕发酵异味大")
    board = agency_client.get("/deals/").get_data(as_text=True)
    assert 'id="board-leads"' in board and "豆粕发酵异味大" in board


def test_others_cannot_see_leads(
    enterprise_client, university_client, client, factory, login
):
    ask(client, "匿名的问题：豆粕发酵异味大")
    for other in (enterprise_client, university_client):
        response = other.get("/demands/")
        assert response.status_code == 403
        assert "豆粕发酵异味大" not in response.get_data(as_text=True)
        assert 'id="board-leads"' not in other.get("/deals/").get_data(as_text=True)
    unverified = login(factory.user(factory.org(OrgKind.AGENCY, verified=False)))
    assert unverified.get("/demands/").status_code == 403
    anonymous = client.get("/demands/")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.location


def test_leads_are_paged(agency_client, app, db):
    for n in range(23):
        app.test_client().post("/match", data={"text": f"第{n:02d}号问题：秸秆利用"})
    first = agency_client.get("/demands/").get_data(as_text=True)
    second = agency_client.get("/demands/?page=2").get_data(as_text=True)
    assert "第22号问题" in first and "第03号问题" in first
    assert "第02号问题" not in first
    assert "第02号问题" in second and "第00号问题" in second
    assert "共 23 条" in first


def test_an_agency_takes_a_lead_once(agency_client, factory, login, bureau_client, db):
    ask(agency_client.application.test_client(), "污泥脱水困难")
    demand_id = fresh(db).scalar(select(UnmetDemand.id))
    taken = agency_client.post(f"/demands/{demand_id}/take")
    assert taken.status_code == 302
    demand = fresh(db).get(UnmetDemand, demand_id)
    assert demand.taken_by_id == agency_client.user.id
    assert demand.taken_by_org_id == agency_client.org.id
    assert fresh(db).scalar(
        select(AuditEvent.id).where(AuditEvent.action == "unmet_demand_taken")
    )
    page = agency_client.get("/demands/").get_data(as_text=True)
    assert "已接手" in page and agency_client.org.name in page
    rival = login(factory.user(factory.org(OrgKind.AGENCY)))
    again = rival.post(f"/demands/{demand_id}/take", follow_redirects=True)
    assert "该线索已被接手" in again.get_data(as_text=True)
    assert fresh(db).get(UnmetDemand, demand_id).taken_by_id == agency_client.user.id
    assert bureau_client.post(f"/demands/{demand_id}/take").status_code == 403
    assert agency_client.post("/demands/999999/take").status_code == 404
