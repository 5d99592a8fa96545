"""Sign-up, login, logout and password changes, with their bad input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.creditcode import make_credit_code
from marketplace.models import (
    AuditEvent,
    LoginSession,
    Organisation,
    OrgKind,
    User,
    UserRole,
    VerificationStatus,
)
from tests.conftest import PASSWORD
from tests.mail_server import queued_link


def signup_data(**overrides):
    data = {
        "kind": "enterprise",
        "org_name": "驻马店示例科技有限公司",
        "credit_code": make_credit_code("411702", 900001),
        "region": "411702",
        "name": "王经理",
        "email": "Boss@Example.cn",
        "password": "Huaihe-River9",
        "confirm": "Huaihe-River9",
    }
    data.update(overrides)
    return data


def counts(db):
    return (
        db.session.scalar(select(func.count(Organisation.id))),
        db.session.scalar(select(func.count(User.id))),
    )


def test_signup_creates_pending_org_and_admin(client, db):
    response = client.post("/auth/signup", data=signup_data())
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    org = db.session.scalar(select(Organisation))
    user = db.session.scalar(select(User))
    assert org.name == "驻马店示例科技有限公司"
    assert org.kind == OrgKind.ENTERPRISE
    assert org.verification_status == VerificationStatus.PENDING
    assert not org.verified
    assert user.email == "boss@example.cn"
    assert user.role == UserRole.ORG_ADMIN
    assert user.password_hash.startswith("scrypt:")
    # Not signed in by the sign-up itself (that would tell a new e-mail from a
    # registered one); the new administrator confirms the e-mail, then logs in.
    assert "如该邮箱此前未注册" in client.get("/auth/login").get_data(as_text=True)
    credentials = {"email": "boss@example.cn", "password": "Huaihe-River9"}
    assert client.post("/auth/login", data=credentials).status_code == 200
    client.post(queued_link(db, "boss@example.cn"))
    login = client.post("/auth/login", data=credentials)
    assert login.status_code == 302
    page = client.get(f"/orgs/{org.id}")
    assert "正在等待科技局审核" in page.get_data(as_text=True)


def _answer_page(client, response) -> str:
    """The page a sign-up answer leads to, without its per-session CSRF token."""
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return re.sub(r'name="csrf_token"[^>]*>', "", page)


def test_signup_does_not_tell_whether_an_email_is_registered(app, db, factory):
    existing = factory.user(factory.org(), email="taken@example.cn")
    before = counts(db)
    taken_client, fresh_client = app.test_client(), app.test_client()
    taken = taken_client.post(
        "/auth/signup", data=signup_data(email="Taken@Example.cn")
    )
    assert counts(db) == before  # nothing made for a registered e-mail
    fresh = fresh_client.post(
        "/auth/signup",
        data=signup_data(
            email="new@example.cn",
            org_name="另一家示例公司",
            credit_code=make_credit_code("411702", 900002),
        ),
    )
    assert counts(db) == (before[0] + 1, before[1] + 1)
    assert taken.headers["Location"] == fresh.headers["Location"]
    taken_page = _answer_page(taken_client, taken)
    assert "如该邮箱此前未注册" in taken_page
    assert "已注册" not in taken_page.replace("此前未注册", "")
    assert taken_page == _answer_page(fresh_client, fresh)
    # The registered account keeps its password; the attempt is audited.
    assert db.session.get(User, existing.id).password_hash == existing.password_hash
    assert db.session.scalar(
        select(AuditEvent.note).where(AuditEvent.action == "signup_email_taken")
    ) == "taken@example.cn"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"credit_code": make_credit_code("411702", 900001)[:-1] + "0"},
            "校验位不正确",
        ),
        ({"credit_code": "123"}, "18 位"),
        ({"org_name": "坏\x07名字"}, "控制字符"),
        ({"org_name": "长" * 101}, "100"),
        ({"kind": "bureau"}, "不是有效的选择"),
        ({"region": "999999"}, "不是有效的选择"),
        ({"email": "not-an-email"}, "有效的邮箱地址"),
        ({"password": "short1", "confirm": "short1"}, "密码长度应为 10–128 位"),
        ({"password": "Abcd1234", "confirm": "Abcd1234"}, "密码长度应为 10–128 位"),
        ({"password": "onlyletters", "confirm": "onlyletters"}, "字母和数字"),
        ({"password": "password12", "confirm": "password12"}, "常见或已泄露"),
        ({"password": "Password2026!", "confirm": "Password2026!"}, "常见或已泄露"),
        ({"password": "qwertyuiop1", "confirm": "qwertyuiop1"}, "常见或已泄露"),
        ({"confirm": "Different123"}, "不一致"),
    ],
)
def test_signup_bad_input_changes_nothing(client, db, overrides, message):
    before = counts(db)
    response = client.post("/auth/signup", data=signup_data(**overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert counts(db) == before


@pytest.mark.parametrize("field", ["org_name", "credit_code"])
def test_signup_duplicates_refused(client, db, factory, field):
    # Organisations are public: a taken name or code may be named (e-mails not).
    existing = factory.org(name="已注册机构")
    factory.user(existing, email="taken@example.cn")
    duplicate = {
        "org_name": {"org_name": existing.name},
        "credit_code": {"credit_code": existing.credit_code},
    }[field]
    before = counts(db)
    response = client.post("/auth/signup", data=signup_data(**duplicate))
    assert response.status_code == 200
    assert "已注册" in response.get_data(as_text=True)
    assert counts(db) == before


def test_login_success_and_failure_are_audited(client, db, factory):
    user = factory.user(factory.org())
    bad = client.post(
        "/auth/login", data={"email": user.email, "password": "wrong1234"}
    )
    assert bad.status_code == 200
    assert "邮箱或密码不正确" in bad.get_data(as_text=True)
    good = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert good.status_code == 302
    actions = db.session.scalars(
        select(AuditEvent.action).order_by(AuditEvent.id)
    ).all()
    assert actions[-2:] == ["login_failed", "login"]


def test_unknown_email_and_inactive_user_cannot_log_in(client, db, factory):
    user = factory.user(factory.org())
    db.session.get(User, user.id).active = False
    db.session.commit()
    for email in (user.email, "nobody@example.cn"):
        response = client.post(
            "/auth/login", data={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/orgs/", "/orgs/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_next_only_follows_local_paths(client, factory, target, expected):
    user = factory.user(factory.org())
    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_rotates_the_session(client, factory):
    user = factory.user(factory.org())
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_protected_page_redirects_anonymous_to_login(client, factory):
    org = factory.org()
    response = client.get(f"/orgs/{org.id}/members")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_logout_invalidates_the_old_cookie(app, factory, login):
    admin = factory.user(factory.org(), role=UserRole.ORG_ADMIN)
    client = login(admin)
    members_url = f"/orgs/{admin.org_id}/members"
    stolen = client.get_cookie("mp_session").value
    assert client.get(members_url).status_code == 200
    assert client.get("/auth/logout").status_code == 405  # logout is a POST
    assert client.post("/auth/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("mp_session", stolen)
    response = replay.get(members_url)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_password_change_ends_other_sessions(app, db, factory, login):
    user = factory.user(factory.org(), role=UserRole.ORG_ADMIN)
    phone, laptop = login(user), login(user)
    wrong = laptop.post(
        "/auth/password",
        data={
            "current": "wrong1234",
            "password": "NewPass-2026x",
            "confirm": "NewPass-2026x",
        },
    )
    assert "当前密码不正确" in wrong.get_data(as_text=True)
    done = laptop.post(
        "/auth/password",
        data={
            "current": PASSWORD,
            "password": "NewPass-2026x",
            "confirm": "NewPass-2026x",
        },
    )
    assert done.status_code == 302
    members_url = f"/orgs/{user.org_id}/members"
    assert laptop.get(members_url).status_code == 200
    assert phone.get(members_url).status_code == 302
    fresh = app.test_client()
    old = fresh.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert old.status_code == 200
    assert login(user, "NewPass-2026x").get(members_url).status_code == 200
    live = db.session.scalar(
        select(func.count(LoginSession.id)).where(
            LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
        )
    )
    assert live == 2  # the laptop's new session and the last login


def test_password_change_refuses_reusing_the_same_password(enterprise_client):
    response = enterprise_client.post(
        "/auth/password",
        data={"current": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
    )
    assert "不能与当前密码相同" in response.get_data(as_text=True)
