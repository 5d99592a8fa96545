"""A large `flask import-listings`: streamed, all or nothing, indexed in bulk."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from marketplace.models import OrgKind, Result, SearchOutbox, UserRole
from marketplace.search import building
from marketplace.search.index import SearchIndex
from marketplace.search.sync import get_index
from tests.dates import iso

ROWS = 5000
BAD_LINE = 4321
SUBJECTS = ["锂电池正极材料", "秸秆综合利用", "冷链物流监测", "生物膜废水处理"]


@pytest.fixture
def bulk_app(app_config):
    app_config["SEARCH_SYNC_ON_COMMIT"] = True
    return app_config


@pytest.fixture
def uni(factory):
    org = factory.org(OrgKind.UNIVERSITY, name="批量导入大学")
    factory.user(org, role=UserRole.ORG_ADMIN)
    return org


def rows(count: int = ROWS, version: str = "") -> list[dict]:
    return [
        {
            "external_id": f"B-{n}",
            "title": f"{SUBJECTS[n % 4]}技术{version}第{n}号",
            "description": f"面向{SUBJECTS[(n + 1) % 4]}的中试成果，编号{n}。",
            "keywords": [SUBJECTS[n % 4][:2], "中试"],
            "maturity": n % 9 + 1,
            "price_wan": n % 100 + 1,
            "valid_until": iso(400),
        }
        for n in range(count)
    ]


def write(path, records):
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
        encoding="utf-8",
    )
    return path


def run(runner, org, path):
    return runner.invoke(
        args=["import-listings", "--kind", "result", "--org", org.name, str(path)]
    )


def results(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Result.id)))


def titles(index: SearchIndex, word: str) -> set[str]:
    from whoosh.qparser import QueryParser

    with index.open().searcher() as searcher:
        query = QueryParser("title", searcher.schema).parse(word)
        return {hit["title"] for hit in searcher.search(query, limit=None)}


def test_a_bad_row_refuses_the_whole_file_with_its_line(
    bulk_app, runner, db, uni, tmp_path
):
    records = rows()
    records[BAD_LINE - 1]["maturity"] = 12  # line N of a JSONL file is row N
    records[BAD_LINE]["title"] = ""
    outbox = db.session.scalar(select(func.count(SearchOutbox.id)))
    result = run(runner, uni, write(tmp_path / "bad.jsonl", records))
    assert result.exit_code != 0
    assert f"第 {BAD_LINE} 行: maturity 应为 1–9 的整数" in result.output
    assert f"第 {BAD_LINE + 1} 行: 缺少 title" in result.output
    assert "未导入任何数据" in result.output
    # Rows before the bad one were written in batches, and rolled back with it.
    assert results(db) == 0
    assert db.session.scalar(select(func.count(SearchOutbox.id))) == outbox


def test_a_large_file_imports_indexes_and_reruns_idempotently(
    bulk_app, runner, db, uni, tmp_path, monkeypatch
):
    calls = []
    bulk = building.write_documents

    def spy(*args, **kwargs):
        calls.append(len(args[1]))
        return bulk(*args, **kwargs)

    monkeypatch.setattr(building, "write_documents", spy)
    index = get_index()
    index.reindex(db.session)
    calls.clear()
    path = write(tmp_path / "listings.jsonl", rows())
    result = run(runner, uni, path)
    assert result.exit_code == 0, result.output
    assert f"新增科技成果 {ROWS} 条" in result.output
    assert results(db) == ROWS
    # Indexed by the bulk path (new segments), not row by row after the commit.
    assert calls == [ROWS]
    assert index.verify(db.session).clean
    assert index.position() == db.session.scalar(select(func.max(SearchOutbox.id)))
    assert "锂电池正极材料技术第4号" in titles(index, "锂电池")
    assert len(titles(index, "秸秆")) == ROWS // 4

    # The same external_ids again: updated in place, nothing added.
    result = run(runner, uni, write(path, rows(version="（修订）")))
    assert result.exit_code == 0, result.output
    assert f"新增科技成果 0 条（已发布），更新 {ROWS} 条" in result.output
    assert results(db) == ROWS
    assert index.verify(db.session).clean
    found = titles(index, "秸秆")
    assert len(found) == ROWS // 4
    assert all("（修订）" in title for title in found)
    with index.open().searcher() as searcher:
        assert searcher.doc_count() == ROWS


def test_a_file_past_the_old_row_cap_is_read_a_batch_at_a_time(db, uni, tmp_path):
    from marketplace.file_checks import STREAMED_IMPORT
    from marketplace.listings.import_files import stream_file

    path = write(tmp_path / "many.jsonl", rows(3) * 20_000)
    parsed = stream_file(path, STREAMED_IMPORT)
    first = next(iter(parsed.rows))
    assert first.line == 1 and first.data["external_id"] == "B-0"
    assert sum(1 for _ in parsed.rows) == 60_000 - 1
    assert parsed.errors == []
