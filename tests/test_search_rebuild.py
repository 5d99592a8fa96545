"""A lost or broken index is rebuilt once, however many processes notice it, and a
search that loses its files to a rebuild's swap asks the new generation."""

from __future__ import annotations

import shutil
import threading

import pytest
from sqlalchemy.orm import Session

from marketplace.matching import services
from marketplace.models import OrgKind
from marketplace.search.sync import get_index
from tests.factories import make_result


@pytest.fixture
def indexed(app, db, factory):
    institute = factory.org(OrgKind.INSTITUTE)
    make_result(institute.id, title="锂电池热管理系统")
    index = get_index()
    index.reindex(db.session)
    return index


def test_only_the_first_of_many_rebuild_requests_rebuilds(indexed, db):
    shutil.rmtree(indexed.current.resolve())
    broken = indexed.state()  # what every worker that failed saw
    assert indexed.rebuild_from(db.session, broken)
    rebuilt = indexed.state()
    assert rebuilt != broken and indexed.exists()
    # The other workers' requests arrive after it: nothing to do.
    for _ in range(3):
        assert not indexed.rebuild_from(db.session, broken)
    assert indexed.state() == rebuilt
    assert not indexed.ensure(db.session)


def test_a_broken_state_is_rebuilt_even_when_the_files_are_there(indexed, db):
    seen = indexed.state()
    assert indexed.rebuild_from(db.session, seen)  # e.g. garbled segments
    assert indexed.state().directory != seen.directory


def test_ensure_waits_for_a_rebuild_in_progress_and_does_not_repeat_it(
    indexed, db
):
    shutil.rmtree(indexed.root)
    answers: list[bool] = []
    session = Session(db.engine)
    with indexed.writer_lock():  # another process is rebuilding
        waiter = threading.Thread(
            target=lambda: answers.append(indexed.ensure(session))
        )
        waiter.start()
        waiter.join(0.3)
        assert waiter.is_alive(), "ensure did not wait for the writer lock"
        indexed._build(db.session)
        built = indexed.state()
    waiter.join(30)
    assert answers == [False]
    assert indexed.state() == built


def test_a_search_whose_files_a_swap_removed_asks_the_new_generation(indexed, db):
    calls: list[str] = []

    def search_during_a_rebuild(index):
        calls.append(index.state().directory)
        if len(calls) == 1:
            index.reindex(db.session)  # swapped in, the old files removed
            raise FileNotFoundError("_MAIN_1.seg")
        return "answered"

    assert services._guarded(search_during_a_rebuild) == "answered"
    assert calls[0] != calls[1]


def test_a_search_that_fails_on_an_unmoved_index_shows_the_notice(indexed):
    def garbled(index):
        raise OSError("bad segment")

    with pytest.raises(services.SearchUnavailable):
        services._guarded(garbled)
