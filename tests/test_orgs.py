"""Organisation profiles and member management."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.creditcode import make_credit_code
from marketplace.models import (
    Organisation,
    OrgKind,
    User,
    UserRole,
    VerificationStatus,
)
from tests.conftest import PASSWORD
from tests.mail_server import queued_link


def profile_data(org, **overrides):
    data = {
        "name": org.name,
        "credit_code": org.credit_code,
        "region": org.region_code,
        "description": "专注于食品加工装备研发。\n第二行。",
        "website": "https://example.cn",
        "contact_phone": "0396-1234567",
    }
    data.update(overrides)
    return data


def test_directory_lists_verified_orgs_only(client, factory):
    factory.org(name="已认证企业")
    factory.org(name="待审核企业", verified=False)
    page = client.get("/orgs/").get_data(as_text=True)
    assert "已认证企业" in page
    assert "待审核企业" not in page
    filtered = client.get("/orgs/", query_string={"kind": "university"})
    assert "已认证企业" not in filtered.get_data(as_text=True)


def test_directory_filters_survive_odd_input(client, factory):
    factory.org(name="百分号%企业")
    for params in (
        {"q": "%"},
        {"q": "_"},
        {"kind": "bogus"},
        {"region": "x"},
        {"page": "-3"},
        {"page": "abc"},
    ):
        assert client.get("/orgs/", query_string=params).status_code == 200
    assert client.get("/orgs/", query_string={"q": "\x00"}).status_code == 400
    page = client.get("/orgs/", query_string={"q": "%"}).get_data(as_text=True)
    assert "百分号%企业" in page


def test_admin_edits_profile_without_reverification(org_admin_client, db):
    org = org_admin_client.org
    response = org_admin_client.post(f"/orgs/{org.id}/edit", data=profile_data(org))
    assert response.status_code == 302
    saved = db.session.get(Organisation, org.id)
    assert saved.description.startswith("专注于食品加工装备研发")
    assert saved.verified


def test_identity_change_sends_org_back_for_review(org_admin_client, db):
    org = org_admin_client.org
    response = org_admin_client.post(
        f"/orgs/{org.id}/edit", data=profile_data(org, name="改名后的企业")
    )
    assert response.status_code == 302
    saved = db.session.get(Organisation, org.id)
    assert saved.name == "改名后的企业"
    assert not saved.verified
    assert saved.verification_status == VerificationStatus.PENDING


def test_profile_bad_input_changes_nothing(org_admin_client, factory, db):
    org = org_admin_client.org
    other = factory.org(name="另一家企业")
    cases = [
        ({"credit_code": org.credit_code[:-1] + "Z"}, "无效字符"),
        ({"credit_code": other.credit_code}, "已被其他机构使用"),
        ({"name": other.name}, "已被其他机构使用"),
        ({"website": "javascript:alert(1)"}, "http"),
        ({"description": "x" * 5001}, "5000"),
        ({"contact_phone": "123\x1b456"}, "控制字符"),
    ]
    for overrides, message in cases:
        response = org_admin_client.post(
            f"/orgs/{org.id}/edit", data=profile_data(org, **overrides)
        )
        assert response.status_code == 200, overrides
        assert message in response.get_data(as_text=True), overrides
    db.session.expire_all()
    saved = db.session.get(Organisation, org.id)
    assert (saved.name, saved.credit_code, saved.description) == (
        org.name,
        org.credit_code,
        "",
    )


def test_admin_invites_member_who_sets_their_own_password(org_admin_client, app, db):
    org = org_admin_client.org
    response = org_admin_client.post(
        f"/orgs/{org.id}/members",
        data={"email": "colleague@example.cn", "name": "李工", "role": "member"},
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "colleague@example.cn"))
    assert user.org_id == org.id and user.role == UserRole.MEMBER
    # Invited by mail: no password anyone knows until the member picks one.
    path = queued_link(db, "colleague@example.cn")
    assert path.startswith("/auth/invitation/")
    client = app.test_client()
    client.post(path, data={"password": "Initial-123x", "confirm": "Initial-123x"})
    login = app.test_client().post(
        "/auth/login",
        data={"email": "colleague@example.cn", "password": "Initial-123x"},
    )
    assert login.status_code == 302


def test_add_member_duplicate_email_refused(org_admin_client, factory, db):
    org = org_admin_client.org
    existing = factory.user(factory.org())
    response = org_admin_client.post(
        f"/orgs/{org.id}/members",
        data={
            "email": existing.email,
            "name": "重复",
            "role": "member",
        },
    )
    assert "该邮箱已注册" in response.get_data(as_text=True)


def test_role_change_and_last_admin_protected(org_admin_client, factory, db):
    org = org_admin_client.org
    me = org_admin_client.user
    member = factory.user(org)
    url = f"/orgs/{org.id}/members"
    org_admin_client.post(f"{url}/{me.id}/role", data={"role": "member"})
    assert db.session.get(User, me.id).role == UserRole.ORG_ADMIN
    org_admin_client.post(f"{url}/{member.id}/role", data={"role": "org_admin"})
    db.session.expire_all()
    assert db.session.get(User, member.id).role == UserRole.ORG_ADMIN
    org_admin_client.post(f"{url}/{member.id}/role", data={"role": "superuser"})
    db.session.expire_all()
    assert db.session.get(User, member.id).role == UserRole.ORG_ADMIN


def test_deactivated_member_is_logged_out(org_admin_client, factory, login, db):
    org = org_admin_client.org
    member = factory.user(org)
    member_client = login(member)
    assert member_client.get("/auth/password").status_code == 200
    response = org_admin_client.post(
        f"/orgs/{org.id}/members/{member.id}/active", data={"active": "0"}
    )
    assert response.status_code == 302
    assert member_client.get("/auth/password").status_code == 302
    again = member_client.post(
        "/auth/login", data={"email": member.email, "password": PASSWORD}
    )
    assert again.status_code == 200


def test_refused_org_resubmits(app, factory, login, db):
    org = factory.org(OrgKind.INSTITUTE, verified=False)
    admin = factory.user(org, role=UserRole.ORG_ADMIN)
    stored = db.session.get(Organisation, org.id)
    stored.verification_status = VerificationStatus.REFUSED
    stored.refusal_reason = "证照不清晰"
    db.session.commit()
    client = login(admin)
    page = client.get(f"/orgs/{org.id}").get_data(as_text=True)
    assert "证照不清晰" in page
    assert client.post(f"/orgs/{org.id}/resubmit").status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).verification_status == "pending"
    # A second resubmission is refused: it is no longer refused.
    client.post(f"/orgs/{org.id}/resubmit")
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).verification_status == "pending"


def test_profile_escapes_html(client, factory, db):
    org = factory.org(name="<script>alert(1)</script>企业")
    stored = db.session.get(Organisation, org.id)
    stored.description = '<img src=x onerror="alert(1)">'
    db.session.commit()
    page = client.get(f"/orgs/{org.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<img src=x" not in page


def test_credit_code_for_generated_orgs_is_unique(factory):
    a = factory.org()
    b = factory.org()
    assert a.credit_code != b.credit_code
    assert make_credit_code("411702", 1) != a.credit_code or a.credit_code
