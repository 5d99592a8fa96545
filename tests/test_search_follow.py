"""`flask search follow`: a node's index learns of every node's commits, until stopped.

The web workers' post-commit sync (off here, as on a node whose writes come from
elsewhere) sees only its own node's commits; the follow loop is how a node
learns of the others'. tests/test_two_nodes_live.py runs it beside two gunicorn
nodes on one PostgreSQL database.
"""

from __future__ import annotations

import threading
import time

from marketplace.models import OrgKind
from marketplace.search.index import SearchIndex
from marketplace.search.sync import follow, get_index
from tests.factories import make_result


def wait_for(check, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def titles(index: SearchIndex) -> set[str]:
    if not index.exists():
        return set()
    with index.open().searcher() as searcher:
        return {fields["title"] for fields in searcher.all_stored_fields()}


def test_follow_builds_then_applies_later_commits_until_stopped(
    app, db, factory, monkeypatch
):
    institute = factory.org(OrgKind.INSTITUTE)
    make_result(institute.id, title="玉米秸秆综合利用技术")
    db.session.remove()
    index = get_index()
    assert not index.exists()  # nothing synced on commit
    stop = threading.Event()
    reports: list[tuple[int, int]] = []
    failures = []
    real_apply = SearchIndex.apply_outbox

    def flaky_apply(self, session, *args, **kwargs):
        # The database away for a moment: the loop must go on after it.
        if not failures:
            failures.append(True)
            raise OSError("database restarting")
        return real_apply(self, session, *args, **kwargs)

    monkeypatch.setattr(SearchIndex, "apply_outbox", flaky_apply)

    def run() -> None:
        with app.app_context():
            follow(stop, 0.02, lambda *report: reports.append(report))

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert wait_for(lambda: "玉米秸秆综合利用技术" in titles(index))
        assert wait_for(lambda: failures == [True])  # met, and got past
        make_result(institute.id, title="小麦赤霉病绿色防控技术")
        db.session.remove()
        assert wait_for(lambda: "小麦赤霉病绿色防控技术" in titles(index))
        # The round reports once it recorded the position, just after the commit.
        assert wait_for(lambda: bool(reports))
        assert reports[-1] == (1, index.position())
        assert index.verify(db.session).clean
        db.session.remove()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_follow_command_is_listed(app):
    result = app.test_cli_runner().invoke(args=["search", "follow", "--help"])
    assert result.exit_code == 0
    assert "--interval" in result.output
    refused = app.test_cli_runner().invoke(args=["search", "follow", "--interval", "0"])
    assert refused.exit_code != 0


def test_session_hooks_come_from_init_app_once(app, factory, db):
    from sqlalchemy import event, func, select
    from sqlalchemy.orm import Session

    from marketplace.models import SearchOutbox
    from marketplace.search import outbox, sync

    hooks = [*outbox.LISTENERS, ("after_commit", sync._follow)]
    for name, hook in hooks:
        event.remove(Session, name, hook)
    try:
        assert not any(event.contains(Session, n, h) for n, h in hooks)
        sync.init_app(app)
        sync.init_app(app)  # a second app (or call) does not register them again
        assert all(event.contains(Session, n, h) for n, h in hooks)
    finally:
        sync.listen()
    before = db.session.scalar(select(func.count(SearchOutbox.id)))
    make_result(factory.org(OrgKind.UNIVERSITY).id, title="钩子只挂一次")
    after = db.session.scalar(select(func.count(SearchOutbox.id)))
    assert after == before + 1
