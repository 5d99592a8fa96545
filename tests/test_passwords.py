"""The password rule: 10+ characters, letters and digits, not a common password."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.auth import passwords
from marketplace.auth import services as accounts
from marketplace.exceptions import ServiceError
from marketplace.models import Organisation, User
from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password1", "长度"),  # accepted before: 9 characters
        ("aaaaaaa1", "长度"),  # accepted before
        ("password12", "常见或已泄露"),
        ("Password2026!", "常见或已泄露"),  # a listed word with digits around it
        ("2026iloveyou", "常见或已泄露"),
        ("1234567890q", "常见或已泄露"),
        ("aaaaaaaaa1", "重复字符"),
        ("", "长度"),
        ("x1" * 65, "长度"),
        ("abcdefghijk", "字母和数字"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, reason):
    assert reason in passwords.password_problem(password)


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "Huaihe-River9", "Expert2026x", "Demo@Zmd2026", "密码是Zmd2026"],
)
def test_good_passwords_pass(password):
    assert passwords.password_problem(password) is None


def test_the_list_is_shipped_with_its_source():
    common = passwords.common_passwords()
    assert len(common) > 19_000
    assert {"password1", "aaaaaaa1", "qwertyuiop", "1234567890"} <= common
    notice = passwords.COMMON_LIST.with_name("common_passwords.NOTICE").read_text()
    assert "Django" in notice and "Royce Williams" in notice


def test_every_way_of_making_an_account_applies_the_rule(app, db, factory):
    org = db.session.get(Organisation, factory.org().id)
    with pytest.raises(ServiceError) as refused:
        accounts.create_user(org=org, email="weak@example.cn", password="password12")
    assert "常见或已泄露" in refused.value.message
    assert refused.value.field == "password"
    assert (
        db.session.scalar(
            select(func.count(User.id)).where(User.email == "weak@example.cn")
        )
        == 0
    )


def test_an_invited_member_cannot_choose_a_common_password(
    org_admin_client, client, db
):
    from tests.mail_server import queued_link

    org = org_admin_client.org
    org_admin_client.post(
        f"/orgs/{org.id}/members",
        data={"email": "colleague@example.cn", "name": "李工", "role": "member"},
    )
    path = queued_link(db, "colleague@example.cn")
    before = db.session.scalar(
        select(User.password_hash).where(User.email == "colleague@example.cn")
    )
    response = client.post(
        path, data={"password": "iloveyou123", "confirm": "iloveyou123"}
    )
    assert response.status_code == 200
    assert "常见或已泄露" in response.get_data(as_text=True)
    assert (
        db.session.scalar(
            select(User.password_hash).where(User.email == "colleague@example.cn")
        )
        == before
    )


def test_password_change_refuses_a_common_or_short_password(enterprise_client, db):
    for new, reason in (("Password2026!", "常见或已泄露"), ("Abcd1234", "长度")):
        response = enterprise_client.post(
            "/auth/password",
            data={"current": PASSWORD, "password": new, "confirm": new},
        )
        assert response.status_code == 200
        assert reason in response.get_data(as_text=True)
    user = db.session.get(User, enterprise_client.user.id)
    with pytest.raises(ServiceError):
        accounts.change_password(user, PASSWORD, "qwerty123456")
