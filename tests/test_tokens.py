"""API tokens (created, shown once, hashed, revoked) and GET /api/v1/stats/turnover."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.models import ApiToken, AuditEvent, OrgKind
from marketplace.security import hash_token
from tests.test_stats import (  # noqa: F401  (the fixture is reused)
    A_FEN,
    B_FEN,
    B_TECH,
    C_FEN,
    R1,
    R2,
    R3,
    RANGE,
    TOTAL_FEN,
    TOTAL_TECH,
    fixture,
)

URL = "/api/v1/stats/turnover"


def _token(client) -> str:
    response = client.post("/settings/tokens/", data={"name": "报表系统"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'id="new-token">([^<]+)<', response.get_data(as_text=True))
    assert match
    return match.group(1)


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_shown_once_and_stored_hashed(bureau_client, db):
    secret = _token(bureau_client)
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash == hash_token(secret)
    assert row.name == "报表系统"
    assert row.user_id == bureau_client.user.id
    page = bureau_client.get("/settings/tokens/").get_data(as_text=True)
    assert secret not in page
    assert "报表系统" in page


def test_token_name_is_checked(enterprise_client, db):
    response = enterprise_client.post("/settings/tokens/", data={"name": "x" * 61})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_tokens_page_needs_login(client):
    assert client.get("/settings/tokens/").status_code == 302


def test_bureau_token_reads_turnover_exactly(fixture, bureau_client, client):  # noqa: F811
    token = _token(bureau_client)
    response = client.get(
        URL, query_string=RANGE | {"by": "month"}, headers=_bearer(token)
    )
    assert response.status_code == 200
    body = response.get_json()
    rows = {r["key"]: r for r in body["rows"]}
    assert rows["2024-01"]["contract_amount_fen"] == A_FEN + B_FEN
    assert rows["2024-05"]["count"] == 1
    assert body["total"]["contract_amount_fen"] == TOTAL_FEN
    assert body["total"]["tech_amount_fen"] == TOTAL_TECH
    assert body["total"]["count"] == 3
    assert body["total"]["key"] == "total"


def test_api_by_county_field_type_quarter_year(fixture, bureau_client):  # noqa: F811
    county = bureau_client.get(URL, query_string=RANGE | {"by": "county"}).get_json()
    rows = {r["key"]: r for r in county["rows"]}
    assert set(rows[R1]) >= {"output_fen", "absorption_fen", "output_count"}
    assert rows[R1]["output_fen"] == A_FEN + B_FEN
    assert rows[R2]["absorption_fen"] == A_FEN + C_FEN
    assert rows[R3]["absorption_count"] == 1
    assert county["total"]["output_fen"] == TOTAL_FEN
    field = bureau_client.get(URL, query_string=RANGE | {"by": "field"}).get_json()
    assert {r["key"]: r["tech_amount_fen"] for r in field["rows"]}["agriculture"] == (
        B_TECH
    )
    kinds = bureau_client.get(URL, query_string=RANGE | {"by": "type"}).get_json()
    assert {r["key"] for r in kinds["rows"]} == {"development", "transfer", "licensing"}
    for by in ("quarter", "year"):
        body = bureau_client.get(URL, query_string=RANGE | {"by": by}).get_json()
        assert body["total"]["contract_amount_fen"] == TOTAL_FEN
        assert sum(r["contract_amount_fen"] for r in body["rows"]) == TOTAL_FEN
    default = bureau_client.get(URL).get_json()
    assert default["by"] == "month"
    assert default["from"].endswith("-01-01")


@pytest.mark.parametrize(
    "params",
    [
        {"by": "week"},
        {"by": "party"},
        {"from": "2024-13-01"},
        {"from": "yesterday"},
        {"to": "2024-1-1"},
        {"from": "2024-12-31", "to": "2024-01-01"},
        {"from": "1900-01-01", "to": "2024-01-01"},
    ],
)
def test_api_refuses_bad_parameters(bureau_client, params):
    response = bureau_client.get(URL, query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] in {"invalid_choice", "invalid_date", "invalid_range"}
    assert re.search(r"[\u4e00-\u9fff]", body["message"])


def test_api_refuses_anonymous_and_non_bureau(client, enterprise_client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    response = enterprise_client.get(URL)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_non_bureau_token_is_refused(agency_client, client):
    token = _token(agency_client)
    response = client.get(URL, headers=_bearer(token))
    assert response.status_code == 403
    assert response.is_json


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer ", "Basic abc", "bearer", "Token x"]
)
def test_bad_authorization_headers_are_refused(client, header):
    response = client.get(URL, headers={"Authorization": header})
    assert response.status_code == 401


def test_revoked_token_is_refused(bureau_client, client, db):
    token = _token(bureau_client)
    assert client.get(URL, headers=_bearer(token)).status_code == 200
    token_id = db.session.scalar(select(ApiToken.id))
    assert db.session.get(ApiToken, token_id).last_used_at is not None
    path = f"/settings/tokens/{token_id}/revoke"
    # Without the confirmation tick the token keeps working.
    unticked = bureau_client.post(path, follow_redirects=True)
    assert "请先勾选确认框" in unticked.get_data(as_text=True)
    assert client.get(URL, headers=_bearer(token)).status_code == 200
    response = bureau_client.post(path, data={"confirm": "y"})
    assert response.status_code == 302
    assert client.get(URL, headers=_bearer(token)).status_code == 401
    trail = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "api_tokens", AuditEvent.object_id == token_id)
        .order_by(AuditEvent.id)
    ).all()
    assert trail == ["token.create", "token.revoke"]


def test_cannot_revoke_someone_elses_token(bureau_client, enterprise_client, db):
    token = _token(bureau_client)
    token_id = db.session.scalar(select(ApiToken.id))
    response = enterprise_client.post(
        f"/settings/tokens/{token_id}/revoke", data={"confirm": "y"}
    )
    assert response.status_code == 404
    assert db.session.get(ApiToken, token_id).revoked_at is None
    assert enterprise_client.post("/settings/tokens/999999/revoke").status_code == 404
    assert token


def test_token_of_deactivated_user_is_refused(factory, login, client, db):
    bureau = factory.org(kind=OrgKind.BUREAU)
    user = factory.user(bureau)
    token = _token(login(user))
    from marketplace.models import User

    db.session.get(User, user.id).active = False
    db.session.commit()
    assert client.get(URL, headers=_bearer(token)).status_code == 401


def test_token_does_not_log_into_pages(bureau_client, client):
    token = _token(bureau_client)
    response = client.get("/stats/", headers=_bearer(token))
    assert response.status_code == 302


def test_create_token_command(factory, runner, client):
    bureau = factory.org(kind=OrgKind.BUREAU)
    user = factory.user(bureau, email="stats@example.cn")
    result = runner.invoke(args=["create-token", "STATS@example.cn"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert client.get(URL, headers=_bearer(token)).status_code == 200
    missing = runner.invoke(args=["create-token", "nobody@example.cn"])
    assert missing.exit_code != 0
    assert user.id


def test_openapi_documents_turnover(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/stats/turnover" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
