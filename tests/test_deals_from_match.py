"""Opening a deal from an explained match: who may, and once per pair."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.models import Deal, DealEvent, Notification, OrgKind, UserRole
from marketplace.search.sync import get_index
from tests.factories import make_challenge, make_result


@pytest.fixture
def pair(app, db, factory):
    firm = factory.org(OrgKind.ENTERPRISE)
    institute = factory.org(OrgKind.INSTITUTE)
    firm_user = factory.user(firm, role=UserRole.ORG_ADMIN)
    institute_user = factory.user(institute)
    challenge = make_challenge(firm.id, title="锂电池热失控预警", keywords=["锂电池"])
    result = make_result(
        institute.id, title="锂电池热失控早期预警方法", keywords=["锂电池", "热失控"]
    )
    get_index().reindex(db.session)
    return {
        "challenge": challenge,
        "result": result,
        "firm_user": firm_user,
        "institute_user": institute_user,
        "firm": firm,
        "institute": institute,
    }


def deals(db):
    return db.session.scalar(select(func.count(Deal.id)))


def start(client, pair):
    return client.post(
        "/deals/from-match",
        data={
            "challenge_id": pair["challenge"].id,
            "result_id": pair["result"].id,
            "next": f"/challenges/{pair['challenge'].id}",
        },
    )


def test_owner_starts_a_deal_from_the_challenge_page(login, db, pair):
    client = login(pair["firm_user"])
    page = client.get(f"/challenges/{pair['challenge'].id}").get_data(as_text=True)
    assert "发起撮合" in page
    assert start(client, pair).status_code == 302
    deal = db.session.scalar(select(Deal))
    assert (deal.demand_org_id, deal.supply_org_id) == (
        pair["firm"].id,
        pair["institute"].id,
    )
    assert deal.stage == "lead" and deal.broker_org_id is None
    assert db.session.scalar(select(DealEvent.note)) == "由智能匹配发起"
    links = db.session.scalars(
        select(Notification.link).where(
            Notification.user_id == pair["institute_user"].id
        )
    ).all()
    # One notification, opening the deal itself.
    assert links == [f"/deals/{deal.id}"]
    # Starting again opens nothing new.
    start(client, pair)
    assert deals(db) == 1


def test_agency_starts_a_deal_as_broker(agency_client, db, pair):
    assert start(agency_client, pair).status_code == 302
    deal = db.session.scalar(select(Deal))
    assert deal.broker_org_id == agency_client.org.id


@pytest.mark.parametrize("who", ["anonymous", "outsider", "unverified"])
def test_others_cannot_start_deals(app, login, factory, db, pair, who):
    if who == "anonymous":
        client = app.test_client()
        expected = 302
    else:
        org = factory.org(OrgKind.ENTERPRISE, verified=(who == "outsider"))
        client = login(factory.user(org))
        expected = 403
    assert start(client, pair).status_code == expected
    assert deals(db) == 0


def test_unknown_listings_are_not_found(agency_client, db, pair):
    response = agency_client.post(
        "/deals/from-match", data={"challenge_id": "999", "result_id": "abc"}
    )
    assert response.status_code == 404
    assert deals(db) == 0
