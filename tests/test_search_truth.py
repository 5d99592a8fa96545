"""Every worker serves the truth: caches follow the index state, the outbox follows
what documents depend on, savepoints, locks, pruning and verify (issue 12, point 1)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select, update
from whoosh import index as whoosh_index

from marketplace.models import (
    PRUNED_MARK,
    Challenge,
    ChallengeStatus,
    Organisation,
    OrgKind,
    Result,
    ResultStatus,
    SearchOutbox,
    SearchReplica,
    TechField,
)
from marketplace.search import arrays, serving
from marketplace.search.index import SearchIndex
from marketplace.search.query import search, searcher_for
from marketplace.search.sync import get_index
from tests.factories import make_challenge, make_result


@pytest.fixture
def search_app(app_config):
    app_config["SEARCH_SYNC_ON_COMMIT"] = True
    return app_config


@pytest.fixture
def owners(factory):
    return factory.org(OrgKind.ENTERPRISE), factory.org(OrgKind.INSTITUTE)


def keys(page) -> list[str]:
    return [f"{h.kind}:{h.doc_id}" for h in page.hits]


def other_process_writes(index: SearchIndex, key: str, **fields) -> None:
    """What another worker's sync does: its own handle on the index, a commit."""
    writer = whoosh_index.open_dir(str(index.current)).writer()
    with index.open().searcher() as searcher:
        doc = dict(searcher.document(key=key))
    doc.update(fields)
    doc["body"] = doc["title"]  # not stored; the title stands in for it
    writer.update_document(**doc)
    writer.commit()


def test_a_warm_searcher_follows_commits_of_another_process(
    search_app, app, db, owners
):
    firm, _ = owners
    listings = [
        make_challenge(firm.id, title=f"芝麻油压榨工艺需求{n}") for n in range(3)
    ]
    index = get_index()
    index.reindex(db.session)
    assert search(index, "芝麻").total == 3  # warm: searcher and arrays cached
    key = f"challenge:{listings[1].id}"
    for round_ in range(3):
        other_process_writes(index, key, status="awarded", title=f"芝麻需求{round_}")
        page = search(index, "芝麻")
        # Whoosh's refresh() kept the replaced versions: 4, 5, 6 hits.
        assert page.total == 3, keys(page)
        assert sorted(keys(page)) == sorted(set(keys(page)))
        assert page.facets["status"] == {"open": 2, "awarded": 1}
        only_open = search(index, "芝麻", filters={"status": "open"})
        assert key not in keys(only_open) and only_open.total == 2


def test_cached_searcher_and_arrays_are_keyed_by_index_state(
    search_app, app, db, owners
):
    firm, _ = owners
    challenge = make_challenge(firm.id, title="芝麻酱防分层技术需求")
    index = get_index()
    index.reindex(db.session)
    first = searcher_for(index)
    assert searcher_for(index) is first  # nothing moved: reused
    assert arrays.catalogue_of(first) is arrays.catalogue_of(first)
    state = serving.state_of(first)
    assert state == index.state()
    challenge.title = "芝麻酱防分层与保鲜技术需求"
    db.session.commit()  # the sync moves the commit and the position
    second = searcher_for(index)
    assert second is not first
    moved = serving.state_of(second)
    assert moved.position > state.position and moved.generation > state.generation
    assert arrays.catalogue_of(second).searcher is second


def test_organisation_region_or_name_change_reindexes_its_listings(
    search_app, app, db, owners
):
    _, institute = owners
    result = make_result(institute.id, title="芝麻素提取纯化技术")
    index = get_index()
    org = db.session.get(Organisation, institute.id)
    before = db.session.scalar(select(func.max(SearchOutbox.id)))
    org.region_code = "411721"  # another county
    db.session.commit()
    rows = db.session.execute(
        select(SearchOutbox.doc_kind, SearchOutbox.doc_id).where(
            SearchOutbox.id > before
        )
    ).all()
    assert ("result", result.id) in rows
    assert search(index, "芝麻").facets["region"] == {"411721": 1}
    assert index.verify(db.session).clean
    # A change that no document depends on writes no outbox row.
    head = db.session.scalar(select(func.max(SearchOutbox.id)))
    org.phone = "0396-1234567"
    db.session.commit()
    assert db.session.scalar(select(func.max(SearchOutbox.id))) == head


def test_tech_field_rename_reindexes_its_listings(search_app, app, db, owners):
    firm, _ = owners
    challenge = make_challenge(firm.id)
    field = db.session.get(TechField, challenge.field_id)
    head = db.session.scalar(select(func.max(SearchOutbox.id)))
    field.name = field.name + "（新）"
    db.session.commit()
    rows = db.session.execute(
        select(SearchOutbox.doc_kind, SearchOutbox.doc_id).where(SearchOutbox.id > head)
    ).all()
    assert ("challenge", challenge.id) in rows


def test_savepoint_rollback_does_not_cancel_the_sync(search_app, app, db, owners):
    _, institute = owners
    kept = make_result(institute.id, title="芝麻叶茶加工技术")
    lost = make_result(institute.id, title="芝麻秆饲料化技术")
    index = get_index()
    kept.title = "芝麻叶茶低温加工技术"
    db.session.flush()
    with db.session.begin_nested() as savepoint:
        lost.title = "不会保存的标题"
        db.session.flush()
        savepoint.rollback()
    db.session.commit()
    head = db.session.scalar(select(func.max(SearchOutbox.id)))
    assert index.position() == head  # the commit synced
    assert index.verify(db.session).clean


def test_sync_writes_the_index_outside_the_database_write_lock(
    search_app, app, db, owners, monkeypatch
):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock")
    _, institute = owners
    result = make_result(institute.id, title="芝麻油脱色工艺")
    path = db.engine.url.database
    seen = []
    write = SearchIndex._write

    def probing(self, changes, position):
        # While Whoosh writes, another connection must get the write lock at once.
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError as error:
            seen.append(str(error))
        finally:
            other.close()
        return write(self, changes, position)

    monkeypatch.setattr(SearchIndex, "_write", probing)
    # A POST request: its transactions begin with BEGIN IMMEDIATE.
    with app.test_request_context("/", method="POST"):
        result.title = "芝麻油吸附脱色工艺"
        db.session.commit()
    assert seen == ["free"]


def test_outbox_is_pruned_behind_every_replica_keeping_a_tail(
    search_app, app, db, owners
):
    app.config["SEARCH_OUTBOX_KEEP"] = 3
    _, institute = owners
    # Another node's replica that has applied nothing holds every row.
    db.session.add(SearchReplica(name="node2:/srv/index", position=0, generation=""))
    db.session.commit()
    for n in range(8):
        make_result(institute.id, title=f"芝麻品种选育成果{n}")
    index = get_index()
    replica = db.session.scalar(
        select(SearchReplica).where(
            SearchReplica.name.not_in([PRUNED_MARK, "node2:/srv/index"])
        )
    )
    head = db.session.scalar(select(func.max(SearchOutbox.id)))
    assert replica.position == head == index.position()
    assert db.session.scalar(select(func.count(SearchOutbox.id))) == head
    # Once it has applied them, the next commit prunes all but the tail.
    db.session.execute(
        update(SearchReplica)
        .where(SearchReplica.name == "node2:/srv/index")
        .values(position=head)
    )
    db.session.commit()
    make_result(institute.id, title="芝麻深加工成果")
    remaining = db.session.scalars(select(SearchOutbox.id)).all()
    assert len(remaining) == 3  # the tail
    mark = db.session.scalar(
        select(SearchReplica.position).where(SearchReplica.name == PRUNED_MARK)
    )
    assert mark == min(remaining) - 1
    assert index.verify(db.session).clean


def test_a_replica_behind_the_pruned_tail_rebuilds(
    search_app, app, db, owners, tmp_path
):
    app.config["SEARCH_OUTBOX_KEEP"] = 1
    _, institute = owners
    make_result(institute.id, title="芝麻蛋白肽制备")
    lagging = SearchIndex(tmp_path / "node2", keep=1)
    lagging.reindex(db.session)
    position = lagging.position()
    db.session.execute(
        update(SearchReplica)
        .where(SearchReplica.name.like("%node2%"))
        .values(position=10**9)  # as if it had applied everything: pruning runs
    )
    db.session.commit()
    newer = [make_result(institute.id, title=f"芝麻新成果{n}") for n in range(3)]
    assert db.session.scalar(select(func.min(SearchOutbox.id))) > position + 1
    lagging.apply_outbox(db.session)
    assert lagging.verify(db.session).clean  # nothing skipped: it rebuilt
    with lagging.open().searcher() as searcher:
        indexed = {f["key"] for f in searcher.all_stored_fields()}
    assert {f"result:{r.id}" for r in newer} <= indexed


def test_verify_compares_every_stored_field_and_names_it(
    search_app, app, db, owners, runner
):
    firm, institute = owners
    challenge = make_challenge(firm.id, title="芝麻烘焙设备需求")
    make_result(institute.id, title="芝麻烘焙成果")
    index = get_index()
    other_process_writes(index, f"challenge:{challenge.id}", region="419999")
    report = index.verify(db.session)
    assert report.stale == [f"challenge:{challenge.id}"]
    assert report.fields[f"challenge:{challenge.id}"] == ["region"]
    outcome = runner.invoke(args=["search", "verify"])
    assert outcome.exit_code == 1
    assert f"过期: challenge:{challenge.id}（字段：region）" in outcome.output


def test_search_health_reports_what_the_worker_serves(search_app, app, db, owners):
    firm, _ = owners
    make_challenge(firm.id, title="芝麻需求", confidential_detail="机密配方参数九号")
    make_challenge(firm.id, title="草稿芝麻需求", status=ChallengeStatus.DRAFT)
    index = get_index()
    client = app.test_client()
    reply = client.get("/healthz/search")
    assert reply.status_code == 200
    answer = reply.get_json()
    assert answer["documents"] == 1
    assert answer["position"] == answer["head"] == index.position()
    body = reply.get_data(as_text=True)
    assert "机密" not in body and "草稿" not in body
    # Same digest as the database's documents.
    from marketplace.search.documents import build_schema
    from marketplace.search.index import digest, expected_documents, stored_names

    want = digest(expected_documents(db.session).values(), stored_names(build_schema()))
    assert answer["digest"] == want


def test_search_health_without_an_index_says_so(app, db):
    reply = app.test_client().get("/healthz/search")
    assert reply.status_code == 200
    assert reply.get_json()["status"] == "unavailable"


def test_page_cache_is_keyed_by_the_index_state(search_app, app, db, owners):
    app.config["PAGE_CACHE_SECONDS"] = 60
    firm, _ = owners
    challenge = make_challenge(firm.id, title="芝麻糊速溶技术需求")
    client = app.test_client()
    assert "糊速溶" in client.get("/search?q=芝麻").get_data(as_text=True)
    # Another process moves the index (same outbox head): the page is re-rendered.
    other_process_writes(
        get_index(), f"challenge:{challenge.id}", title="芝麻糊冷水速溶技术需求"
    )
    assert "冷水速溶" in client.get("/search?q=芝麻").get_data(as_text=True)
    # While the index lags behind the outbox nothing is cached.
    app.config["SEARCH_SYNC_ON_COMMIT"] = False
    db.session.execute(
        update(Challenge)
        .where(Challenge.id == challenge.id)
        .values(status=ChallengeStatus.WITHDRAWN)
    )
    from marketplace.search.outbox import enqueue

    enqueue(db.session, "challenge", [challenge.id])
    db.session.commit()
    cache = app.extensions["page_cache"]
    cache.clear()
    client.get("/search?q=芝麻")
    assert not cache._items


def test_withdrawn_result_leaves_every_answer(search_app, app, db, owners):
    _, institute = owners
    result = make_result(institute.id, title="芝麻油风味成果")
    index = get_index()
    assert search(index, "芝麻").total == 1
    result.status = ResultStatus.WITHDRAWN
    db.session.commit()
    page = search(index, "芝麻")
    assert page.total == 0 and page.facets.get("status", {}) == {}
    assert db.session.get(Result, result.id) is not None


def test_verify_url_refuses_no_calls_instead_of_calling_a_server_clean(app):
    runner = app.test_cli_runner()
    for calls in ("0", "-3"):
        outcome = runner.invoke(
            args=["search", "verify", "--url", "http://127.0.0.1:9", "--calls", calls]
        )
        assert outcome.exit_code == 2, outcome.output
        assert "均与数据库一致" not in outcome.output
