"""The deals board's filters and column paging, and deals never started twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from marketplace.deals import routes
from marketplace.models import Deal, DealStage, OrgKind, TechField, UserRole
from tests.factories import make_challenge, make_result


def text(response) -> str:
    return response.get_data(as_text=True)


def field_id(db, code: str) -> int:
    return db.session.scalar(select(TechField.id).where(TechField.code == code))


@pytest.fixture
def world(db, factory):
    """Four deals: two counties, two fields, two brokers, two stages, two months."""
    city = factory.org(OrgKind.ENTERPRISE, name="驿城食品厂")
    county = factory.org(OrgKind.ENTERPRISE, name="西平机械厂", region_code="411721")
    uni = factory.org(OrgKind.UNIVERSITY, name="板块大学")
    agency = factory.org(OrgKind.AGENCY, name="天中转移中心")
    other_agency = factory.org(OrgKind.AGENCY, name="汝南转移中心")
    food = make_challenge(
        city.id, title="食品需求", field_id=field_id(db, "environment")
    )
    machine = make_challenge(
        county.id, title="机械需求", field_id=field_id(db, "advanced_manufacturing")
    )

    def deal(title, demand, challenge, broker, stage, month):
        row = Deal(
            title=title,
            demand_org_id=demand.id,
            supply_org_id=uni.id,
            challenge_id=challenge.id,
            broker_org_id=broker.id if broker else None,
            stage=stage,
            created_at=datetime(2026, month, 10, 4, tzinfo=UTC),
        )
        db.session.add(row)

    deal("环保甲项目", city, food, agency, DealStage.LEAD, 3)
    deal("环保乙项目", city, food, other_agency, DealStage.NEGOTIATING, 4)
    deal("机械丙项目", county, machine, agency, DealStage.LEAD, 4)
    deal("机械丁项目", county, machine, None, DealStage.CONTACTED, 5)
    db.session.commit()
    return {"agency": agency, "other_agency": other_agency, "uni": uni}


TITLES = ("环保甲项目", "环保乙项目", "机械丙项目", "机械丁项目")


def shown(client, query: str) -> set[str]:
    page = text(client.get(f"/deals/?{query}"))
    return {t for t in TITLES if t in page}


@pytest.mark.parametrize("view", ["", "view=list&"])
def test_board_and_list_filter_by_stage_broker_county_field_and_date(
    db, bureau_client, world, view
):
    environment = field_id(db, "environment")
    assert shown(bureau_client, view) == set(TITLES)
    assert shown(bureau_client, f"{view}stage=lead") == {"环保甲项目", "机械丙项目"}
    assert shown(bureau_client, f"{view}broker={world['agency'].id}") == {
        "环保甲项目",
        "机械丙项目",
    }
    assert shown(bureau_client, f"{view}county=411721") == {"机械丙项目", "机械丁项目"}
    # The university is in 驿城区 and a party to all four.
    assert shown(bureau_client, f"{view}county=411702") == set(TITLES)
    assert shown(bureau_client, f"{view}field={environment}") == {
        "环保甲项目",
        "环保乙项目",
    }
    assert shown(bureau_client, f"{view}start=2026-04-01&end=2026-04-30") == {
        "环保乙项目",
        "机械丙项目",
    }
    both = f"{view}county=411721&start=2026-04-01&broker={world['agency'].id}"
    assert shown(bureau_client, both) == {"机械丙项目"}


def test_a_bad_date_is_said(bureau_client, world):
    response = bureau_client.get("/deals/?start=2026-02-30")
    assert response.status_code == 400 and "日期格式" in text(response)
    assert not {t for t in TITLES if t in text(response)}


def test_broker_choices_are_only_those_of_visible_deals(login, factory, world):
    member = factory.user(world["other_agency"])
    page = text(login(member).get("/deals/"))
    assert "汝南转移中心" in page and "天中转移中心" not in page
    assert shown(login(member), "") == {"环保乙项目"}


def test_each_column_pages_with_a_more_link(db, bureau_client, world, monkeypatch):
    monkeypatch.setattr(routes, "BOARD_COLUMN", 1)
    first = text(bureau_client.get("/deals/"))
    assert "第 1–1 项，共 2 项" in first and "p_lead=2" in first
    assert "更多" in first
    # Only one lead on page 1; the other on page 2, filters kept in the links.
    assert sum(t in first for t in ("环保甲项目", "机械丙项目")) == 1
    second = text(bureau_client.get("/deals/?p_lead=2"))
    assert sum(t in second for t in ("环保甲项目", "机械丙项目")) == 1
    assert "第 2–2 项，共 2 项" in second and 'rel="prev"' in second
    filtered = text(bureau_client.get("/deals/?stage=lead&field=1"))
    assert 'data-stage-count="negotiating"' not in filtered
    paged = text(bureau_client.get("/deals/?broker=" + str(world["agency"].id)))
    assert f"broker={world['agency'].id}" in paged and "p_lead=2" in paged


# --- never started twice ---------------------------------------------------------


@pytest.fixture
def pair(db, factory):
    firm = factory.org(OrgKind.ENTERPRISE)
    institute = factory.org(OrgKind.INSTITUTE)
    return {
        "firm_user": factory.user(firm, role=UserRole.ORG_ADMIN),
        "institute_user": factory.user(institute),
        "challenge": make_challenge(firm.id, title="冷链温控需求"),
        "result": make_result(institute.id, title="冷链温控成果"),
    }


def start(client, pair):
    return client.post(
        "/deals/from-match",
        data={"challenge_id": pair["challenge"].id, "result_id": pair["result"].id},
    )


def count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Deal.id)))


def test_a_second_start_links_to_the_existing_deal(db, login, agency_client, pair):
    firm = login(pair["firm_user"])
    first = start(firm, pair)
    assert "已发起撮合" in text(firm.get(first.location))
    deal = db.session.scalar(select(Deal))
    institute = login(pair["institute_user"])
    again = start(institute, pair)
    page = text(institute.get(again.location))
    assert "已有撮合项目，未重复发起" in page and f'href="/deals/{deal.id}"' in page
    assert "已发起撮合" not in page and count(db) == 1
    # An agency that cannot see the deal is told it exists, without a link.
    third = start(agency_client, pair)
    told = text(agency_client.get(third.location))
    assert "已有其他机构跟进的撮合项目" in told and f"/deals/{deal.id}" not in told
    assert count(db) == 1


def test_the_new_deal_form_sends_to_the_existing_deal(db, login, pair):
    firm = login(pair["firm_user"])
    start(firm, pair)
    deal = db.session.scalar(select(Deal))
    query = f"challenge_id={pair['challenge'].id}&result_id={pair['result'].id}"
    response = firm.get(f"/deals/new?{query}")
    assert response.location.endswith(f"/deals/{deal.id}")
    assert "已有撮合项目" in text(firm.get(response.location))
    posted = firm.post(
        f"/deals/new?{query}",
        data={
            "title": "重复的项目",
            "demand_org": pair["challenge"].org.name,
            "supply_org": pair["result"].org.name,
        },
    )
    assert posted.status_code == 302 and count(db) == 1


def test_the_match_list_links_the_existing_deal_instead_of_a_button(db, login, pair):
    from marketplace.search.sync import get_index

    get_index().reindex(db.session)
    firm = login(pair["firm_user"])
    page = text(firm.get(f"/challenges/{pair['challenge'].id}"))
    assert "冷链温控成果" in page and "发起撮合" in page
    start(firm, pair)
    deal = db.session.scalar(select(Deal))
    page = text(firm.get(f"/challenges/{pair['challenge'].id}"))
    assert "已有撮合项目" in page and f'href="/deals/{deal.id}"' in page
    assert "发起撮合</button>" not in page
