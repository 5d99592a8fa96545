"""A rebuild with several worker processes makes the same index as with one."""

from __future__ import annotations

import pytest
from whoosh.qparser import OrGroup, QueryParser

from marketplace.models import OrgKind
from marketplace.search import building
from marketplace.search.index import SearchIndex
from marketplace.search.query import CatalogueBM25
from tests.factories import make_challenge, make_result

TITLES = [
    "高能量密度锂电池正极材料",
    "玉米秸秆综合利用技术",
    "小麦赤霉病绿色防控技术",
    "冷链物流温度实时监测系统",
    "高效低耗生物膜废水处理工艺",
    "工业机器人视觉定位与抓取",
    "锂电池回收与梯次利用",
]
TERMS = ["锂电池", "技术", "废水", "电池", "系统", "秸秆"]


@pytest.fixture
def catalogue(factory):
    firm, institute = factory.org(OrgKind.ENTERPRISE), factory.org(OrgKind.INSTITUTE)
    for n in range(45):
        title = TITLES[n % len(TITLES)]
        extra = TITLES[(n * 3 + 1) % len(TITLES)]
        make_result(
            institute.id,
            title=f"{title}（第{n}号）",
            abstract=f"{extra}。{title}的中试验证，适用于{n % 5 + 1}类场景。",
            keywords=[title[:4], extra[:3]],
            trl=n % 9 + 1,
        )
    for n in range(15):
        make_challenge(firm.id, title=f"寻求{TITLES[n % len(TITLES)]}合作")


def _snapshot(index: SearchIndex) -> dict:
    ix = index.open()
    with ix.searcher(weighting=CatalogueBM25()) as searcher:
        stored = list(searcher.all_stored_fields())
        lengths = [
            searcher.doc_field_length(docnum, "body", 0)
            for docnum in range(searcher.doc_count_all())
        ]
        postings = {}
        for term in TERMS:
            for field in ("title", "body"):
                known = (field, term) in searcher.reader()
                weights = searcher.postings(field, term) if known else None
                postings[(field, term)] = (
                    searcher.doc_frequency(field, term),
                    list(weights.items_as("weight")) if weights else [],
                )
        scores = {}
        for term in TERMS:
            query = QueryParser("body", ix.schema, group=OrGroup).parse(term)
            scores[term] = [
                (hit["key"], round(hit.score, 9))
                for hit in searcher.search(query, limit=None)
            ]
        segments = len(ix._segments())
    return {
        "stored": stored,
        "lengths": lengths,
        "postings": postings,
        "scores": scores,
        "segments": segments,
    }


def test_two_processes_build_the_same_index_as_one(
    app, db, catalogue, tmp_path, monkeypatch
):
    monkeypatch.setattr(building, "PART_MIN_DOCS", 1)
    progress: list[int] = []
    one, two = SearchIndex(tmp_path / "one"), SearchIndex(tmp_path / "two")
    assert one.reindex(db.session, procs=1) == 60
    assert two.reindex(db.session, progress=progress.append, procs=2) == 60
    first, second = _snapshot(one), _snapshot(two)
    # The two-process build really wrote one segment per worker.
    assert (first["segments"], second["segments"]) == (1, 2)
    assert sum(progress) == 60
    assert len(first["stored"]) == 60
    assert first["stored"] == second["stored"]
    assert first["lengths"] == second["lengths"]
    assert first["postings"] == second["postings"]
    assert all(first["postings"][("body", term)][0] for term in TERMS)
    assert first["scores"] == second["scores"]
    assert all(first["scores"][term] for term in TERMS)
    assert two.verify(db.session).clean
    assert two.position() == one.position()


def test_the_index_follows_the_outbox_after_a_parallel_build(
    app, db, catalogue, tmp_path, monkeypatch, factory
):
    monkeypatch.setattr(building, "PART_MIN_DOCS", 1)
    index = SearchIndex(tmp_path / "two")
    index.reindex(db.session, procs=2)
    added = make_result(factory.org(OrgKind.INSTITUTE).id, title="深海探测声呐阵列")
    index.apply_outbox(db.session)
    assert index.verify(db.session).clean
    with index.open().searcher() as searcher:
        query = QueryParser("title", searcher.schema).parse("声呐")
        assert [hit["key"] for hit in searcher.search(query)] == [
            f"result:{added.id}"
        ]


def test_slices_cover_every_document_once():
    assert building.slices(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert building.slices(2, 2) == [(0, 1), (1, 2)]


def test_a_long_backlog_applied_in_bulk_matches_one_writer(
    app, db, catalogue, tmp_path, monkeypatch, factory
):
    from marketplace.models import Result, ResultStatus

    slow, fast = SearchIndex(tmp_path / "slow"), SearchIndex(tmp_path / "fast")
    slow.reindex(db.session, procs=1)
    fast.reindex(db.session, procs=1)
    institute = factory.org(OrgKind.INSTITUTE)
    for n in range(12):
        make_result(institute.id, title=f"{TITLES[n % len(TITLES)]}新成果{n}")
    listings = db.session.query(Result).order_by(Result.id).limit(6).all()
    listings[0].title = "锂电池隔膜涂覆技术"
    listings[1].status = ResultStatus.WITHDRAWN
    db.session.commit()
    slow.apply_outbox(db.session)
    monkeypatch.setattr(building, "PART_MIN_DOCS", 1)
    monkeypatch.setattr(building, "BULK_FROM", 2)
    calls = []
    bulk = building.write_documents
    monkeypatch.setattr(
        building,
        "write_documents",
        lambda *a, **k: calls.append(len(a[1])) or bulk(*a, **k),
    )
    fast.apply_outbox(db.session)
    assert calls == [13]  # 12 new, 1 changed; the withdrawn one only deleted
    assert fast.position() == slow.position()
    one, two = _snapshot(slow), _snapshot(fast)
    assert sorted(one["stored"], key=lambda d: d["key"]) == sorted(
        two["stored"], key=lambda d: d["key"]
    )
    assert f"result:{listings[1].id}" not in {d["key"] for d in two["stored"]}
    for term in TERMS:
        assert sorted(one["scores"][term]) == sorted(two["scores"][term])
    assert fast.verify(db.session).clean
