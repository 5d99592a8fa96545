"""In-app notifications: the list page, marking read, the navbar badge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.clock import utcnow
from marketplace.models import Notification


def add_notes(db, user_id, *specs, read=False):
    """Notifications (message, link) for a user, oldest first; returns their ids."""
    start = utcnow() - timedelta(hours=len(specs))
    notes = [
        Notification(
            user_id=user_id,
            message=message,
            link=link,
            created_at=start + timedelta(minutes=index),
            read_at=utcnow() if read else None,
        )
        for index, (message, link) in enumerate(specs)
    ]
    db.session.add_all(notes)
    db.session.commit()
    return [n.id for n in notes]


def read_at(db, note_id):
    db.session.expire_all()
    return db.session.get(Notification, note_id).read_at


def unread_count(db, user_id):
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    )


def test_list_shows_own_notifications_newest_first(
    enterprise_client, university_client, db
):
    user = enterprise_client.user
    add_notes(db, user.id, ("较早的通知", "/orgs/"), ("较新的通知", "/results/1"))
    add_notes(db, user.id, ("已读的通知", "/orgs/"), read=True)
    add_notes(db, university_client.user.id, ("别人的通知", "/orgs/"))
    page = enterprise_client.get("/notifications/").get_data(as_text=True)
    assert "较早的通知" in page and "较新的通知" in page and "已读的通知" in page
    assert "别人的通知" not in page
    assert page.index("较新的通知") < page.index("较早的通知")
    assert page.count("notification-unread") == 2
    assert "未读 2 条" in page
    # A read notification is a plain link; an unread one a button that marks it.
    assert 'href="/orgs/"' in page
    assert "全部标为已读" in page


def test_list_is_paginated(enterprise_client, db):
    specs = [(f"第{i:02d}条通知", "") for i in range(25)]
    add_notes(db, enterprise_client.user.id, *specs)
    first = enterprise_client.get("/notifications/").get_data(as_text=True)
    assert "第24条通知" in first and "第00条通知" not in first
    assert "/notifications/?page=2" in first
    second = enterprise_client.get("/notifications/?page=2").get_data(as_text=True)
    assert "第00条通知" in second and "第24条通知" not in second
    assert enterprise_client.get("/notifications/?page=99").status_code == 200
    assert enterprise_client.get("/notifications/?page=x").status_code == 200


def test_empty_list(enterprise_client):
    page = enterprise_client.get("/notifications/").get_data(as_text=True)
    assert "暂无通知" in page and "全部标为已读" not in page


def test_anonymous_is_sent_to_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/auth/login" in response.location
    assert client.post("/notifications/read-all").status_code == 302


def test_mark_read_redirects_to_the_link(enterprise_client, db):
    (note_id,) = add_notes(db, enterprise_client.user.id, ("新成果", "/results/7"))
    response = enterprise_client.post(f"/notifications/{note_id}/read")
    assert response.status_code == 302
    assert response.location == "/results/7"
    first = read_at(db, note_id)
    assert first is not None
    # Reading again keeps the first time and still follows the link.
    enterprise_client.post(f"/notifications/{note_id}/read")
    assert read_at(db, note_id) == first


def test_mark_read_without_link_returns_to_list(enterprise_client, db):
    (note_id,) = add_notes(db, enterprise_client.user.id, ("没有链接", ""))
    response = enterprise_client.post(f"/notifications/{note_id}/read")
    assert response.location.endswith("/notifications/")
    assert read_at(db, note_id) is not None


def test_mark_read_needs_post(enterprise_client, db):
    (note_id,) = add_notes(db, enterprise_client.user.id, ("通知", "/orgs/"))
    assert enterprise_client.get(f"/notifications/{note_id}/read").status_code == 405
    assert read_at(db, note_id) is None


def test_other_users_notification_is_404_and_unchanged(
    enterprise_client, university_client, db
):
    (note_id,) = add_notes(db, university_client.user.id, ("别人的通知", "/orgs/"))
    response = enterprise_client.post(f"/notifications/{note_id}/read")
    assert response.status_code == 404
    assert read_at(db, note_id) is None
    assert enterprise_client.post("/notifications/999999/read").status_code == 404


def test_read_all_marks_only_own(enterprise_client, university_client, db):
    user = enterprise_client.user
    add_notes(db, user.id, ("一", ""), ("二", "/orgs/"), ("三", "/results/1"))
    add_notes(db, university_client.user.id, ("别人的", ""))
    response = enterprise_client.post("/notifications/read-all", follow_redirects=True)
    assert "已将 3 条通知标为已读" in response.get_data(as_text=True)
    assert unread_count(db, user.id) == 0
    assert unread_count(db, university_client.user.id) == 1
    again = enterprise_client.post("/notifications/read-all", follow_redirects=True)
    assert "没有未读通知" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "results/1",
    ],
)
def test_unsafe_link_is_shown_as_text_and_never_followed(enterprise_client, db, link):
    (note_id,) = add_notes(db, enterprise_client.user.id, ("可疑链接", link))
    page = enterprise_client.get("/notifications/").get_data(as_text=True)
    assert f'href="{link}"' not in page
    assert "未启用" in page and "可疑链接" in page
    response = enterprise_client.post(f"/notifications/{note_id}/read")
    assert response.location.endswith("/notifications/")
    assert read_at(db, note_id) is not None
    add_notes(db, enterprise_client.user.id, ("已读可疑", link), read=True)
    page = enterprise_client.get("/notifications/").get_data(as_text=True)
    assert f'href="{link}"' not in page


def test_message_html_is_escaped(enterprise_client, db):
    add_notes(db, enterprise_client.user.id, ("<b>粗体</b><script>x()</script>", ""))
    page = enterprise_client.get("/notifications/").get_data(as_text=True)
    assert "<script>x()</script>" not in page
    assert "&lt;b&gt;粗体&lt;/b&gt;" in page


def test_navbar_badge_counts_unread(enterprise_client, db):
    user = enterprise_client.user
    ids = add_notes(db, user.id, ("一", "/orgs/"), ("二", "/orgs/"))
    add_notes(db, user.id, ("旧", ""), read=True)
    assert "未读通知 2 条" in enterprise_client.get("/").get_data(as_text=True)
    enterprise_client.post(f"/notifications/{ids[0]}/read")
    page = enterprise_client.get("/").get_data(as_text=True)
    assert "未读通知 1 条" in page
    enterprise_client.post("/notifications/read-all")
    assert "未读通知" not in enterprise_client.get("/").get_data(as_text=True)


def test_navbar_links_follow_the_role(client, enterprise_client, bureau_client):
    anonymous = client.get("/").get_data(as_text=True)
    firm = enterprise_client.get("/").get_data(as_text=True)
    bureau = bureau_client.get("/").get_data(as_text=True)
    for link in ('href="/deals/"', 'href="/contracts/"'):
        assert link not in anonymous and link in firm and link in bureau
    for link in ('href="/stats/"', 'href="/stats/targets"', 'href="/settings/tokens/"'):
        assert link in bureau and link not in firm and link not in anonymous
