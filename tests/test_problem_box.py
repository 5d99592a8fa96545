"""The problem box: a posted description up to 2000 字, and an honest answer."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.matching import services
from marketplace.models import OrgKind, UnmetDemand
from marketplace.search import query as engine
from marketplace.search.sync import get_index
from tests.factories import make_result

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SENTENCES = [
    "我们是驻马店的一家面粉加工企业，年加工小麦约二十万吨，产品主要是通用小麦粉和挂面专用粉。",
    "近两年客户反映面粉放久了容易生虫、结块，夏季高温高湿时尤其明显，退货率明显上升。",
    "目前仓库只靠通风和人工翻垛，没有温湿度在线监测，储藏期一长品质就不稳定。",
    "我们希望在不增加防腐剂的前提下延长小麦粉保鲜期，并保持面筋强度和加工性能。",
    "也想了解低温储藏、气调储藏和储粮害虫绿色防控方面有没有成熟可转化的技术。",
    "另外车间粉尘较大，除尘设备电费太高，希望一并找到节能的除尘或粉尘回收方案。",
    "理想情况下，新技术能在现有仓库和生产线上改造实施，投资回收期不超过三年。",
    "我们可以提供中试场地、原料和检测条件，也愿意与高校或科研院所联合申报项目。",
]


def real_description(length: int = 1900) -> str:
    """An enterprise's own paragraphs, repeated and cut to `length` characters."""
    text, n = "", 0
    while len(text) < length:
        text += SENTENCES[n % len(SENTENCES)]
        n += 1
        if n % len(SENTENCES) == 0:
            text += "\n"
    return text[:length]


@pytest.fixture
def catalogue(app, db, factory):
    institute = factory.org(OrgKind.INSTITUTE)
    items = {
        "flour": make_result(
            institute.id,
            title="小麦粉储藏品质保持与防结块技术",
            abstract="通过低温储藏和气调储藏延长小麦粉保鲜期，防止生虫和结块。",
            keywords=["小麦粉", "储藏品质", "防结块"],
        ),
        "battery": make_result(
            institute.id, title="高安全锂电池电解液", keywords=["锂电池", "电解液"]
        ),
    }
    get_index().reindex(db.session)
    return items


@pytest.fixture
def weak(monkeypatch):
    """No match is strong enough: what a real weak answer looks like."""
    monkeypatch.setattr(engine, "STRONG_MATCH", 1_000_000.0)


def unmet_count(db) -> int:
    return db.session.scalar(select(func.count(UnmetDemand.id)))


def test_home_page_box_posts_and_says_its_limit(client):
    page = client.get("/").get_data(as_text=True)
    form = page[page.index('id="problem-title"') :]
    assert '<form method="post" action="/match">' in form
    assert 'name="csrf_token"' in form[: form.index("</form>")]
    assert "最多 2000 字" in form
    assert "最多 2000 字" in client.get("/match").get_data(as_text=True)


def test_a_1900_character_description_is_matched(client, catalogue):
    text = real_description(1900)
    assert len(text) == 1900
    response = client.post("/match", data={"text": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "小麦粉储藏品质保持与防结块技术" in page
    assert "共同关键词" in page
    # The whole text comes back in the box: nothing was cut.
    assert text.split("\n")[-1][-40:] in page
    # An answer to someone's own text is never cached.
    assert response.headers["Cache-Control"] == "no-store"


def test_windows_line_breaks_count_once(client, catalogue):
    text = ("小麦粉保鲜储藏结块\r\n" * 200)[:-2]  # 2198 characters sent, 1999 typed
    page = client.post("/match", data={"text": text}).get_data(as_text=True)
    assert "2000 字" in page and "您输入了" not in page


def test_longer_text_is_refused_in_chinese_not_truncated(client, catalogue, db):
    text = "面粉" * 1000 + "生虫"  # 2002 characters
    for response in (
        client.post("/match", data={"text": text}),
        client.get("/match", query_string={"text": text}),
    ):
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "描述不超过 2000 字：您输入了 2002 字" in page
        assert "小麦粉储藏品质" not in page  # nothing was matched
        assert text in page  # the text is handed back whole, to shorten
    assert unmet_count(db) == 0


def test_empty_post_asks_for_a_description(client):
    page = client.post("/match", data={"text": "  "}).get_data(as_text=True)
    assert "请描述您遇到的技术问题" in page


def test_a_get_link_keeps_working(client, catalogue):
    page = client.get("/match", query_string={"text": "小麦粉防结块"})
    assert page.status_code == 200
    assert "小麦粉储藏品质保持与防结块技术" in page.get_data(as_text=True)


def test_strong_matches_are_listed_and_not_recorded(client, catalogue, db):
    page = client.post("/match", data={"text": "小麦粉储藏结块"}).get_data(as_text=True)
    assert 'id="strong-matches"' in page
    assert "没有找到足够匹配的科技成果" not in page
    assert unmet_count(db) == 0


def test_no_strong_match_says_so_and_keeps_partial_hits_apart(
    client, catalogue, weak, db
):
    page = client.post("/match", data={"text": "小麦粉储藏结块"}).get_data(as_text=True)
    assert "没有找到足够匹配的科技成果" in page
    assert 'id="strong-matches"' not in page
    partial = page[page.index("部分相关") :]
    assert "小麦粉储藏品质保持与防结块技术" in partial
    assert "发布为技术需求" in page
    demand = db.session.scalar(select(UnmetDemand))
    assert demand.text == "小麦粉储藏结块" and demand.user_id is None
    assert demand.best_score is not None and demand.best_score > 0


def test_the_same_text_in_one_session_is_one_demand(client, app, catalogue, weak, db):
    for _ in range(3):
        client.post("/match", data={"text": "面粉 生虫 结块"})
    client.get("/match", query_string={"text": "面粉 生虫  结块"})
    assert unmet_count(db) == 1
    assert db.session.scalar(select(UnmetDemand.seen_count)) == 4
    app.test_client().post("/match", data={"text": "面粉 生虫 结块"})
    client.post("/match", data={"text": "面粉结块怎么办"})
    assert unmet_count(db) == 3


def test_logged_in_demand_names_the_organisation(
    enterprise_client, catalogue, weak, db
):
    enterprise_client.post("/match", data={"text": "挂面断条率高"})
    demand = db.session.scalar(select(UnmetDemand))
    assert demand.org_id == enterprise_client.org.id
    assert demand.user_id == enterprise_client.user.id
    assert demand.region_code == enterprise_client.org.region_code


def test_a_non_enterprise_is_told_it_cannot_publish(university_client, catalogue, weak):
    page = university_client.post("/match", data={"text": "面粉结块"}).get_data(
        as_text=True
    )
    assert "只有企业用户可以发布技术需求" in page
    assert 'action="/demands/draft"' not in page


def test_each_match_explains_itself(client, catalogue, monkeypatch):
    flour = catalogue["flour"]

    def explained(user, text, kind="result", limit=10):
        from marketplace.extensions import db

        listing = db.session.get(type(flour), flour.id)
        match = services.Match(
            listing=listing,
            kind="result",
            score=82.4,
            matched_terms=["小麦粉", "结块"],
            expansions=[("除臭", "臭味")],
            sentence="低温储藏可防止<mark>结块</mark>与&lt;生虫&gt;",
        )
        return services.TextMatch(strong=[match], partial=[], terms=["小麦粉"])

    monkeypatch.setattr(services, "match_text", explained)
    page = client.post("/match", data={"text": "面粉结块"}).get_data(as_text=True)
    assert '<strong class="match-score">82</strong>' in page
    assert "相关词：" in page and "除臭 ← 臭味" in page
    assert "共同关键词：" in page and ">小麦粉</span>" in page
    assert "低温储藏可防止<mark>结块</mark>与&lt;生虫&gt;" in page


def test_listing_pages_keep_their_matches(client, catalogue, factory, db):
    from tests.factories import make_challenge

    firm = factory.org(OrgKind.ENTERPRISE)
    challenge = make_challenge(
        firm.id, title="小麦粉结块问题", description="面粉储藏中结块", keywords=[]
    )
    get_index().reindex(db.session)
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert "智能匹配" in page and "小麦粉储藏品质保持与防结块技术" in page
    score = re.search(r'class="match-score">([^<]+)<', page).group(1)
    assert score.isdigit()


def test_the_post_needs_its_csrf_token(app, catalogue):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    refused = client.post("/match", data={"text": "小麦粉结块"})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    token = TOKEN.search(client.get("/").get_data(as_text=True)).group(1)
    forged = client.post("/match", data={"text": "小麦粉结块", "csrf_token": "x"})
    assert forged.status_code == 400
    answer = client.post("/match", data={"text": "小麦粉结块", "csrf_token": token})
    assert answer.status_code == 200
    assert "小麦粉储藏品质" in answer.get_data(as_text=True)


@pytest.fixture
def page_cache_on(app_config):
    app_config["PAGE_CACHE_SECONDS"] = 60
    return app_config


def test_posted_answers_stay_out_of_the_page_cache(page_cache_on, app, catalogue):
    visitor = app.test_client()
    visitor.get("/")
    posted = visitor.post("/match", data={"text": "小麦粉保鲜 私人描述甲"})
    assert "私人描述甲" in posted.get_data(as_text=True)
    for _ in range(2):
        fresh = app.test_client().get("/match").get_data(as_text=True)
        assert "私人描述甲" not in fresh


def test_every_visitor_gets_a_home_page_with_a_token_of_their_own(app, catalogue):
    """A cached home page would hand one visitor's CSRF token to the next."""
    app.config.update(WTF_CSRF_ENABLED=True, PAGE_CACHE_SECONDS=60)
    for _ in range(3):
        visitor = app.test_client()
        token = TOKEN.search(visitor.get("/").get_data(as_text=True)).group(1)
        answer = visitor.post(
            "/match", data={"text": "小麦粉结块", "csrf_token": token}
        )
        assert answer.status_code == 200
