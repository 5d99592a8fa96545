"""The sysadmin's area: account actions with reasons and audit rows, the guard
on the last operator, organisation search, and who is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.admin import routes as admin_routes
from marketplace.admin import services
from marketplace.exceptions import StateError
from marketplace.extensions import db as _db
from marketplace.models import AuditEvent, LoginSession, OrgKind, User, UserRole
from tests.conftest import PASSWORD

PAGES = ["/admin/", "/admin/users", "/admin/orgs", "/admin/audit", "/admin/audit.csv"]


def text(response) -> str:
    return response.get_data(as_text=True)


def events(db, action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
    )


def fresh(db, user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def logged_in(client) -> bool:
    """Whether the client's session still opens a page that needs a login."""
    return client.get("/notifications/").status_code == 200


@pytest.fixture
def target(factory, login):
    """An enterprise member who is logged in."""
    org = factory.org(OrgKind.ENTERPRISE, name="被管理企业")
    user = factory.user(org, email="target@example.cn")
    client = login(user)
    client.user = user
    return client


def test_every_other_role_is_refused(
    db,
    client,
    target,
    bureau_client,
    enterprise_client,
    org_admin_client,
    university_client,
    institute_client,
    agency_client,
    unverified_client,
):
    user_id = target.user.id
    others = [
        bureau_client,
        enterprise_client,
        org_admin_client,
        university_client,
        institute_client,
        agency_client,
        unverified_client,
    ]
    for other in others:
        for path in [*PAGES, f"/admin/users/{user_id}"]:
            assert other.get(path).status_code == 403, path
        for action in ("deactivate", "sessions"):
            response = other.post(
                f"/admin/users/{user_id}/{action}", data={"reason": "越权"}
            )
            assert response.status_code == 403
        response = other.post(
            f"/admin/users/{user_id}/role", data={"role": "org_admin", "reason": "x"}
        )
        assert response.status_code == 403
    assert client.get("/admin/users").status_code == 302
    assert "/auth/login" in client.get("/admin/users").location
    account = fresh(db, target.user)
    assert account.active and account.role == UserRole.MEMBER
    assert logged_in(target)
    assert not events(db, "admin_user_deactivated")


def test_deactivate_ends_sessions_and_reactivate_lets_back_in(
    db, app, target, sysadmin_client
):
    user_id = target.user.id
    refused = sysadmin_client.post(f"/admin/users/{user_id}/deactivate", data={})
    assert refused.status_code == 302
    assert "请填写操作原因" in text(sysadmin_client.get(refused.location))
    assert fresh(db, target.user).active and not events(db, "admin_user_deactivated")

    done = sysadmin_client.post(
        f"/admin/users/{user_id}/deactivate", data={"reason": "离职，账号停用"}
    )
    assert done.location.endswith(f"/admin/users/{user_id}")
    assert not fresh(db, target.user).active
    assert not logged_in(target)
    [event] = events(db, "admin_user_deactivated")
    assert event.user_id == sysadmin_client.user.id
    assert (event.object_type, event.object_id) == ("users", user_id)
    assert (event.from_state, event.to_state) == ("active", "inactive")
    assert event.note == "离职，账号停用"
    again = app.test_client().post(
        "/auth/login", data={"email": "target@example.cn", "password": PASSWORD}
    )
    assert again.status_code != 302

    page = text(sysadmin_client.get(f"/admin/users/{user_id}"))
    assert "已停用" in page and "停用账号" in page and "离职，账号停用" in page
    sysadmin_client.post(f"/admin/users/{user_id}/reactivate", data={"reason": "返聘"})
    assert fresh(db, target.user).active
    [back] = events(db, "admin_user_reactivated")
    assert back.note == "返聘" and back.to_state == "active"
    back_in = app.test_client().post(
        "/auth/login", data={"email": "target@example.cn", "password": PASSWORD}
    )
    assert back_in.status_code == 302


def test_reset_sessions_logs_every_device_out(db, login, target, sysadmin_client):
    second = login(target.user)
    assert logged_in(target) and logged_in(second)
    sysadmin_client.post(
        f"/admin/users/{target.user.id}/sessions", data={"reason": "疑似泄露"}
    )
    assert not logged_in(target) and not logged_in(second)
    assert fresh(db, target.user).active
    [event] = events(db, "admin_sessions_reset")
    assert event.note.startswith("疑似泄露") and "2" in event.note
    assert event.object_id == target.user.id
    still_open = db.session.scalars(
        select(LoginSession).where(
            LoginSession.user_id == target.user.id, LoginSession.revoked_at.is_(None)
        )
    ).all()
    assert still_open == []
    assert logged_in(login(target.user))


def test_change_role_with_audit_and_operators_are_bureau_staff(
    db, factory, target, sysadmin_client
):
    user_id = target.user.id
    sysadmin_client.post(
        f"/admin/users/{user_id}/role", data={"role": "org_admin", "reason": "接任"}
    )
    assert fresh(db, target.user).role == UserRole.ORG_ADMIN
    [event] = events(db, "admin_role_changed")
    assert (event.from_state, event.to_state, event.note) == (
        "member",
        "org_admin",
        "接任",
    )
    refused = sysadmin_client.post(
        f"/admin/users/{user_id}/role", data={"role": "sysadmin", "reason": "试试"}
    )
    assert "只能由科技局工作人员担任" in text(sysadmin_client.get(refused.location))
    assert not fresh(db, target.user).is_sysadmin
    staff = factory.user(sysadmin_client.org)
    sysadmin_client.post(
        f"/admin/users/{staff.id}/role", data={"role": "sysadmin", "reason": "值班"}
    )
    assert fresh(db, staff).is_sysadmin
    assert len(events(db, "admin_role_changed")) == 2
    listing = text(sysadmin_client.get("/admin/users?role=sysadmin"))
    assert staff.email in listing and target.user.email not in listing


def test_no_operator_removes_himself_or_the_last_one(db, app, factory, sysadmin_client):
    me = sysadmin_client.user.id
    for path, data in (
        ("deactivate", {"reason": "误操作"}),
        ("role", {"role": "member", "reason": "误操作"}),
    ):
        response = sysadmin_client.post(f"/admin/users/{me}/{path}", data=data)
        assert "不能" in text(sysadmin_client.get(response.location))
    account = fresh(db, sysadmin_client.user)
    assert account.active and account.is_sysadmin
    assert not events(db, "admin_user_deactivated")
    assert not events(db, "admin_role_changed")
    # Whoever acts (a command, or an operator demoted meanwhile), the last
    # active operator keeps the role.
    staff = factory.user(sysadmin_client.org)
    with app.app_context():
        last = _db.session.get(User, me)
        actor = _db.session.get(User, staff.id)
        with pytest.raises(StateError, match="最后一名"):
            services.set_active(actor, last, False, "清理")
        with pytest.raises(StateError, match="最后一名"):
            services.change_role(actor, last, "member", "清理")
    # With a second operator, one may step the other down.
    other = factory.user(sysadmin_client.org, is_sysadmin=True)
    sysadmin_client.post(
        f"/admin/users/{other.id}/role", data={"role": "member", "reason": "轮岗"}
    )
    assert not fresh(db, other).is_sysadmin


def test_users_are_searched_and_paged(db, factory, sysadmin_client, monkeypatch):
    org = factory.org(OrgKind.UNIVERSITY, name="搜索大学")
    alice = factory.user(org, email="alice-find@example.cn")
    factory.user(org, email="bob-find@example.cn", role=UserRole.ORG_ADMIN)
    page = text(sysadmin_client.get("/admin/users?q=alice-find"))
    assert alice.email in page and "bob-find" not in page
    by_org = text(sysadmin_client.get("/admin/users?q=搜索大学"))
    assert "alice-find" in by_org and "bob-find" in by_org
    admins = text(sysadmin_client.get("/admin/users?q=find&role=org_admin"))
    assert "bob-find" in admins and "alice-find" not in admins
    monkeypatch.setattr(admin_routes, "PER_PAGE", 1)
    first = text(sysadmin_client.get(f"/admin/users?org={org.id}"))
    second = text(sysadmin_client.get(f"/admin/users?org={org.id}&page=2"))
    assert "第 1 / 2 页" in first and "第 2 / 2 页" in second
    assert ("alice-find" in first) != ("alice-find" in second)


def test_orgs_are_searched_with_their_verification_state(factory, sysadmin_client):
    factory.org(OrgKind.ENTERPRISE, name="待审核的企业甲", verified=False)
    factory.org(OrgKind.ENTERPRISE, name="已认证的企业乙")
    pending = text(sysadmin_client.get("/admin/orgs?q=企业&status=pending"))
    assert "待审核的企业甲" in pending and "已认证的企业乙" not in pending
    assert "待审核" in pending and "去审核" in pending
    found = text(sysadmin_client.get("/admin/orgs?q=企业乙"))
    assert "已认证的企业乙" in found and "已认证" in found and "/orgs/" in found


def test_the_sysadmin_menu_is_the_admin_area(sysadmin_client, bureau_client):
    mine = text(sysadmin_client.get("/"))
    assert "系统管理" in mine and "/admin/audit" in mine and "/auth/locks" in mine
    assert "信息审核" not in mine
    theirs = text(bureau_client.get("/"))
    assert "信息审核" in theirs and "/admin/" not in theirs
    front = text(sysadmin_client.get("/admin/"))
    assert "/auth/locks" in front and "/admin/users" in front
