"""Input bounds: money commas that could mean two things, dates too far ahead."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from marketplace.listings.states import years_ahead
from marketplace.models import Challenge, Contract, OrgKind, Result
from tests.test_contracts import form as contract_form


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seller(factory):
    return factory.org(OrgKind.INSTITUTE)


# --- money separators and date bounds -------------------------------------------------


@pytest.mark.parametrize("amount", ["5,0", "12,34", "1,2345", "5,", "1,,000"])
def test_ambiguous_money_separators_are_refused(enterprise_client, seller, amount, db):
    data = contract_form(enterprise_client.org, seller, amount=amount)
    response = enterprise_client.post("/contracts/new", data=data)
    assert "金额中的逗号只能作千位分隔符" in response.get_data(as_text=True)
    assert count(db, Contract) == 0


def test_grouped_thousands_still_read(enterprise_client, seller, db):
    data = contract_form(enterprise_client.org, seller, amount="1,234.5")
    assert enterprise_client.post("/contracts/new", data=data).status_code == 302
    assert db.session.scalar(select(Contract.amount_fen)) == 1_234_500_000


def challenge_form(deadline) -> dict:
    return {
        "title": "食品加工废水低能耗处理",
        "description": "现有工艺能耗高。",
        "field": "environment",
        "region": "411702",
        "bounty": "50",
        "deadline": deadline,
        "allowed_bidder_kinds": ["university"],
    }


def test_deadline_at_most_five_years_ahead(enterprise_client, db):
    response = enterprise_client.post(
        "/challenges/new", data=challenge_form("9999-12-31")
    )
    text = response.get_data(as_text=True)
    assert "揭榜截止日期最远为 5 年后" in text
    assert count(db, Challenge) == 0
    last = years_ahead(5).isoformat()
    response = enterprise_client.post("/challenges/new", data=challenge_form(last))
    assert response.status_code == 302
    assert count(db, Challenge) == 1


def test_imports_refuse_far_dates(runner, factory, tmp_path, db):
    org = factory.org(OrgKind.ENTERPRISE, name="导入远期企业")
    uni = factory.org(OrgKind.UNIVERSITY, name="导入远期大学")
    for kind, owner, row, message in (
        ("challenge", org, {"deadline": "9999-12-31"}, "揭榜截止日期最远为 5 年后"),
        ("result", uni, {"valid_until": "9999-12-31"}, "valid_until 最远为 3 年后"),
    ):
        path = tmp_path / f"{kind}.jsonl"
        line = {"title": "远期", "description": "内容", **row}
        path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
        out = runner.invoke(
            args=["import-listings", "--kind", kind, "--org", owner.name, str(path)]
        )
        assert out.exit_code != 0 and message in out.output, out.output
    assert count(db, Challenge) == 0 and count(db, Result) == 0
