"""Several processes writing at once: no writer-lock errors, no lost updates."""

from __future__ import annotations

import multiprocessing
import os

from sqlalchemy import func, select

from marketplace.models import OrgKind, Result
from marketplace.search.sync import get_index

WRITERS = 4
EACH = 5


def _writer(config: dict, instance: str, org_id: int, number: int, errors) -> None:
    os.environ["MARKETPLACE_ENV"] = "testing"
    os.environ["MARKETPLACE_INSTANCE"] = instance
    try:
        from datetime import timedelta

        from marketplace import create_app
        from marketplace.clock import local_today, utcnow
        from marketplace.database import writing
        from marketplace.extensions import db
        from marketplace.models import ResultStatus

        app = create_app(config)
        # A process that writes says so, as a command or a POST does
        # (database.py): its read-then-write waits for SQLite's lock.
        with app.app_context(), writing():
            for i in range(EACH):
                result = Result(
                    org_id=org_id,
                    title=f"并发写入成果{number}号第{i}项",
                    abstract="多进程同时写入索引的测试成果。",
                    keywords=["并发测试"],
                    status=ResultStatus.PUBLISHED,
                    published_at=utcnow(),
                    valid_until=local_today() + timedelta(days=30),
                )
                db.session.add(result)
                db.session.commit()
                # Each process also edits what it wrote, to race updates too.
                result.title = result.title + "（已更新）"
                db.session.commit()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")


def test_four_processes_write_and_index_at_once(app_config, app, db, factory, tmp_path):
    org = factory.org(OrgKind.INSTITUTE)
    config = dict(app_config, SEARCH_SYNC_ON_COMMIT=True)
    with app.app_context():
        get_index().reindex(db.session)
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    processes = [
        context.Process(
            target=_writer,
            args=(config, str(tmp_path / "instance"), org.id, n, errors),
        )
        for n in range(WRITERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []
    assert all(p.exitcode == 0 for p in processes)
    total = db.session.scalar(select(func.count(Result.id)))
    assert total == WRITERS * EACH
    index = get_index()
    # Every acknowledged write reached the index, in its latest version.
    report = index.verify(db.session)
    assert report.clean, report
    with index.open().searcher() as searcher:
        titles = [f["title"] for f in searcher.all_stored_fields()]
    assert len(titles) == WRITERS * EACH
    assert all(t.endswith("（已更新）") for t in titles)
