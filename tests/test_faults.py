"""Crashes and a broken index while users write, against a real gunicorn.

- `kill -9` of workers in the middle of writes, then of the master, then a
  restart: every write the users got acknowledged is in the database after the
  restart and, after `search sync`, in the index (`search verify` clean).
- `kill -9` of a separate indexer (`flask search sync` in a loop while the web
  workers leave the index alone, SEARCH_SYNC_ON_COMMIT=0) in the middle of its
  work: the restarted indexer catches up and the index verifies clean.
- The index directory deleted, then a segment file garbled, while serving: the
  pages other than search keep answering 200, search answers 200 with a notice
  (never a 500), and the next sync or reindex restores it.
- On PostgreSQL, a transaction that commits after a later one is not skipped by
  an index that already followed the outbox past it.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from whoosh import index as whoosh_index

from tests.http_users import (
    HttpUser,
    Rows,
    ServerError,
    make_people,
    search_verify,
    server_app,
    skip_other_pass,
    wait_for_drained_outbox,
)
from tests.live_server import ROOT

PENDING = 60
NOTICE = "搜索索引正在重建"
DATABASES = ["sqlite", "postgres"]


def seed(server, pending: int = PENDING, published: int = 0) -> dict:
    """A bureau, two firms, and challenges awaiting review (or already public)."""
    from marketplace.extensions import db
    from marketplace.models import ChallengeStatus
    from tests.factories import make_challenge, make_result

    app = server_app(server)
    with app.app_context():
        people = make_people(
            app,
            {
                "bureau": ("bureau", 4),
                "firm": ("enterprise", 2),
                "lab": ("institute", 1),
            },
        )
        firm, lab = people["firm"]["org_id"], people["lab"]["org_id"]
        ids = []
        for n in range(pending):
            ids.append(
                make_challenge(
                    firm,
                    title=f"待审电池热管理需求{n}号",
                    status=ChallengeStatus.PENDING_REVIEW,
                    published_at=None,
                ).id
            )
        for n in range(published):
            make_result(
                lab, title=f"锂电池热管理成果{n}号", keywords=["电池", "热管理"]
            )
        db.session.remove()
    people["pending"] = ids
    return people


class Writers:
    """Bureau staff approving challenges over HTTP; what the server acknowledged."""

    def __init__(self, server, people: dict):
        self.server = server
        self.queue = list(people["pending"])
        random.shuffle(self.queue)
        self.emails = people["bureau"]["emails"]
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked: list[int] = []
        self.unknown = 0
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self.run, args=(email,)) for email in self.emails
        ]

    def run(self, email: str) -> None:
        user = None
        while not self.stop.is_set():
            try:
                if user is None:
                    user = HttpUser(self.server.base_url, email, timeout=30).login()
                with self.lock:
                    if not self.queue:
                        return
                    challenge_id = self.queue.pop()
                out = user.submit(
                    f"/bureau/reviews/challenge/{challenge_id}/approve", {"note": ""}
                )
                if out.ok:
                    with self.lock:
                        self.acked.append(challenge_id)
            except ServerError as error:
                self.errors.append(str(error))
            except requests.RequestException:
                # The worker died under us (or the server is down): not acknowledged.
                with self.lock:
                    self.unknown += 1
                time.sleep(0.2)

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count and time.monotonic() < deadline:
            time.sleep(0.1)


def indexed_keys(server) -> set[str]:
    ix = whoosh_index.open_dir(str(server.index_dir / "current"))
    with ix.searcher() as searcher:
        return {fields["key"] for fields in searcher.all_stored_fields()}


def assert_acknowledged_present(server, writers: Writers) -> None:
    rows = Rows(server)
    try:
        for challenge_id in writers.acked:
            status = rows.scalar(
                "SELECT status FROM challenges WHERE id = :i", i=challenge_id
            )
            assert status == "open", (challenge_id, status)
        position, head = wait_for_drained_outbox(server, rows, timeout=5)
        assert position == head, (position, head)
    finally:
        rows.close()
    verified = search_verify(server)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    missing = {f"challenge:{i}" for i in writers.acked} - indexed_keys(server)
    assert not missing, sorted(missing)


def wait_gone(pids: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return
        time.sleep(0.1)
    for pid in pids:  # orphans of the killed master that would hold the port
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("database", DATABASES)
def test_killed_workers_and_master_lose_no_acknowledged_write(live_server, database):
    skip_other_pass(database)
    server = live_server(workers=4, database=database)
    writers = Writers(server, seed(server))
    with writers:
        for step in (1, 2):
            writers.wait_for(step * 6)
            os.kill(random.choice(server.worker_pids()), signal.SIGKILL)
        writers.wait_for(18)
        workers = server.worker_pids()
        server.stop(signal.SIGKILL)
        wait_gone(workers)
        server.start()
        writers.wait_for(24)
    print(
        f"\n{database}: {len(writers.acked)} approvals acknowledged, "
        f"{writers.unknown} requests cut off by the kills"
    )
    assert writers.errors == []
    assert len(writers.acked) >= 18
    synced = server.flask("search", "sync")
    assert synced.returncode == 0
    assert_acknowledged_present(server, writers)


def holds_writer_lock(server, pid: int) -> bool:
    """Whether the process holds the index's writer lock (is applying changes)."""
    lock = server.index_dir / ".writer.lock"
    try:
        inode = lock.stat().st_ino
    except OSError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[4] == str(pid) and parts[5].endswith(f":{inode}"):
            return True
    return False


def spawn_indexer(server) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "search", "sync"],
        cwd=ROOT,
        env=server.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_indexer(server, kill: bool) -> bool:
    """One `search sync`; with kill, SIGKILL it while it holds the writer lock.

    Returns True when it was killed in the middle of its work.
    """
    process = spawn_indexer(server)
    try:
        while process.poll() is None:
            if kill and holds_writer_lock(server, process.pid):
                time.sleep(random.uniform(0, 0.05))
                process.kill()
                process.wait(timeout=30)
                return True
            time.sleep(0.005)
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@pytest.mark.parametrize("database", DATABASES)
def test_killed_indexer_catches_up(live_server, database):
    skip_other_pass(database)
    server = live_server(
        workers=4, database=database, env={"SEARCH_SYNC_ON_COMMIT": "0"}
    )
    people = seed(server, pending=40, published=300)
    # The first run finds no index and builds one: killed in the middle of it.
    kills = int(run_indexer(server, kill=True))
    assert kills == 1, "the indexer finished before it could be killed"
    with Writers(server, people) as writers:
        # The indexer in a loop beside the web workers, killed twice more mid-work.
        while len(writers.acked) < 30 and writers.threads[0].is_alive():
            kills += run_indexer(server, kill=kills < 3)
    print(
        f"\n{database}: indexer killed mid-work {kills} times, "
        f"{len(writers.acked)} approvals acknowledged"
    )
    assert writers.errors == []
    # The restarted indexer catches up and the index is true to the database.
    assert not run_indexer(server, kill=False)
    assert_acknowledged_present(server, writers)


def check_pages(user: HttpUser, paths: list[str]) -> None:
    for path in paths:
        response = user.get(path)
        assert response.status_code == 200, (path, response.status_code)


def search(user: HttpUser) -> str:
    """A search page that no cache can answer; a 500 raises ServerError."""
    response = user.get(f"/search?q=锂电池+热管理&n={secrets.token_hex(4)}")
    assert response.status_code == 200
    return response.text


def hits(page: str) -> int:
    """How many results a search page lists."""
    return len(re.findall(r'<a href="/results/\d+" class="fw-semibold">', page))


def test_lost_or_garbled_index_while_serving(live_server):
    database = "postgres" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    server = live_server(workers=4, database=database)
    people = seed(server, pending=2, published=20)
    assert server.flask("search", "reindex").returncode == 0
    rows = Rows(server)
    result_id = rows.scalar("SELECT min(id) FROM results")
    challenge_id = rows.scalar("SELECT min(id) FROM challenges")
    rows.close()
    user = HttpUser(server.base_url, timeout=30)
    firm = HttpUser(server.base_url).login(people["firm"]["emails"][0])
    pages = ["/", "/challenges/", "/results/", f"/results/{result_id}", "/orgs/"]
    assert hits(search(user)) == 10  # a page of the 20

    # The whole index directory disappears while the site serves.
    shutil.rmtree(server.index_dir)
    assert NOTICE in search(user)
    for _ in range(4):  # on every worker: other pages answer, search never fails
        check_pages(user, pages)
        check_pages(firm, [f"/challenges/{challenge_id}", "/contracts/"])
        search(user)
    assert server.flask("search", "sync").returncode == 0
    assert search_verify(server).returncode == 0
    assert hits(search(user)) == 10

    # A segment file is garbled in place.
    segments = list((server.index_dir / "current").glob("*.seg"))
    assert segments
    for segment in segments:
        size = segment.stat().st_size
        with open(segment, "r+b") as handle:
            handle.write(os.urandom(size))
    for _ in range(4):
        check_pages(user, pages)
        page = search(user)
        assert NOTICE in page or hits(page) == 10
    assert server.flask("search", "reindex").returncode == 0
    verified = search_verify(server)
    assert verified.returncode == 0, verified.stdout
    for _ in range(4):
        assert hits(search(user)) == 10


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: SQLite serialises"
)
def test_outbox_ids_follow_commit_order(app, db, factory):
    """A transaction that changed a listing first but commits last is not skipped.

    On PostgreSQL a sequence hands out ids at insert time; if the outbox row of
    the slower transaction had the smaller id, an index that already applied the
    larger one would never look back (search/outbox.py orders them).
    """
    from sqlalchemy.orm import Session

    from marketplace.models import OrgKind, Result
    from marketplace.search.sync import get_index
    from tests.factories import make_result

    org = factory.org(OrgKind.INSTITUTE)
    first = make_result(org.id, title="甲成果").id
    second = make_result(org.id, title="乙成果").id
    index = get_index()
    index.reindex(db.session)
    db.session.commit()
    slow, fast = Session(db.engine), Session(db.engine)
    try:
        slow.get(Result, first).title = "甲成果（修改）"
        slow.flush()
        fast.get(Result, second).title = "乙成果（修改）"
        fast.commit()
        with Session(db.engine) as session:
            index.apply_outbox(session)
        slow.commit()
    finally:
        slow.close()
        fast.close()
    with Session(db.engine) as session:
        index.apply_outbox(session)
        report = index.verify(session)
    assert report.clean, report
