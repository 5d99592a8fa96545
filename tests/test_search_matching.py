"""Matching enterprise wording against real research records (CSL, Apache-2.0).

The catalogue is a slice of the real records (food, environment, medicine,
materials); the demands are written as firms write them. Nothing here is a
ranking tuned by hand: the tests check what any honest answer must satisfy —
no unit, number, boilerplate or junk n-gram is ever a match or explanation
term, expansions name the word they came from, scores are 0–100 and a demand
the catalogue cannot meet is not shown as a strong match.
"""

from __future__ import annotations

import json
import re

import pytest

from marketplace.models import OrgKind
from marketplace.search import query, terms
from marketplace.search.documents import key_of
from marketplace.search.sync import get_index
from tests.factories import make_result

CSL = "marketplace/data/csl/csl_2k.jsonl"
DISCIPLINES = {"食品科学与工程", "环境科学与工程", "中医学/中药学", "材料科学与工程"}
JUNK = re.compile(r"[0-9%]|^(kg|一家|希望|提高|减少|我们|公司|生产|百分点|霉毒|效成)$")


@pytest.fixture
def records(app, db, factory):
    """35 real records of each of four disciplines, published as results."""
    institute = factory.org(OrgKind.INSTITUTE)
    out = {}
    taken: dict[str, int] = {}
    with open(CSL, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            discipline = record["discipline"]
            if discipline not in DISCIPLINES or taken.get(discipline, 0) >= 35:
                continue
            taken[discipline] = taken.get(discipline, 0) + 1
            result = make_result(
                institute.id,
                title=record["title"][:200],
                abstract=record["abstract"],
                keywords=record["keywords"][:10],
                discipline=record["discipline"],
            )
            out[result.id] = record
    get_index().reindex(db.session)
    return out


DEMANDS = [
    "我们是一家食品加工企业，想提高小麦粉的保鲜期，减少防腐剂使用",
    "芝麻油生产中黄曲霉毒素超标，出油率低于60%，每吨成本高出5个百分点，kg计价",
    "养猪场粪污处理臭味大，希望找到低成本的除臭技术",
    "印染废水颜色去不掉，COD超标",
]


@pytest.mark.parametrize("text", DEMANDS)
def test_no_junk_term_is_ever_a_match_or_explanation_term(app, records, text):
    hits, shown = query.match(get_index(), text, kind="result", limit=10)
    assert hits
    for word in shown:
        assert not JUNK.search(word), word
        assert terms.is_term(word)
    for hit in hits:
        assert 0 <= hit.score <= 100
        for word in hit.matched_terms:
            assert not JUNK.search(word), word
        for expansion, source in hit.expansions:
            assert not JUNK.search(expansion)
            assert source and source in text.lower()


def test_expansions_name_the_firms_word(app, records):
    hits, _ = query.match(get_index(), "印染废水颜色去不掉", kind="result", limit=10)
    sources = {source for hit in hits for _, source in hit.expansions}
    # 颜色去不掉 is everyday wording; the thesaurus turns it into research terms.
    assert sources, "some hit should match through an expansion"
    assert all(source in "印染废水颜色去不掉" for source in sources)


def test_the_catalogue_answers_its_own_topic_first(app, records):
    hits, _ = query.match(
        get_index(), "印染厂的废水处理，生物处理效果不好", kind="result", limit=5
    )
    top = records[hits[0].doc_id]
    assert top["discipline"] == "环境科学与工程"
    assert hits[0].score >= hits[-1].score


def test_a_demand_the_catalogue_cannot_meet_is_not_strong(app, records):
    text = "我们的数控机床主轴振动大，加工精度达不到图纸要求，希望找到减振方案"
    hits, _ = query.match(get_index(), text, kind="result", limit=10)
    assert all(hit.score < query.STRONG_MATCH for hit in hits)


def test_scores_are_calibrated_the_same_way_for_search(app, records):
    page = query.search(get_index(), "废水 除臭")
    assert page.hits
    assert all(0 < hit.score <= 100 for hit in page.hits)
    scores = [hit.score for hit in page.hits]
    assert scores == sorted(scores, reverse=True)


def test_a_compound_is_searched_whole_before_its_fragments(app, db, factory):
    institute = factory.org(OrgKind.INSTITUTE)
    whole = make_result(
        institute.id,
        title="花生中黄曲霉毒素的快速检测",
        abstract="建立了花生及其制品中黄曲霉毒素B1的免疫层析快速检测方法。",
        keywords=["黄曲霉毒素", "快速检测"],
        discipline="食品科学与工程",
    )
    fragment = make_result(
        institute.id,
        title="细菌内毒素检查法的验证",
        abstract="对注射液中细菌内毒素的检查方法进行了验证。",
        keywords=["内毒素"],
        discipline="药学",
    )
    get_index().reindex(db.session)
    page = query.search(get_index(), "黄曲霉毒素")
    assert page.terms[0] == "黄曲霉毒素"
    assert "霉毒" not in page.terms
    ranked = [hit.doc_id for hit in page.hits]
    assert ranked[0] == whole.id
    assert fragment.id not in ranked or page.hits[-1].score < page.hits[0].score / 2


def test_explanations_show_the_best_sentence(app, db, records, client):
    from marketplace.matching.services import match_text

    with app.test_request_context():
        from flask_login import AnonymousUserMixin

        outcome = match_text(AnonymousUserMixin(), "印染废水脱色处理", "result", 5)
    found = outcome.matches
    assert found
    best = found[0]
    assert "<mark>" in str(best.sentence)
    assert key_of("result", best.listing.id)
