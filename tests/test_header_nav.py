"""The header's menus follow the viewer's role, from flags the header prepares."""

from __future__ import annotations

from marketplace.models import OrgKind
from tests.factories import make_expert

ENTRIES = {
    "challenges": "我的技术需求",
    "results": "我的科技成果",
    "projects": "我的揭榜项目",
    "panels": "我的评审任务",
    "integrity": "科研诚信记录",
    "tokens": "API 令牌",
}


def shown(client) -> set[str]:
    page = client.get("/notifications/").get_data(as_text=True)
    return {key for key, words in ENTRIES.items() if words in page}


def test_an_enterprise_member_sees_its_own_menu(enterprise_client):
    assert shown(enterprise_client) == {"challenges", "projects", "integrity"}


def test_a_university_expert_sees_results_and_review_tasks(db, factory, login):
    org = factory.org(kind=OrgKind.UNIVERSITY)
    user = factory.user(org)
    make_expert(user)
    client = login(user)
    assert shown(client) == {"results", "projects", "panels", "integrity"}


def test_the_bureau_sees_its_desk_and_tokens(bureau_client):
    page = bureau_client.get("/notifications/").get_data(as_text=True)
    assert "信息审核" in page and "系统管理" not in page
    assert shown(bureau_client) == {"tokens"}


def test_the_operator_sees_the_admin_area(sysadmin_client):
    page = sysadmin_client.get("/notifications/").get_data(as_text=True)
    assert "系统管理" in page and "信息审核" not in page
