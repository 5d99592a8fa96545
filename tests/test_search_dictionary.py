"""The domain dictionary: packaged terms and the catalogue keywords per generation."""

from __future__ import annotations

from marketplace.models import OrgKind, ResultStatus
from marketplace.search import analysis, dictionary
from marketplace.search.analysis import words
from marketplace.search.query import search
from marketplace.search.sync import get_index
from tests.factories import make_result


def test_technology_fields_and_terms_stay_whole(app):
    assert "新能源与高效节能" in words("新能源与高效节能领域的项目")
    assert "钠离子电池" in words("钠离子电池正极")
    # A two-character query still works beside the longer words, also where
    # the piece (冷链) is not in jieba's own dictionary.
    assert "电池" in words("钠离子电池正极")
    assert {"冷链", "物流", "冷链物流"} <= set(words("冷链物流"))
    assert all(analysis.is_dictionary_word(w) for w in analysis.packaged_words())


def test_reindex_adds_public_keywords_to_the_generation(app, db, factory, runner):
    institute = factory.org(OrgKind.INSTITUTE)
    # Terms jieba's own dictionary cuts into single characters and pieces.
    assert "钽铌微弧涂层" not in words("钽铌微弧涂层")
    listing = make_result(
        institute.id, title="钽铌微弧涂层制备", keywords=["钽铌微弧涂层", "a b"]
    )
    make_result(
        institute.id,
        title="铪钒梯度焊层草稿",
        keywords=["铪钒梯度焊层"],
        status=ResultStatus.DRAFT,
    )
    outcome = runner.invoke(args=["search", "reindex"])
    assert outcome.exit_code == 0, outcome.output
    index = get_index()
    saved = (index.current / dictionary.FILENAME).read_text(encoding="utf-8")
    lines = saved.splitlines()
    assert "钽铌微弧涂层" in lines
    # Only what the public may see, and only words the segmenter can take.
    assert "铪钒梯度焊层" not in lines and "a b" not in lines
    assert {"钽铌微弧涂层", "微弧", "涂层"} <= set(words("钽铌微弧涂层"))
    hits = search(index, "钽铌微弧涂层").hits
    assert [h.doc_id for h in hits] == [listing.id]
    assert "钽铌微弧涂层" in hits[0].matched_terms


def test_opening_a_generation_loads_its_dictionary(app, db, factory, tmp_path):
    institute = factory.org(OrgKind.INSTITUTE)
    make_result(institute.id, title="镓锑光导阵元", keywords=["镓锑光导阵元"])
    index = get_index()
    index.reindex(db.session)
    path = index.current / dictionary.FILENAME
    # Another process (a web worker) opening this generation loads the file
    # once, and again only when a reindex has written a new one.
    analysis._loaded.clear()
    index.open()
    assert any(key[0] == str(path.resolve()) for key in analysis._loaded)
    assert analysis.load_words(path) is False
    assert analysis.load_words(tmp_path / "missing.txt") is False
