"""The public search and match API: answers, shapes and parameter errors."""

from __future__ import annotations

import re

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
            institute.id,
            title="高安全锂电池电解液",
            keywords=["锂电池", "电解液"],
            external_id="R-1",
            abstract="阻燃电解液提升锂电池安全性。",
        ),
        "water": make_result(
            institute.id, title="食品废水生物膜处理工艺", keywords=["废水处理"]
        ),
        "draft": make_result(
            institute.id, title="草稿锂电池成果", status=ResultStatus.DRAFT
        ),
        "challenge": make_challenge(
            firm.id, title="锂电池热失控预警需求", keywords=["锂电池", "热失控"]
        ),
        "hidden": make_challenge(
            firm.id, title="草稿锂电池需求", status=ChallengeStatus.DRAFT
        ),
    }
    get_index().reindex(db.session)
    return items


def keys(body):
    return {(i["kind"], i["id"]) for i in body["items"]}


def test_search_answers_in_the_documented_shape(client, catalogue):
    response = client.get("/api/v1/search", query_string={"q": "锂电池"})
    assert response.status_code == 200
    body = response.get_json()
    assert keys(body) == {
        ("result", catalogue["battery"].id),
        ("challenge", catalogue["challenge"].id),
    }
    assert body["total"] == 2
    first = body["items"][0]
    assert set(first) == {
        "kind",
        "id",
        "external_id",
        "title",
        "score",
        "matched_terms",
        "highlight",
        "org",
    }
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    only = client.get("/api/v1/search", query_string={"q": "锂电池", "kind": "result"})
    assert keys(only.get_json()) == {("result", catalogue["battery"].id)}
    assert only.get_json()["items"][0]["external_id"] == "R-1"


def test_match_and_listing_matches(client, catalogue):
    response = client.post(
        "/api/v1/match",
        json={
            "text": "需要提升锂电池的安全性，防止电解液燃烧",
            "kind": "result",
            "limit": 5,
        },
    )
    body = response.get_json()
    assert body["items"][0]["id"] == catalogue["battery"].id
    assert "锂电池" in body["items"][0]["matched_terms"]
    challenge = catalogue["challenge"]
    fits = client.get(f"/api/v1/challenges/{challenge.id}/matches").get_json()
    assert ("result", catalogue["battery"].id) in keys(fits)
    back = client.get(f"/api/v1/results/{catalogue['battery'].id}/matches").get_json()
    assert ("challenge", challenge.id) in keys(back)
    assert (
        client.get(f"/api/v1/challenges/{catalogue['hidden'].id}/matches").status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/results/{catalogue['draft'].id}/matches").status_code
        == 404
    )


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("get", "/api/v1/search", {}),
        ("get", "/api/v1/search", {"q": ""}),
        ("get", "/api/v1/search", {"q": "电池", "kind": "deal"}),
        ("get", "/api/v1/search", {"q": "电池", "limit": "0"}),
        ("get", "/api/v1/search", {"q": "电池", "limit": "abc"}),
        ("get", "/api/v1/search", {"q": "电池", "page": "1e9"}),
        ("get", "/api/v1/search", {"q": "x" * 201}),
        ("post", "/api/v1/match", None),
        ("post", "/api/v1/match", ["text"]),
        ("post", "/api/v1/match", {"text": 42}),
        ("post", "/api/v1/match", {"text": "电池", "limit": True}),
        ("post", "/api/v1/match", {"text": "电池", "limit": 1.5}),
        ("post", "/api/v1/match", {"text": "电池", "kind": None, "limit": 99}),
        ("get", "/api/v1/challenges/1/matches", {"limit": "-1"}),
    ],
)
def test_bad_parameters_get_a_json_400(client, catalogue, method, url, payload):
    if method == "get":
        response = client.get(url, query_string=payload)
    else:
        response = client.post(url, json=payload)
    assert response.status_code == 400
    body = response.get_json()
    assert response.is_json and body["status"] == 400
    # A stable English code for programs, a Chinese message for people.
    assert re.fullmatch(r"[a-z_]+", body["error"]) and body["error"] != "bad_request"
    assert re.search(r"[\u4e00-\u9fff]", body["message"])
    assert not re.search(r"\bmust\b|\brequired\b", body["message"])


def test_api_error_names_the_parameter(client, catalogue):
    body = client.get("/api/v1/search", query_string={"q": "电池", "limit": "0"})
    assert body.get_json() == {
        "error": "invalid_integer",
        "message": "参数 limit 应为 1 到 50 之间的整数。",
        "param": "limit",
        "status": 400,
    }
    missing = client.get("/api/v1/search").get_json()
    assert (missing["error"], missing["param"]) == ("missing_parameter", "q")


def test_unknown_routes_and_methods_answer_json(client, catalogue):
    missing = client.get("/api/v1/nothing").get_json()
    assert missing["status"] == 404 and missing["error"] == "not_found"
    assert missing["message"] == "页面不存在或已被删除。" or re.search(
        r"[\u4e00-\u9fff]", missing["message"]
    )
    wrong = client.get("/api/v1/match").get_json()
    assert wrong["status"] == 405 and wrong["error"] == "method_not_allowed"


def test_openapi_document_describes_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {
        "/api/v1" + path.replace("{", "<int:").replace("}", ">")
        for path in doc["paths"]
    }
    routes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json")
    }
    assert documented == routes


def test_api_is_rate_limited_when_enabled(app_config, app, catalogue):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    # The limiter reads RATELIMIT_ENABLED when the app is built.
    from marketplace import create_app

    app_config["RATELIMIT_ENABLED"] = True
    app_config["API_RATE_LIMIT"] = "3 per minute"
    limited = create_app(app_config).test_client()
    codes = [
        limited.get("/api/v1/search", query_string={"q": "电池"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
