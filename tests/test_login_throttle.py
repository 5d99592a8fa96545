"""Failed logins lock the account (and a guessing address) in the database.

tests/test_login_throttle_live.py shows the same over 4 gunicorn workers
without Redis; here, inside one process, each rule and its edges.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.clock import utcnow
from marketplace.models import AuditEvent, LoginThrottle, ThrottleScope
from tests.conftest import PASSWORD

LOCKED = "登录失败次数过多"
WRONG = "Wrong-pass-1"


def attempt(client, email: str, password: str = WRONG):
    return client.post("/auth/login", data={"email": email, "password": password})


def text(response) -> str:
    return response.get_data(as_text=True)


def row(db, scope: ThrottleScope, key: str) -> LoginThrottle | None:
    db.session.expire_all()
    return db.session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.scope == scope, LoginThrottle.key == key
        )
    )


def test_account_locks_after_five_failures_even_for_the_right_password(
    client, db, factory
):
    user = factory.user(factory.org())
    for _ in range(4):
        failed = attempt(client, user.email)
        assert failed.status_code == 200
        assert "邮箱或密码不正确" in text(failed)
    fifth = attempt(client, user.email)
    assert fifth.status_code == 429
    assert LOCKED in text(fifth) and "该账号已暂时锁定" in text(fifth)
    # Locked: the right and a wrong password get the very same answer.
    right = attempt(client, user.email, PASSWORD)
    wrong = attempt(client, user.email, "another-wrong-9")
    assert right.status_code == wrong.status_code == 429
    assert text(right) == text(wrong)
    assert "邮箱或密码不正确" not in text(right)
    assert attempt(client, user.email.upper(), PASSWORD).status_code == 429
    locked = row(db, ThrottleScope.ACCOUNT, user.email)
    assert locked.failures == 5 and locked.locks == 1
    minutes = (locked.locked_until - locked.last_failed_at).total_seconds() / 60
    assert minutes == pytest.approx(15)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("login_failed") == 5
    assert "login_locked" in actions and "login_refused_locked" in actions


def test_an_unknown_email_locks_the_same_way(client, db):
    answers = [attempt(client, "nobody@example.cn") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 4 + [429, 429]
    assert "该账号已暂时锁定" in text(answers[-1])
    assert row(db, ThrottleScope.ACCOUNT, "nobody@example.cn").locks == 1


def test_a_success_resets_the_account_count(app, client, db, factory):
    user = factory.user(factory.org())
    for _ in range(4):
        attempt(client, user.email)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    assert row(db, ThrottleScope.ACCOUNT, user.email) is None
    # The address keeps its count: a success must not wipe a guesser's record.
    assert row(db, ThrottleScope.ADDRESS, "127.0.0.1").failures == 4
    other = factory.user(factory.org()).email
    fresh = app.test_client()
    assert all(attempt(fresh, user.email).status_code == 200 for _ in range(4))
    assert attempt(fresh, other, PASSWORD).status_code == 302


def lock_that_ran_out(client, db, email: str) -> None:
    """Five failures lock the account; then move its lock into the past."""
    for _ in range(5):
        attempt(client, email)
    locked = row(db, ThrottleScope.ACCOUNT, email)
    locked.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_the_next_lock_lasts_twice_as_long(client, db, factory):
    user = factory.user(factory.org())
    lock_that_ran_out(client, db, user.email)
    for _ in range(5):
        attempt(client, user.email)
    again = row(db, ThrottleScope.ACCOUNT, user.email)
    assert again.locks == 2
    minutes = (again.locked_until - again.last_failed_at).total_seconds() / 60
    assert minutes == pytest.approx(30)


def test_an_expired_lock_lets_the_right_password_in(client, db, factory):
    user = factory.user(factory.org())
    lock_that_ran_out(client, db, user.email)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    assert row(db, ThrottleScope.ACCOUNT, user.email) is None


def test_a_guessing_address_is_locked_for_every_account(app, client, db, factory):
    app.config["LOGIN_ADDRESS_LOCK_AFTER"] = 8
    victims = [factory.user(factory.org()).email for _ in range(2)]
    # Four failures on each of two accounts: neither account is locked ...
    for email in victims:
        for _ in range(4):
            attempt(client, email)
    # ... but the eighth failure from one address locked the address.
    assert row(db, ThrottleScope.ADDRESS, "127.0.0.1").locks == 1
    bystander = factory.user(factory.org())
    refused = attempt(client, bystander.email, PASSWORD)
    assert refused.status_code == 429
    assert "您所在的网络地址已暂时锁定" in text(refused)


@pytest.fixture
def limited_app(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    # The account lock out of the way: only Flask-Limiter's rate is looked at.
    app_config["LOGIN_LOCK_AFTER"] = 100
    return app_config


def test_the_rate_limit_never_refuses_a_colleagues_right_password(
    limited_app, app, factory
):
    # Flask-Limiter used to count per address alone: ten failures on one
    # account answered 429 to everyone's right password from that address.
    client = app.test_client()
    guessed = factory.user(factory.org())
    colleague = factory.user(factory.org())
    for _ in range(10):
        assert attempt(client, guessed.email).status_code == 200
    assert attempt(client, guessed.email, PASSWORD).status_code == 429
    assert attempt(client, colleague.email, PASSWORD).status_code == 302


def test_only_the_sysadmin_sees_and_lifts_locks(
    db, client, factory, sysadmin_client, bureau_client, enterprise_client
):
    user = factory.user(factory.org())
    for _ in range(5):
        attempt(client, user.email)
    for other in (bureau_client, enterprise_client):
        assert other.get("/auth/locks").status_code == 403
    locked = row(db, ThrottleScope.ACCOUNT, user.email).id
    for other in (bureau_client, enterprise_client):
        assert other.post(f"/auth/locks/{locked}/unlock").status_code == 403
    assert row(db, ThrottleScope.ACCOUNT, user.email) is not None
    page = text(sysadmin_client.get("/auth/locks"))
    assert user.email in page and "锁定至" in page and "127.0.0.1" in page
    done = sysadmin_client.post(f"/auth/locks/{locked}/unlock")
    assert done.status_code == 302
    assert row(db, ThrottleScope.ACCOUNT, user.email) is None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "login_unlocked")
    )
    assert event.user_id == sysadmin_client.user.id and user.email in event.note
    assert attempt(client, user.email, PASSWORD).status_code == 302
    missing = sysadmin_client.post(f"/auth/locks/{locked}/unlock")
    assert "没有这条登录失败记录" in text(sysadmin_client.get(missing.location))
