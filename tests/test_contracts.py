"""Technology contracts: recording, refusals, registration, payments, permissions."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select

from marketplace.contracts import services
from marketplace.exceptions import ServiceError
from marketplace.models import (
    AuditEvent,
    ChallengeStatus,
    Contract,
    ContractStatus,
    Deal,
    DealEvent,
    DealStage,
    Notification,
    Payment,
    ResultStatus,
    User,
)
from tests.dates import iso, resolved, today
from tests.factories import contract_between, make_challenge, make_result


def count(db, model=Contract):
    return db.session.scalar(select(func.count()).select_from(model))


def form(buyer, seller, **over):
    data = {
        "title": "生物膜废水处理技术转让",
        "contract_type": "transfer",
        "buyer_org": str(buyer.id),
        "seller_org": str(seller.id),
        "broker_org": "",
        "field": "",
        "signed_on": iso(-3),
        "amount": "120.5",
        "tech_amount": "100",
    }
    data.update(over)
    return data


def add_contract(db, buyer, seller, **fields):
    """A submitted 50 万元 contract (40 万元 technology) signed ten days ago."""
    values = {
        "title": "",
        "signed_on": today(-10),
        "amount_fen": 50_000_000,
        "tech_amount_fen": 40_000_000,
    }
    values.update(fields)
    return contract_between(buyer.id, seller.id, **values)


@pytest.fixture
def seller(factory):
    from marketplace.models import OrgKind

    return factory.org(OrgKind.INSTITUTE)


# --- recording -----------------------------------------------------------------


def test_party_records_a_contract(enterprise_client, bureau_client, seller, db):
    response = enterprise_client.post(
        "/contracts/new", data=form(enterprise_client.org, seller)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    contract = db.session.scalar(select(Contract))
    assert contract.status == ContractStatus.SUBMITTED
    assert (contract.amount_fen, contract.tech_amount_fen) == (120_500_000, 100_000_000)
    assert contract.buyer_name == enterprise_client.org.name
    assert contract.seller_region_code == seller.region_code
    assert db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == bureau_client.user.id
        )
    )
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "contract_recorded")
    )
    page = enterprise_client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "120.50 万元" in page and "待登记" in page


@pytest.mark.parametrize(
    ("amount", "tech", "fen", "tech_fen"),
    [
        ("0.01", "0.01", 10_000, 10_000),
        ("9999999.99", "9999999.99", 9_999_999_990_000, 9_999_999_990_000),
        ("9,999,999.99", "0", 9_999_999_990_000, 0),
    ],
)
def test_amounts_are_exact(enterprise_client, seller, db, amount, tech, fen, tech_fen):
    data = form(enterprise_client.org, seller, amount=amount, tech_amount=tech)
    assert enterprise_client.post("/contracts/new", data=data).status_code == 302
    contract = db.session.scalar(select(Contract))
    assert (contract.amount_fen, contract.tech_amount_fen) == (fen, tech_fen)


def test_outside_party_by_name_and_region(enterprise_client, db):
    data = form(
        enterprise_client.org,
        enterprise_client.org,
        seller_org="",
        seller_name="郑州某大学",
        seller_region="411721",
    )
    assert enterprise_client.post("/contracts/new", data=data).status_code == 302
    contract = db.session.scalar(select(Contract))
    assert contract.seller_org_id is None
    assert (contract.seller_name, contract.seller_region_code) == (
        "郑州某大学",
        "411721",
    )


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"amount": "100", "tech_amount": "100.01"}, "技术交易额不能大于合同成交额"),
        ({"amount": "-1"}, "非负数字"),
        ({"tech_amount": "-0.01"}, "非负数字"),
        ({"amount": "nan"}, "非负数字"),
        ({"amount": "inf"}, "非负数字"),
        ({"amount": "1e3"}, "非负数字"),
        ({"amount": "10000000.01"}, "金额过大"),
        ({"amount": "1.001"}, "最多两位小数"),
        ({"tech_amount": "1.005"}, "最多两位小数"),
        ({"amount": ""}, "请填写金额"),
        ({"signed_on": lambda: iso(1)}, "签订日期不能晚于今天"),
        ({"term_start": "2024-05-01", "term_end": "2024-04-30"}, "结束日期"),
        ({"contract_type": "gift"}, "Not a valid choice"),
        ({"seller_org": "", "seller_name": "", "seller_region": ""}, "卖方名称"),
        ({"seller_org": "", "seller_name": "某公司", "seller_region": ""}, "县区"),
    ],
)
def test_bad_input_is_refused(enterprise_client, seller, db, over, message):
    data = form(enterprise_client.org, seller, **resolved(over))
    response = enterprise_client.post("/contracts/new", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page or message == "Not a valid choice", page[:3000]
    assert count(db) == 0


def test_buyer_and_seller_must_differ(enterprise_client, db):
    org = enterprise_client.org
    response = enterprise_client.post("/contracts/new", data=form(org, org))
    assert "买方和卖方不能是同一机构" in response.get_data(as_text=True)
    assert count(db) == 0


def test_outsider_cannot_record_for_others(enterprise_client, factory, seller, db):
    from marketplace.models import OrgKind

    other = factory.org(OrgKind.ENTERPRISE)
    response = enterprise_client.post("/contracts/new", data=form(other, seller))
    assert "只有合同双方" in response.get_data(as_text=True)
    assert count(db) == 0


def test_unverified_org_cannot_record(unverified_client, seller, db):
    data = form(unverified_client.org, seller)
    unverified_client.post("/contracts/new", data=data)
    assert count(db) == 0


def test_broker_records_from_a_deal(agency_client, enterprise_client, seller, db):
    deal = Deal(
        title="撮合",
        demand_org_id=enterprise_client.org.id,
        supply_org_id=seller.id,
        broker_org_id=agency_client.org.id,
    )
    db.session.add(deal)
    db.session.commit()
    deal_id = deal.id
    page = agency_client.get(f"/contracts/new?deal={deal_id}").get_data(as_text=True)
    assert f'value="{deal_id}"' in page
    data = form(
        enterprise_client.org,
        seller,
        broker_org=str(agency_client.org.id),
        deal_id=str(deal_id),
    )
    assert agency_client.post("/contracts/new", data=data).status_code == 302
    contract = db.session.scalar(select(Contract))
    assert (contract.deal_id, contract.broker_org_id) == (deal_id, agency_client.org.id)
    # A deal the user cannot see is not found.
    assert enterprise_client.get("/contracts/new?deal=999999").status_code == 404


# --- who sees what ---------------------------------------------------------------


def test_visibility(
    enterprise_client, agency_client, bureau_client, institute_client, seller, db
):
    mine = add_contract(db, enterprise_client.org, seller)
    brokered = add_contract(
        db, institute_client.org, seller, broker_org_id=agency_client.org.id
    )
    assert enterprise_client.get(f"/contracts/{mine}").status_code == 200
    assert enterprise_client.get(f"/contracts/{brokered}").status_code == 404
    assert agency_client.get(f"/contracts/{brokered}").status_code == 200
    assert agency_client.get(f"/contracts/{mine}").status_code == 404
    assert institute_client.get(f"/contracts/{brokered}").status_code == 200
    assert bureau_client.get(f"/contracts/{mine}").status_code == 200
    listing = enterprise_client.get("/contracts/").get_data(as_text=True)
    assert f"/contracts/{mine}" in listing and f"/contracts/{brokered}" not in listing
    register = bureau_client.get("/contracts/?status=submitted").get_data(as_text=True)
    assert f"/contracts/{mine}" in register and f"/contracts/{brokered}" in register
    assert "登记簿" in register
    none = bureau_client.get("/contracts/?status=registered").get_data(as_text=True)
    assert f"/contracts/{mine}" not in none


def test_anonymous_is_sent_to_login(client, enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller)
    assert client.get(f"/contracts/{cid}").status_code == 302


def test_others_cannot_act_on_a_hidden_contract(enterprise_client, seller, factory, db):
    from marketplace.models import OrgKind

    other = factory.org(OrgKind.ENTERPRISE)
    cid = add_contract(db, other, seller)
    for action, data in (
        ("register", {"registration_no": "41170220240001"}),
        ("reject", {"reason": "x"}),
        ("payments", {"received_on": iso(), "amount": "1"}),
    ):
        url = f"/contracts/{cid}/{action}"
        assert enterprise_client.post(url, data=data).status_code == 404
    assert db.session.get(Contract, cid).status == ContractStatus.SUBMITTED
    assert count(db, Payment) == 0


def test_only_the_bureau_registers(enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller)
    for action, data in (
        ("register", {"registration_no": "41170220240001"}),
        ("reject", {"reason": "x"}),
    ):
        url = f"/contracts/{cid}/{action}"
        assert enterprise_client.post(url, data=data).status_code == 403
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.SUBMITTED
    assert contract.registration_no is None


# --- registration -----------------------------------------------------------------


def test_registration_closes_the_loop(bureau_client, enterprise_client, seller, db):
    challenge = make_challenge(enterprise_client.org.id, status=ChallengeStatus.AWARDED)
    result = make_result(seller.id)
    deal = Deal(
        title="撮合",
        demand_org_id=enterprise_client.org.id,
        supply_org_id=seller.id,
        challenge_id=challenge.id,
        result_id=result.id,
        stage=DealStage.NEGOTIATING,
    )
    db.session.add(deal)
    db.session.commit()
    ids = challenge.id, result.id, deal.id
    cid = add_contract(
        db,
        enterprise_client.org,
        seller,
        deal_id=ids[2],
        challenge_id=ids[0],
        result_id=ids[1],
    )
    response = bureau_client.post(
        f"/contracts/{cid}/register", data={"registration_no": "411702202400001"}
    )
    assert response.status_code == 302
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.REGISTERED
    assert contract.registration_no == "411702202400001"
    assert contract.registered_by_id == bureau_client.user.id
    assert contract.registered_at is not None
    from marketplace.models import Challenge, Result

    assert db.session.get(Deal, ids[2]).stage == DealStage.SIGNED
    assert db.session.get(Challenge, ids[0]).status == ChallengeStatus.CONTRACTED
    transferred = db.session.get(Result, ids[1])
    assert transferred.status == ResultStatus.TRANSFERRED
    assert transferred.transferred_at is not None
    assert db.session.scalar(
        select(DealEvent.id).where(DealEvent.to_stage == DealStage.SIGNED)
    )
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"contract_registered", "deal_signed", "challenge_contracted"} <= actions
    # Registering again is refused.
    bureau_client.post(
        f"/contracts/{cid}/register", data={"registration_no": "411702202400002"}
    )
    assert db.session.get(Contract, cid).registration_no == "411702202400001"


def test_registration_leaves_open_listings_alone(
    bureau_client, enterprise_client, seller, db
):
    challenge = make_challenge(enterprise_client.org.id)  # open, not awarded
    cid = add_contract(db, enterprise_client.org, seller, challenge_id=challenge.id)
    bureau_client.post(
        f"/contracts/{cid}/register", data={"registration_no": "41170220240001"}
    )
    from marketplace.models import Challenge

    assert db.session.get(Contract, cid).status == ContractStatus.REGISTERED
    assert db.session.get(Challenge, challenge.id).status == ChallengeStatus.OPEN


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4117022024001", "14–16 位数字"),
        ("41170220240000001", "14–16 位数字"),
        ("41170220240A01", "14–16 位数字"),
        ("", "请填写登记号"),
        ("41170220249999", "登记号已被使用"),
    ],
)
def test_bad_registration_numbers(
    bureau_client, enterprise_client, seller, db, number, message
):
    add_contract(
        db,
        enterprise_client.org,
        seller,
        registration_no="41170220249999",
        status=ContractStatus.REGISTERED,
    )
    cid = add_contract(db, enterprise_client.org, seller)
    response = bureau_client.post(
        f"/contracts/{cid}/register",
        data={"registration_no": number},
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.SUBMITTED
    assert contract.registration_no is None


def test_duplicate_number_caught_by_the_database(enterprise_client, seller, db, app):
    """Between the check and the write another registration took the number."""
    first = add_contract(db, enterprise_client.org, seller)
    second = add_contract(db, enterprise_client.org, seller)
    bureau = _bureau_user(db)
    services.register_contract(db.session.get(Contract, first), bureau, "1" * 14)
    db.session.flush()
    original = services.check_registration_no
    services.check_registration_no = lambda n: n  # the race: the check saw nothing
    try:
        with pytest.raises(ServiceError, match="登记号已被使用"):
            services.register_contract(
                db.session.get(Contract, second), bureau, "1" * 14
            )
    finally:
        services.check_registration_no = original
    # The savepoint rolled back only the second registration.
    db.session.commit()
    assert db.session.get(Contract, first).status == ContractStatus.REGISTERED
    assert db.session.get(Contract, second).status == ContractStatus.SUBMITTED


def _bureau_user(db):
    from marketplace.auth.services import create_organisation, create_user
    from marketplace.models import OrgKind

    org = create_organisation(
        name="驻马店市科学技术局测试",
        kind=OrgKind.BUREAU,
        region_code="411702",
        verified=True,
    )
    user = create_user(
        org=org,
        email="staff-contracts@example.cn",
        password="Passw0rd-test",
        name="科技局",
    )
    db.session.commit()
    return db.session.get(User, user.id)


def test_reject_with_reason(bureau_client, enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller)
    bureau_client.post(f"/contracts/{cid}/reject", data={"reason": ""})
    assert db.session.get(Contract, cid).status == ContractStatus.SUBMITTED
    bureau_client.post(f"/contracts/{cid}/reject", data={"reason": "金额与附件不符"})
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.REJECTED
    assert contract.reject_reason == "金额与附件不符"
    page = enterprise_client.get(f"/contracts/{cid}").get_data(as_text=True)
    assert "金额与附件不符" in page
    # A rejected contract cannot then be registered.
    bureau_client.post(
        f"/contracts/{cid}/register", data={"registration_no": "41170220240001"}
    )
    assert db.session.get(Contract, cid).status == ContractStatus.REJECTED


# --- payments ---------------------------------------------------------------------


def pay(client, cid, amount, day=None):
    return client.post(
        f"/contracts/{cid}/payments",
        data={"received_on": (day or today()).isoformat(), "amount": amount},
        follow_redirects=True,
    )


def test_payments_never_exceed_the_amount(enterprise_client, seller, db):
    cid = add_contract(
        db, enterprise_client.org, seller, amount_fen=1_000_000, tech_amount_fen=0
    )
    assert "收款已登记" in pay(enterprise_client, cid, "0.6").get_data(as_text=True)
    page = pay(enterprise_client, cid, "0.41").get_data(as_text=True)
    assert "收款合计不能超过合同成交额" in page
    assert db.session.get(Contract, cid).paid_fen == 600_000
    pay(enterprise_client, cid, "0.4")
    contract = db.session.get(Contract, cid)
    assert (
        contract.paid_fen == 1_000_000 == sum(p.amount_fen for p in contract.payments)
    )
    assert "收款合计" in pay(enterprise_client, cid, "0.01").get_data(as_text=True)
    assert count(db, Payment) == 2


@pytest.mark.parametrize(
    ("amount", "days", "message"),
    [
        ("0", None, "收款金额必须大于零"),
        ("-1", None, "非负数字"),
        ("nan", None, "非负数字"),
        ("", None, "请填写金额"),
        ("1", 1, "收款日期不能晚于今天"),
    ],
)
def test_bad_payments(enterprise_client, seller, db, amount, days, message):
    cid = add_contract(db, enterprise_client.org, seller)
    day = None if days is None else today(days)
    page = pay(enterprise_client, cid, amount, day).get_data(as_text=True)
    assert message in page
    assert count(db, Payment) == 0
    assert db.session.get(Contract, cid).paid_fen == 0


def test_broker_and_bureau_record_payments(
    agency_client, bureau_client, enterprise_client, seller, db
):
    cid = add_contract(
        db, enterprise_client.org, seller, broker_org_id=agency_client.org.id
    )
    pay(agency_client, cid, "1")
    pay(bureau_client, cid, "2")
    assert db.session.get(Contract, cid).paid_fen == 3_000_000


def test_no_payment_on_a_rejected_contract(enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller, status="rejected")
    assert "已退回" in pay(enterprise_client, cid, "1").get_data(as_text=True)
    assert count(db, Payment) == 0


# --- two staff at once (PostgreSQL) -------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL row locks"
)
def test_concurrent_registration_gives_one(app, db, enterprise_client, seller):
    cid = add_contract(db, enterprise_client.org, seller)
    staff = _bureau_user(db).id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register(number: str) -> None:
        with app.app_context():
            from marketplace.extensions import db as local

            user = local.session.get(User, staff)
            contract = local.session.get(Contract, cid)
            barrier.wait()
            try:
                services.register_contract(contract, user, number)
                local.session.commit()
                outcomes.append("registered")
            except ServiceError as error:
                local.session.rollback()
                outcomes.append(error.message)
            finally:
                local.session.remove()

    threads = [
        threading.Thread(target=register, args=(n,))
        for n in ("41170220240001", "41170220240002")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("registered") == 1, outcomes
    db.session.expire_all()
    assert db.session.get(Contract, cid).status == ContractStatus.REGISTERED
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "contract_registered"
            )
        )
        == 1
    )


def test_pages_offer_the_right_forms(bureau_client, enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller)
    staff = bureau_client.get(f"/contracts/{cid}").get_data(as_text=True)
    assert "登记合同" in staff and "退回合同" in staff and "登记收款" in staff
    party = enterprise_client.get(f"/contracts/{cid}").get_data(as_text=True)
    assert "登记合同" not in party and "登记收款" in party
    blank = enterprise_client.get("/contracts/new")
    assert blank.status_code == 200 and "合同成交额" in blank.get_data(as_text=True)


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs concurrent PostgreSQL"
)
def test_concurrent_payments_never_exceed(app, db, enterprise_client, seller):
    cid = add_contract(
        db, enterprise_client.org, seller, amount_fen=1_000_000, tech_amount_fen=0
    )
    staff = _bureau_user(db).id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def pay_half_and_more() -> None:
        with app.app_context():
            from marketplace.extensions import db as local

            user = local.session.get(User, staff)
            contract = local.session.get(Contract, cid)
            barrier.wait()
            try:
                services.record_payment(contract, user, today(), 600_000)
                local.session.commit()
                outcomes.append("paid")
            except ServiceError as error:
                local.session.rollback()
                outcomes.append(error.message)
            finally:
                local.session.remove()

    threads = [threading.Thread(target=pay_half_and_more) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("paid") == 1, outcomes
    db.session.expire_all()
    assert db.session.get(Contract, cid).paid_fen == 600_000
    assert count(db, Payment) == 1
