"""Stored explained matches: listing pages read a row keyed by the index state,
never a stale one, and still re-check every listing against the database."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from sqlalchemy import func, select, update

from marketplace.database import read_only
from marketplace.matching import stored
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    OrgKind,
    Result,
    StoredMatch,
)
from marketplace.search import query
from marketplace.search.sync import get_index
from marketplace.search.tuning import TUNING
from tests.factories import make_challenge, make_result

SECTION = re.compile(r'<section [^>]*"matches-title">.*?</section>', re.S)


@pytest.fixture
def calls(monkeypatch):
    """How many times the live matcher ran."""
    counted = {"n": 0}
    live = query.match

    def counting(*args, **kwargs):
        counted["n"] += 1
        return live(*args, **kwargs)

    monkeypatch.setattr(query, "match", counting)
    return counted


@pytest.fixture
def market(app, db, factory):
    firm = factory.org(OrgKind.ENTERPRISE)
    institute = factory.org(OrgKind.INSTITUTE)
    items = {
        "result": make_result(
            institute.id, title="高安全锂电池电解液", keywords=["锂电池", "电解液"]
        ),
        "other": make_result(
            institute.id, title="钙钛矿太阳能电池", keywords=["太阳能电池"]
        ),
        "challenge": make_challenge(
            firm.id,
            title="动力锂电池电解液阻燃需求",
            description="锂电池电解液易燃，需要阻燃电解液。",
            keywords=["锂电池", "电解液"],
        ),
        "second": make_challenge(
            firm.id,
            title="储能锂电池热失控预警需求",
            description="需要锂电池热失控早期预警。",
            keywords=["锂电池"],
        ),
    }
    get_index().reindex(db.session)
    return items


def rows(db) -> list[StoredMatch]:
    return list(db.session.scalars(select(StoredMatch).order_by(StoredMatch.id)))


def section(client, url: str) -> str:
    found = SECTION.search(client.get(url).get_data(as_text=True))
    assert found, url
    return found.group(0)


def test_a_listing_page_stores_its_matches_and_reads_them(
    app, db, client, market, calls
):
    url = f"/results/{market['result'].id}"
    first = section(client, url)
    assert "动力锂电池电解液阻燃需求" in first and calls["n"] == 1
    [row] = rows(db)
    state = get_index().state()
    assert (row.listing_kind, row.listing_id) == ("result", market["result"].id)
    assert (row.generation, row.index_commit, row.position) == (
        state.directory,
        state.generation,
        state.position,
    )
    assert row.payload["hits"][0]["id"] == market["challenge"].id
    # The second view costs no live match.
    assert section(client, url) == first
    assert calls["n"] == 1


def test_other_ranking_parameters_make_rows_stale(
    app, db, client, market, calls, monkeypatch
):
    url = f"/challenges/{market['challenge'].id}"
    section(client, url)
    section(client, url)
    assert calls["n"] == 1
    monkeypatch.setattr(TUNING, "prf_weight", TUNING.prf_weight + 0.5)
    section(client, url)
    assert calls["n"] == 2


def test_stored_answer_equals_the_live_one(app, db, client, market):
    for key in ("result", "challenge"):
        kind = "results" if key == "result" else "challenges"
        url = f"/{kind}/{market[key].id}"
        app.config["SEARCH_STORED_MATCHES"] = False
        live = section(client, url)
        app.config["SEARCH_STORED_MATCHES"] = True
        section(client, url)  # stores
        assert section(client, url) == live
    assert len(rows(db)) == 2


def test_withdrawn_match_disappears_at_once(app, db, client, market, calls):
    url = f"/results/{market['result'].id}"
    assert "动力锂电池电解液阻燃需求" in section(client, url)
    [before] = rows(db)
    computed = before.computed_at
    # Withdrawn, the index not yet told (no sync on commit): the row is stale,
    # the page matches live on the lagging index and re-checks the database.
    challenge = db.session.get(Challenge, market["challenge"].id)
    challenge.status = ChallengeStatus.WITHDRAWN
    db.session.commit()
    page = section(client, url)
    assert "动力锂电池电解液阻燃需求" not in page
    assert "储能锂电池热失控预警需求" in page
    assert calls["n"] == 2
    # Nothing is stored while the index lags behind the outbox.
    [after] = rows(db)
    assert after.computed_at == computed


def test_a_stored_row_is_re_checked_against_the_database(
    app, db, client, market, calls
):
    url = f"/results/{market['result'].id}"
    section(client, url)
    # A change the index cannot know of (no outbox row): the stored row stays
    # valid, yet the page shows only what the database says is public.
    db.session.execute(
        update(Challenge)
        .where(Challenge.id == market["challenge"].id)
        .values(status=ChallengeStatus.WITHDRAWN)
    )
    db.session.commit()
    page = section(client, url)
    assert calls["n"] == 1
    assert "动力锂电池电解液阻燃需求" not in page
    assert "储能锂电池热失控预警需求" in page


def test_sync_refreshes_a_bounded_batch(app, db, client, market, calls):
    app.config["SEARCH_SYNC_ON_COMMIT"] = True
    app.config["SEARCH_STORED_MATCH_BATCH"] = 2
    app.config["SEARCH_STORED_MATCH_SECONDS"] = 60
    for key, kind in (("result", "results"), ("other", "results")):
        section(client, f"/{kind}/{market[key].id}")
    section(client, f"/challenges/{market['second'].id}")
    assert len(rows(db)) == 3 and calls["n"] == 3
    # An edit: its own listing first, then the most recently computed row.
    challenge = db.session.get(Challenge, market["challenge"].id)
    challenge.description = "锂电池电解液易燃，急需阻燃添加剂配方。"
    db.session.commit()
    assert calls["n"] == 5
    state = get_index().state()
    fresh = {
        (r.listing_kind, r.listing_id) for r in rows(db) if r.position == state.position
    }
    assert fresh == {
        ("challenge", market["challenge"].id),
        ("challenge", market["second"].id),
    }
    # A refreshed row is read as is.
    before = calls["n"]
    page = section(client, f"/challenges/{market['challenge'].id}")
    assert calls["n"] == before
    assert "高安全锂电池电解液" in page
    # The rest are stale and matched live when next read, quoting the edit.
    page = section(client, f"/results/{market['result'].id}")
    assert "阻燃添加剂" in page
    assert calls["n"] == before + 1
    app.config["SEARCH_STORED_MATCH_BATCH"] = 0
    challenge.title = "动力锂电池电解液阻燃改性需求"
    db.session.commit()
    assert calls["n"] == before + 1


def test_api_reads_stored_matches_but_free_text_stays_live(
    app, db, client, market, calls
):
    result_id = market["result"].id
    first = client.get(f"/api/v1/results/{result_id}/matches").get_json()
    assert ("challenge", market["challenge"].id) in {
        (i["kind"], i["id"]) for i in first["items"]
    }
    assert client.get(f"/api/v1/results/{result_id}/matches").get_json() == first
    fits = client.get(f"/api/v1/challenges/{market['challenge'].id}/matches")
    assert fits.get_json()["items"][0]["id"] == result_id
    client.get(f"/api/v1/challenges/{market['challenge'].id}/matches")
    assert calls["n"] == 2 and len(rows(db)) == 2
    # Deeper than what is stored: matched live, nothing stored.
    client.get(f"/api/v1/challenges/{market['challenge'].id}/matches?limit=50")
    assert calls["n"] == 3
    for _ in range(2):
        client.post("/api/v1/match", json={"text": "锂电池电解液阻燃", "limit": 5})
    assert calls["n"] == 5 and len(rows(db)) == 2


def test_a_new_generation_invalidates_and_prunes(app, db, client, market, calls):
    url = f"/challenges/{market['challenge'].id}"
    section(client, url)
    old = get_index().state().directory
    get_index().reindex(db.session)
    section(client, url)
    assert calls["n"] == 2
    assert {r.generation for r in rows(db)} == {old, get_index().state().directory}
    # The next sync that moves the new generation drops rows no replica serves.
    app.config["SEARCH_SYNC_ON_COMMIT"] = True
    result = db.session.get(Result, market["other"].id)
    result.title = "钙钛矿叠层太阳能电池"
    db.session.commit()
    assert {r.generation for r in rows(db)} == {get_index().state().directory}
    assert db.session.scalar(select(func.count(StoredMatch.id))) >= 1


def test_switched_off_it_matches_live_and_stores_nothing(
    app, db, client, market, calls
):
    app.config["SEARCH_STORED_MATCHES"] = False
    section(client, f"/results/{market['result'].id}")
    section(client, f"/results/{market['result'].id}")
    assert calls["n"] == 2 and rows(db) == []
    assert stored.depth() >= 24  # a result page's 3 × 8 is a prefix of what is stored


def test_refresh_stops_starting_matches_after_its_time(
    app, db, client, market, calls
):
    app.config["SEARCH_SYNC_ON_COMMIT"] = True
    app.config["SEARCH_STORED_MATCH_SECONDS"] = 0
    section(client, f"/results/{market['result'].id}")
    result = db.session.get(Result, market["other"].id)
    result.title = "钙钛矿叠层太阳能电池"
    db.session.commit()
    # Only the edited listing itself, however many are stale.
    assert calls["n"] == 2
    state = get_index().state()
    fresh = [r.listing_id for r in rows(db) if r.position == state.position]
    assert fresh == [market["other"].id]


def test_a_page_never_waits_on_or_fails_for_its_save(app, db, client, market, calls):
    url = f"/results/{market['result'].id}"
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        started = time.monotonic()
        page = section(client, url)
        assert time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()
    assert "动力锂电池电解液阻燃需求" in page
    assert rows(db) == []
    with read_only(db.engine).connect() as connection:  # patience back in the pool
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    # A request that may write itself never stores from inside it.
    with app.test_request_context(url, method="POST"):
        state = get_index().state()
        assert not stored.save_quietly(state, [("result", market["result"].id, [])])
    assert rows(db) == []


def test_a_database_error_is_no_index_trouble(app, db, market, monkeypatch):
    from flask_login import AnonymousUserMixin
    from sqlalchemy.exc import OperationalError

    from marketplace.matching import services

    rebuilt = []
    monkeypatch.setattr(services, "_rebuild_in_background", rebuilt.append)

    def broken(*args):
        raise OperationalError("SELECT", {}, Exception("database gone"))

    monkeypatch.setattr(stored, "lookup", broken)
    with app.test_request_context("/"), pytest.raises(OperationalError):
        services.matches_for_challenge(AnonymousUserMixin(), market["challenge"], 8)
    assert rebuilt == []
