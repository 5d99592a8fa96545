"""The index follows the database through the outbox, and repairs itself."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.models import ChallengeStatus, OrgKind, ResultStatus, SearchOutbox
from marketplace.search.index import IndexUnavailable, SearchIndex
from marketplace.search.sync import get_index
from tests.factories import make_challenge, make_result


@pytest.fixture
def search_app(app_config):
    app_config["SEARCH_SYNC_ON_COMMIT"] = True
    return app_config


def found(index: SearchIndex, text: str, field: str = "body") -> set[str]:
    from whoosh.qparser import OrGroup, QueryParser

    with index.open().searcher() as searcher:
        query = QueryParser(field, index.open().schema, group=OrGroup).parse(text)
        return {hit["key"] for hit in searcher.search(query, limit=None)}


@pytest.fixture
def owners(factory):
    return factory.org(OrgKind.ENTERPRISE), factory.org(OrgKind.INSTITUTE)


def test_only_public_text_is_indexed(search_app, app, db, owners):
    firm, institute = owners
    public = make_challenge(firm.id, confidential_detail="机密参数甲乙丙")
    draft = make_challenge(
        firm.id, title="草稿里的锂电池需求", status=ChallengeStatus.DRAFT
    )
    withdrawn = make_result(
        institute.id, title="撤回的锂电池成果", status=ResultStatus.WITHDRAWN
    )
    published = make_result(institute.id, title="高能量密度锂电池正极材料")
    index = get_index()
    assert index.verify(db.session).clean
    assert found(index, "电池", "title") == {f"result:{published.id}"}
    assert found(index, "机密参数甲乙丙") == set()
    assert f"challenge:{public.id}" in found(index, "废水处理")
    assert f"challenge:{draft.id}" not in found(index, "锂电池", "title")
    assert f"result:{withdrawn.id}" not in found(index, "锂电池", "title")


def test_update_is_searchable_after_commit(search_app, app, db, owners):
    _, institute = owners
    result = make_result(institute.id, title="玉米秸秆综合利用技术")
    index = get_index()
    assert found(index, "秸秆", "title") == {f"result:{result.id}"}
    result.title = "小麦赤霉病绿色防控技术"
    db.session.commit()
    assert found(index, "秸秆", "title") == set()
    assert found(index, "赤霉病", "title") == {f"result:{result.id}"}
    result.status = ResultStatus.WITHDRAWN
    db.session.commit()
    assert found(index, "赤霉病", "title") == set()


def test_rollback_after_flush_leaves_no_trace(search_app, app, db, owners):
    _, institute = owners
    make_result(institute.id, title="已有成果")
    before = db.session.scalar(select(func.count(SearchOutbox.id)))
    position = get_index().position()
    from marketplace.models import Result

    db.session.add(
        Result(
            org_id=institute.id,
            title="回滚的花生育种成果",
            status=ResultStatus.PUBLISHED,
        )
    )
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count(SearchOutbox.id))) == before
    assert get_index().position() == position
    assert found(get_index(), "花生", "title") == set()


def test_failed_index_step_is_repaired_by_sync(
    search_app, app, db, owners, runner, monkeypatch
):
    _, institute = owners
    make_result(institute.id, title="第一项成果")

    def broken(self, session, batch=1000):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(SearchIndex, "apply_outbox", broken)
        result = make_result(institute.id, title="石墨烯导热膜制备技术")
    assert found(get_index(), "石墨烯", "title") == set()
    assert not get_index().verify(db.session).clean
    outcome = runner.invoke(args=["search", "sync"])
    assert outcome.exit_code == 0, outcome.output
    assert found(get_index(), "石墨烯", "title") == {f"result:{result.id}"}
    assert runner.invoke(args=["search", "verify"]).exit_code == 0


def test_reindex_then_verify_and_verify_reports_differences(app, db, owners, runner):
    _, institute = owners
    result = make_result(institute.id, title="智能温室环境监测系统")
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    clean = runner.invoke(args=["search", "verify"])
    assert clean.exit_code == 0 and "一致" in clean.output
    index = get_index()
    writer = index.open().writer()
    writer.delete_by_term("key", f"result:{result.id}")
    writer.commit()
    dirty = runner.invoke(args=["search", "verify"])
    assert dirty.exit_code == 1
    assert f"缺失: result:{result.id}" in dirty.output


def test_missing_or_garbled_index_is_rebuilt(app, db, owners, runner):
    _, institute = owners
    result = make_result(institute.id, title="农产品冷链物流保鲜技术")
    index = get_index()
    index.reindex(db.session)
    # Garble every file of the current generation.
    for path in index.current.resolve().iterdir():
        path.write_bytes(b"garbage")
    with pytest.raises(IndexUnavailable):
        index.open().searcher().documents()
    assert runner.invoke(args=["search", "sync"]).exit_code == 0
    assert found(index, "冷链", "title") == {f"result:{result.id}"}
    # Deleted altogether.
    import shutil

    shutil.rmtree(index.root)
    assert runner.invoke(args=["search", "sync"]).exit_code == 0
    assert found(index, "冷链", "title") == {f"result:{result.id}"}
    assert runner.invoke(args=["search", "verify"]).exit_code == 0


def test_search_or_semantics_facets_highlight_and_suggestion(app, db, owners):
    from marketplace.search.query import search

    _, institute = owners
    battery = make_result(
        institute.id,
        title="<b>锂电池</b>正极材料<script>x</script>",
        keywords=["锂电池", "正极材料"],
    )
    cells = make_result(
        institute.id, title="钙钛矿太阳能电池稳定性提升", keywords=["太阳能电池"]
    )
    make_result(institute.id, title="小麦赤霉病绿色防控技术", keywords=["小麦"])
    index = get_index()
    index.reindex(db.session)
    two = search(index, "电池")
    assert {h.doc_id for h in two.hits} == {battery.id, cells.id}
    # Long queries keep their recall: any shared word is enough.
    many = search(index, "如何提高锂电池正极材料的循环寿命和低温性能")
    assert many.hits[0].doc_id == battery.id
    assert "锂电池" in many.hits[0].matched_terms
    marked = next(h for h in two.hits if h.doc_id == battery.id).highlight
    assert "<script>" not in marked and "&lt;script&gt;" in marked
    assert "<mark" in marked
    assert two.facets["kind"] == {"result": 2}
    filtered = search(index, "电池", filters={"kind": "challenge"})
    assert filtered.total == 0
    nothing = search(index, "赤霉并")
    assert nothing.total == 0
    assert nothing.suggestion and "赤霉病" in nothing.suggestion


def test_match_explains_with_terms_in_both_texts(app, db, owners):
    from marketplace.search.analysis import words
    from marketplace.search.query import match

    _firm, institute = owners
    fit = make_result(
        institute.id,
        title="食品加工废水生物膜处理工艺",
        abstract="采用生物膜反应器处理高浓度有机废水，COD去除率高。",
    )
    make_result(institute.id, title="大豆高产栽培技术", abstract="大豆密植栽培。")
    index = get_index()
    index.reindex(db.session)
    demand = "我厂食品加工产生高浓度有机废水，希望找到低能耗的生物处理工艺，降低COD。"
    hits, _terms = match(index, demand, kind="result", limit=5)
    assert hits[0].doc_id == fit.id
    supply_words = set(words(fit.title + fit.abstract))
    demand_words = set(words(demand))
    assert hits[0].matched_terms
    for term in hits[0].matched_terms:
        assert term in supply_words and term in demand_words


def test_savepoint_release_does_not_sync_inside_the_transaction(
    search_app, app, db, owners, caplog
):
    # Releasing a SAVEPOINT fires after_commit while the outer transaction still
    # holds SQLite's write lock; syncing then, from a session of its own, waited
    # on that lock for ever (selecting a winning bid hung the server).
    import threading

    _, institute = owners
    result_id = make_result(institute.id, title="保存点测试成果").id
    done = threading.Event()
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with app.app_context():
                from marketplace.models import Result

                row = db.session.get(Result, result_id)
                row.title = "保存点之后的标题"
                with db.session.begin_nested():
                    row.abstract = "在保存点内修改"
                db.session.commit()
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(timeout=120), "the commit after a savepoint never finished"
    assert failure == []
    # The sync ran once, after the outer commit, and did not fail on the lock.
    assert "search index update failed" not in caplog.text
    assert found(get_index(), "保存点之后", "title") == {f"result:{result_id}"}


def test_search_and_match_skip_replaced_documents(search_app, app, db, owners):
    # An update replaces a document: the old one stays in its segment, marked
    # deleted, and must neither break the array scorer nor be found.
    from marketplace.search.query import match, search

    _, institute = owners
    result = make_result(institute.id, title="玉米秸秆青贮饲料技术")
    result.title = "玉米秸秆青贮饲料技术（第二版）"
    db.session.commit()
    index = get_index()
    hits = search(index, "秸秆青贮").hits
    assert [h.doc_id for h in hits] == [result.id]
    found_hits, _terms = match(index, "玉米秸秆做青贮饲料的技术", kind="result")
    assert [h.doc_id for h in found_hits] == [result.id]


def test_a_toc_replaced_while_checking_still_counts_as_an_index(
    search_app, app, db, monkeypatch
):
    """Another worker's commit deletes the TOC Whoosh just listed: not a lost index."""
    from marketplace.search import index as index_module

    with app.app_context():
        index = get_index()
        index.reindex(db.session)
        real, calls = index_module.whoosh_index.exists_in, []

        def racing(dirname, *args, **kwargs):
            calls.append(dirname)
            if len(calls) == 1:
                raise FileNotFoundError(f"{dirname}/_MAIN_7.toc")
            return real(dirname, *args, **kwargs)

        monkeypatch.setattr(index_module.whoosh_index, "exists_in", racing)
        assert index.exists() and len(calls) == 2
