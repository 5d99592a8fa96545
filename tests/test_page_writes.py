"""Pages that write on a GET (notifications read on visit, message read receipts)
wait for SQLite's write lock instead of failing when another writer got in."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from marketplace.models import Notification, OrgKind, ThreadRead
from tests.conftest import TEST_DATABASE_URL
from tests.factories import make_challenge
from tests.test_messages import party, say, thread_id_of

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="SQLite's deferred transactions only"
)


@contextmanager
def another_writer_after(app, db, table: str):
    """Once the page has read `table`, another process commits a write.

    The page's deferred transaction then holds an old snapshot, and SQLite
    refuses any write from it with "database is locked" at once.
    """
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    done = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if done or not statement.lstrip().upper().startswith("SELECT"):
            return
        if f"FROM {table}" not in statement:
            return
        done.append(statement)
        other = sqlite3.connect(path, timeout=5)
        with other:
            other.execute("UPDATE regions SET name = name")
        other.close()

    engine = db.engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield done
    finally:
        event.remove(engine, "after_cursor_execute", after)


def test_opening_a_notifications_page_marks_it_read_despite_a_writer(
    app, db, factory, login
):
    org = factory.org(OrgKind.ENTERPRISE)
    user = factory.user(org)
    client = login(user)
    db.session.add(Notification(user_id=user.id, message="请查看首页", link="/"))
    db.session.commit()
    with another_writer_after(app, db, "notifications") as done:
        response = client.get("/")
    assert done and response.status_code == 200
    db.session.expire_all()
    note = db.session.scalar(select(Notification).where(Notification.link == "/"))
    assert note.read_at is not None


def test_reading_a_thread_moves_the_receipt_despite_a_writer(
    app, db, factory, login
):
    firm = party(factory, login, OrgKind.ENTERPRISE)
    inst = party(factory, login, OrgKind.INSTITUTE)
    challenge_id = make_challenge(firm.org.id, title="冷链温控需求").id
    url = f"/messages/challenge/{challenge_id}/ask"
    tid = thread_id_of(say(inst, url, "温控精度要求是多少？"))
    with another_writer_after(app, db, "thread_reads") as done:
        response = firm.get(f"/messages/{tid}")
    assert done and response.status_code == 200
    db.session.expire_all()
    receipt = db.session.scalar(
        select(ThreadRead).where(
            ThreadRead.thread_id == tid, ThreadRead.user_id == firm.user.id
        )
    )
    assert receipt is not None and receipt.unread_count == 0
