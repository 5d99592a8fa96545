"""E-mail through a real local SMTP server: reset, invitation, confirmation, digest.

The app is configured with MAIL_SERVER pointing at an aiosmtpd server on a free
port; each test reads what that server received.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.clock import utcnow
from marketplace.mail import links
from marketplace.mail.queue import deliver_due
from marketplace.models import MailStatus, OutgoingMail, User
from tests.conftest import PASSWORD
from tests.mail_server import Inbox, free_port

NEW_PASSWORD = "Qinghe-Bridge42"
Mail = namedtuple("Mail", "status attempts last_error next_attempt_at")


@pytest.fixture
def inbox():
    """A running SMTP server; stopped after the test."""
    box = Inbox(free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture
def app_config(app_config, inbox):
    return {
        **app_config,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": inbox.port,
        "MAIL_TIMEOUT": 5,
    }


def log_in(app, email: str, password: str):
    client = app.test_client()
    return client, client.post(
        "/auth/login", data={"email": email, "password": password}
    )


def mails(db) -> list[Mail]:
    """Every queued mail's state as committed now, read in a session of its own."""
    with Session(db.engine) as session:
        return [
            Mail(m.status, m.attempts, m.last_error, m.next_attempt_at)
            for m in session.scalars(select(OutgoingMail).order_by(OutgoingMail.id))
        ]


def test_password_reset_end_to_end_and_single_use(app, db, factory, client, inbox):
    user = factory.user(factory.org(), email="forgot@example.cn")
    answer = client.post("/auth/forgot", data={"email": "Forgot@Example.cn"})
    assert answer.headers["Location"] == "/auth/forgot"
    # Unknown addresses get the same answer and no mail.
    other = client.post("/auth/forgot", data={"email": "nobody@example.cn"})
    assert other.headers["Location"] == "/auth/forgot"
    assert "如该邮箱已注册" in client.get("/auth/forgot").get_data(as_text=True)
    assert len(inbox.messages) == 1
    [message] = inbox.to("forgot@example.cn")
    assert "重置密码" in message["Subject"]
    path = inbox.link("forgot@example.cn")
    assert path.startswith("/auth/reset/")
    assert "forgot@example.cn" in client.get(path).get_data(as_text=True)
    # A weak password is refused and the link still works.
    weak = client.post(path, data={"password": "12345678", "confirm": "12345678"})
    assert weak.status_code == 200
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "去登录" in done.get_data(as_text=True)
    assert log_in(app, user.email, PASSWORD)[1].status_code == 200
    assert log_in(app, user.email, NEW_PASSWORD)[1].status_code == 302
    # Used once: the same link is dead, for reading and for setting.
    assert client.get(path).status_code == 404
    again = client.post(path, data={"password": "Another-Pass77", "confirm": "x"})
    assert again.status_code == 404
    assert log_in(app, user.email, NEW_PASSWORD)[1].status_code == 302


def test_reset_link_expires_and_cannot_be_forged(app, db, factory, client, monkeypatch):
    user = factory.user(factory.org())
    with app.test_request_context():
        token = links.make_token(db.session.get(User, user.id), "reset")
    assert client.get(f"/auth/reset/{token}").status_code == 200
    assert client.get(f"/auth/reset/{token[:-2]}xx").status_code == 404
    # A reset token is not an invitation or a confirmation.
    assert client.get(f"/auth/invitation/{token}").status_code == 404
    later = utcnow() + timedelta(minutes=61)
    monkeypatch.setattr(links, "utcnow", lambda: later)
    assert client.get(f"/auth/reset/{token}").status_code == 404
    refused = client.post(
        f"/auth/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert refused.status_code == 404
    assert log_in(app, user.email, PASSWORD)[1].status_code == 302


def test_invitation_the_member_sets_their_own_password(
    app, db, org_admin_client, inbox
):
    org_id = org_admin_client.org.id
    form = org_admin_client.get(f"/orgs/{org_id}/members").get_data(as_text=True)
    assert 'type="password"' not in form  # the admin never chooses it
    answer = org_admin_client.post(
        f"/orgs/{org_id}/members",
        data={
            "email": "newbie@example.cn",
            "name": "新同事",
            "role": "member",
            "password": "Admin-Chosen99",  # ignored: no such field any more
        },
    )
    assert answer.status_code == 302
    [message] = inbox.to("newbie@example.cn")
    assert "邀请您加入" in message["Subject"]
    assert "Admin-Chosen99" not in inbox.body(message)
    # Until the invitee chooses a password nobody can log in as them.
    assert log_in(app, "newbie@example.cn", "Admin-Chosen99")[1].status_code == 200
    path = inbox.link("newbie@example.cn")
    assert path.startswith("/auth/invitation/")
    client = app.test_client()
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "去登录" in done.get_data(as_text=True)
    assert log_in(app, "newbie@example.cn", NEW_PASSWORD)[1].status_code == 302
    assert client.get(path).status_code == 404
    user = db.session.scalar(select(User).where(User.email == "newbie@example.cn"))
    assert user.org_id == org_id and user.email_confirmed_at is not None


def test_signup_confirmation_and_the_neutral_answer(app, db, factory, inbox):
    from marketplace.creditcode import make_credit_code
    from tests.test_auth import signup_data

    factory.user(factory.org(), email="taken@example.cn")
    client = app.test_client()
    fresh = client.post("/auth/signup", data=signup_data(email="new@example.cn"))
    taken = app.test_client().post(
        "/auth/signup",
        data=signup_data(
            email="taken@example.cn",
            org_name="另一家示例公司",
            credit_code=make_credit_code("411702", 900002),
        ),
    )
    assert fresh.headers["Location"] == taken.headers["Location"] == "/auth/login"
    # The owner of a registered address is told, with no confirmation link.
    [notice] = inbox.to("taken@example.cn")
    assert "尝试用您的邮箱注册" in notice["Subject"]
    assert "/auth/confirm/" not in inbox.body(notice)
    [first] = inbox.to("new@example.cn")
    assert "确认邮箱" in first["Subject"]
    # Unconfirmed: the right password does not log in, and a new link is sent.
    _, refused = log_in(app, "new@example.cn", "Huaihe-River9")
    assert refused.status_code == 200
    assert "邮箱尚未确认" in refused.get_data(as_text=True)
    assert len(inbox.to("new@example.cn")) == 2
    path = inbox.link("new@example.cn")
    assert client.get(path).status_code == 200  # a button, nothing done yet
    assert log_in(app, "new@example.cn", "Huaihe-River9")[1].status_code == 200
    assert "邮箱已确认" in client.post(path).get_data(as_text=True)
    assert log_in(app, "new@example.cn", "Huaihe-River9")[1].status_code == 302
    assert client.get(path).status_code == 404  # spent


def test_notification_mail_each_digest_or_off(app, db, factory, login, runner, inbox):
    org = factory.org()
    each, digest, off = (factory.user(org) for _ in range(3))
    for user, choice in ((digest, "digest"), (off, "off")):
        client = login(user)
        assert client.get("/notifications/settings").status_code == 200
        saved = client.post("/notifications/settings", data={"preference": choice})
        assert saved.status_code == 302
    with app.test_request_context():
        people = [db.session.get(User, u.id) for u in (each, digest, off)]
        audit.notify(people, "您的技术需求已通过审核。", "/challenges/1")
        audit.notify(people, "有新的揭榜申报。", "/challenges/1")
        db.session.commit()
    assert len(inbox.to(each.email)) == 2
    assert "您的技术需求已通过审核" in inbox.body(inbox.to(each.email)[0])
    assert inbox.to(digest.email) == [] and inbox.to(off.email) == []
    out = runner.invoke(args=["mail", "digest"])
    assert "已生成 1 封" in out.output
    assert runner.invoke(args=["mail", "send"]).exit_code == 0
    [daily] = inbox.to(digest.email)
    text = inbox.body(daily)
    assert "2 条未读通知" in text and "有新的揭榜申报" in text
    assert "http://127.0.0.1:5000/challenges/1" in text
    # The next digest carries only what came since; nothing new, no mail.
    runner.invoke(args=["mail", "digest"])
    runner.invoke(args=["mail", "send"])
    assert len(inbox.to(digest.email)) == 1 and inbox.to(off.email) == []


def test_smtp_down_nothing_is_lost(app, db, factory, client, inbox, runner):
    users = [factory.user(factory.org()) for _ in range(3)]
    inbox.stop()  # down for everything below, until started again
    for user in users:
        answer = client.post("/auth/forgot", data={"email": user.email})
        assert answer.status_code == 302
    queued = mails(db)
    assert len(queued) == 3
    # The send after commit failed: kept, tried once, due again after back-off.
    assert all(m.status == MailStatus.PENDING and m.attempts == 1 for m in queued)
    assert all(m.last_error for m in queued)
    out = runner.invoke(args=["mail", "send"])
    assert out.exit_code == 0 and "已发送 0 封" in out.output  # not due yet
    later = utcnow() + timedelta(hours=1)
    assert deliver_due(now=later) == (0, 3)
    second = mails(db)
    assert all(m.attempts == 2 for m in second)
    # Exponential back-off: the second failure waits twice the first's 60 s.
    for mail in second:
        wait = mail.next_attempt_at.replace(tzinfo=later.tzinfo) - later
        assert wait == timedelta(seconds=120)
    inbox.start()
    assert deliver_due(now=later + timedelta(hours=1)) == (3, 0)
    assert deliver_due(now=later + timedelta(hours=2)) == (0, 0)  # sent once
    assert sorted(m["To"] for m in inbox.messages) == sorted(u.email for u in users)
    assert all(m.status == MailStatus.SENT for m in mails(db))


def test_backoff_doubles_and_is_capped(app):
    from marketplace.mail.queue import backoff

    with app.app_context():
        waits = [backoff(n).total_seconds() for n in (1, 2, 3, 10, 30)]
    assert waits == [60, 120, 240, 6 * 3600, 6 * 3600]


def test_no_mail_server_keeps_mails_for_the_mailbox_page(
    app, db, factory, client, sysadmin_client, bureau_client, runner, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    user = factory.user(factory.org(), email="demo-user@example.cn")
    client.post("/auth/forgot", data={"email": user.email})
    [kept] = mails(db)
    assert kept.status == MailStatus.PENDING and kept.attempts == 0
    out = runner.invoke(args=["mail", "send"])
    assert "未配置 MAIL_SERVER" in out.output
    page = sysadmin_client.get("/admin/mail").get_data(as_text=True)
    assert "demo-user@example.cn" in page and "/auth/reset/" in page
    assert "待发送" in page
    # Sysadmins alone: bureau staff and members are refused.
    for other in (bureau_client, client):
        answer = other.get("/admin/mail")
        assert answer.status_code in (302, 403, 404)
        assert "/auth/reset/" not in answer.get_data(as_text=True)
    # With SMTP configured the page no longer shows the bodies (their links).
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    page = sysadmin_client.get("/admin/mail").get_data(as_text=True)
    assert "demo-user@example.cn" in page and "/auth/reset/" not in page
    assert len(mails(db)) == 1


def test_the_send_after_commit_takes_only_that_commits_mails(
    app, db, factory, client, inbox, monkeypatch
):
    # No wait after a failure: the early mail is due again at once, and still
    # the later request leaves it to the cron command.
    monkeypatch.setitem(app.config, "MAIL_RETRY_SECONDS", 0)
    early, late = factory.user(factory.org()), factory.user(factory.org())
    inbox.stop()
    client.post("/auth/forgot", data={"email": early.email})
    inbox.start()
    client.post("/auth/forgot", data={"email": late.email})
    # The request sent its own mail; the earlier one waits for the cron command.
    assert [m["To"] for m in inbox.messages] == [late.email]
    assert [m.status for m in mails(db)] == [MailStatus.PENDING, MailStatus.SENT]
    assert deliver_due() == (1, 0)
    assert sorted(m["To"] for m in inbox.messages) == sorted([early.email, late.email])


def test_reset_requests_cannot_flood_a_mailbox(db, factory, client, inbox, monkeypatch):
    from marketplace.auth import mail_flows

    user = factory.user(factory.org())
    for _ in range(3):
        answer = client.post("/auth/forgot", data={"email": user.email})
        assert answer.headers["Location"] == "/auth/forgot"
    assert len(inbox.to(user.email)) == 1
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(mail_flows, "utcnow", lambda: later)
    client.post("/auth/forgot", data={"email": user.email})
    assert len(inbox.to(user.email)) == 2
