"""The search page and the home-page problem box, as a visitor uses them."""

from __future__ import annotations

import shutil

import pytest

from marketplace.models import ChallengeStatus, OrgKind, ResultStatus
from marketplace.search.sync import get_index
from tests.factories import make_challenge, make_result


@pytest.fixture
def catalogue(app, db, factory):
    firm = factory.org(OrgKind.ENTERPRISE)
    institute = factory.org(OrgKind.INSTITUTE)
    items = {
        "battery": make_result(
            institute.id, title="高安全锂电池电解液", keywords=["锂电池", "电解液"]
        ),
        "solar": make_result(
            institute.id, title="钙钛矿太阳能电池", keywords=["太阳能电池"]
        ),
        "draft": make_result(
            institute.id, title="未发布的电池隔膜成果", status=ResultStatus.DRAFT
        ),
        "challenge": make_challenge(
            firm.id, title="动力电池梯次利用需求", confidential_detail="绝密电池配方XYZ"
        ),
        "closed_draft": make_challenge(
            firm.id, title="草稿电池需求", status=ChallengeStatus.DRAFT
        ),
    }
    get_index().reindex(db.session)
    return items


def test_two_character_query_finds_both_kinds(client, catalogue):
    page = client.get("/search", query_string={"q": "电池"}).get_data(as_text=True)
    assert "锂电池" in page and "钙钛矿" in page and "梯次利用" in page
    assert "未发布的电池隔膜成果" not in page
    assert "草稿电池需求" not in page
    assert "绝密电池配方" not in page
    assert "<mark" in page


def test_filters_and_facets(client, catalogue):
    page = client.get("/search", query_string={"q": "电池", "kind": "challenge"})
    body = page.get_data(as_text=True)
    assert "梯次利用" in body and "钙钛矿" not in body
    assert "科技成果" in client.get("/search", query_string={"q": "电池"}).get_data(
        as_text=True
    )


def test_bad_parameters_never_fail(client, catalogue):
    for params in (
        {"q": "电池", "page": "-1"},
        {"q": "电池", "page": "abc"},
        {"q": "电池", "kind": "bogus"},
        {"q": "电池", "field": "<script>"},
        {"q": "x" * 5000},
        {"q": "!!!"},
        {},
    ):
        assert client.get("/search", query_string=params).status_code == 200


def test_no_result_offers_a_suggestion(client, catalogue):
    page = client.get("/search", query_string={"q": "电介液"}).get_data(as_text=True)
    assert "您是不是要找" in page


def test_problem_box_matches_results_without_login(client, catalogue):
    text = "我们需要提高锂电池的安全性，电解液容易燃烧"
    page = client.get("/match", query_string={"text": text}).get_data(as_text=True)
    assert "高安全锂电池电解液" in page
    assert "共同关键词" in page
    too_long = client.get("/match", query_string={"text": "长" * 2001})
    assert "不超过 2000 字" in too_long.get_data(as_text=True)


def test_search_survives_a_deleted_index(client, catalogue, app):
    app.config["SEARCH_REBUILD_IN_BACKGROUND"] = True
    with app.app_context():
        shutil.rmtree(get_index().root)
    page = client.get("/search", query_string={"q": "电池"})
    assert page.status_code == 200
    assert "正在重建" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200
    # The rebuild runs in the background; wait for it, then search works again.
    from marketplace.matching import services

    assert services._rebuilding.acquire(timeout=60)
    services._rebuilding.release()
    page = client.get("/search", query_string={"q": "电池"}).get_data(as_text=True)
    assert "锂电池" in page


def test_listing_pages_show_explained_matches(client, catalogue):
    battery = catalogue["battery"]
    challenge = catalogue["challenge"]
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert "智能匹配" in page
    assert "高安全锂电池电解液" in page and "共同关键词" in page
    back = client.get(f"/results/{battery.id}").get_data(as_text=True)
    assert "动力电池梯次利用需求" in back
    assert "相关企业" in back and "（1 项相关需求）" in back
