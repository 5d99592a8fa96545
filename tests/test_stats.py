"""The bureau's statistics: each figure against a small hand-computed fixture."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.models import (
    Contract,
    ContractStatus,
    ContractType,
    OrgKind,
    Payment,
    Proposal,
    TechField,
    YearlyTarget,
)
from marketplace.models.org import OrgCertification
from marketplace.models.proposal import ProposalKind
from marketplace.stats import services
from tests.factories import make_challenge, make_result

R1, R2, R3 = "411702", "411721", "411722"
FEN_PER_WAN = 1_000_000
A_FEN = 10_000  # 0.01 万元
B_FEN = 9_999_999_990_000  # 9,999,999.99 万元
B_TECH = 5_000_000 * FEN_PER_WAN
C_FEN, C_TECH = 123_450_000, 100_000_000
D_FEN = 50 * FEN_PER_WAN
TOTAL_FEN = A_FEN + B_FEN + C_FEN  # 10,000,123.45 万元
TOTAL_TECH = A_FEN + B_TECH + C_TECH
RANGE = {"from": "2024-01-01", "to": "2024-12-31"}
Y_START, Y_END = date(2024, 1, 1), date(2024, 12, 31)
_serial = iter(range(10**13, 10**14))


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=4, tzinfo=UTC)


def _contract(db, seller, buyer, signed_on, amount, tech, **kw):
    values = {
        "title": "测试合同",
        "contract_type": ContractType.DEVELOPMENT,
        "seller_org_id": seller.id if seller else None,
        "seller_name": seller.name if seller else "外地某研究所",
        "seller_region_code": seller.region_code if seller else R2,
        "buyer_org_id": buyer.id,
        "buyer_name": buyer.name,
        "buyer_region_code": buyer.region_code,
        "signed_on": signed_on,
        "amount_fen": amount,
        "tech_amount_fen": tech,
        "status": ContractStatus.REGISTERED,
        "registration_no": str(next(_serial)),
        "registered_at": _at(signed_on.isoformat()),
    }
    values.update(kw)
    if values["status"] != ContractStatus.REGISTERED:
        values["registration_no"] = None
    contract = Contract(**values)
    db.session.add(contract)
    db.session.flush()
    return contract


def _pay(contract, day, fen):
    return Payment(contract_id=contract.id, received_on=day, amount_fen=fen)


def _field(db, code):
    return db.session.scalar(select(TechField.id).where(TechField.code == code))


@pytest.fixture
def fixture(factory, db):
    """Three registered contracts in 2024, one in 2023, one submitted, one rejected."""
    uni = factory.org(kind=OrgKind.UNIVERSITY, region_code=R1, name="甲大学")
    inst = factory.org(kind=OrgKind.INSTITUTE, region_code=R1, name="乙研究院")
    ent = factory.org(kind=OrgKind.ENTERPRISE, region_code=R2, name="丙公司")
    ent2 = factory.org(kind=OrgKind.ENTERPRISE, region_code=R3, name="丁公司")
    agency = factory.org(kind=OrgKind.AGENCY, region_code=R1, name="戊转移中心")
    env, agri = _field(db, "environment"), _field(db, "agriculture")
    _contract(db, uni, ent, date(2024, 1, 15), A_FEN, A_FEN, field_id=env)
    b = _contract(
        db,
        inst,
        ent2,
        date(2024, 1, 20),
        B_FEN,
        B_TECH,
        field_id=agri,
        contract_type=ContractType.TRANSFER,
        paid_fen=FEN_PER_WAN,
    )
    c = _contract(
        db,
        None,
        ent,
        date(2024, 5, 3),
        C_FEN,
        C_TECH,
        field_id=env,
        contract_type=ContractType.LICENSING,
        broker_org_id=agency.id,
        paid_fen=10_000,
    )
    d = _contract(
        db,
        uni,
        ent,
        date(2023, 5, 10),
        D_FEN,
        D_FEN,
        field_id=env,
        contract_type=ContractType.SERVICE,
        paid_fen=D_FEN,
    )
    e = _contract(
        db, uni, ent, date(2024, 3, 1), 1000 * FEN_PER_WAN, 0,
        status=ContractStatus.SUBMITTED, paid_fen=FEN_PER_WAN,
    )  # fmt: skip
    _contract(
        db, inst, ent2, date(2024, 3, 1), 2000 * FEN_PER_WAN, 0,
        status=ContractStatus.REJECTED,
    )  # fmt: skip
    db.session.add_all(
        [
            _pay(b, date(2024, 2, 1), FEN_PER_WAN),
            _pay(c, date(2024, 6, 1), 10_000),
            _pay(d, date(2023, 6, 1), D_FEN),
            _pay(e, date(2024, 3, 5), FEN_PER_WAN),
            OrgCertification(org_id=ent.id, tag="高新技术企业"),
            OrgCertification(org_id=ent2.id, tag="高新技术企业"),
            OrgCertification(org_id=ent2.id, tag="科技型中小企业"),
        ]
    )  # fmt: skip
    db.session.commit()
    return {"uni": uni, "inst": inst, "ent": ent, "ent2": ent2, "agency": agency}


def _by(result):
    return {row["key"]: row for row in result["rows"]}


def _amounts(row):
    return row["contract_amount_fen"], row["tech_amount_fen"], row["count"]


def test_by_month_quarter_year(fixture, db):
    month = services.turnover(Y_START, Y_END, "month")
    rows = _by(month)
    # Months with payments only show up too, with no contracts.
    assert list(rows) == ["2024-01", "2024-02", "2024-05", "2024-06"]
    assert _amounts(rows["2024-01"]) == (A_FEN + B_FEN, A_FEN + B_TECH, 2)
    assert _amounts(rows["2024-05"]) == (C_FEN, C_TECH, 1)
    assert _amounts(rows["2024-02"]) == (0, 0, 0)
    assert rows["2024-02"]["payments_fen"] == FEN_PER_WAN
    assert rows["2024-06"]["payments_fen"] == 10_000
    assert _amounts(month["total"]) == (TOTAL_FEN, TOTAL_TECH, 3)
    assert month["total"]["payments_fen"] == FEN_PER_WAN + 10_000
    quarter = _by(services.turnover(Y_START, Y_END, "quarter"))
    assert list(quarter) == ["2024-Q1", "2024-Q2"]
    assert quarter["2024-Q1"]["count"] == 2
    assert quarter["2024-Q1"]["payments_fen"] == FEN_PER_WAN
    year = services.turnover(date(2023, 1, 1), Y_END, "year")
    assert _amounts(_by(year)["2023"]) == (D_FEN, D_FEN, 1)
    assert year["total"]["contract_amount_fen"] == TOTAL_FEN + D_FEN


def test_by_county_counts_output_for_seller_and_absorption_for_buyer(fixture, db):
    result = services.turnover(Y_START, Y_END, "county")
    rows = _by(result)
    assert rows[R1]["output_fen"] == A_FEN + B_FEN
    assert rows[R1]["output_count"] == 2
    assert rows[R1]["absorption_fen"] == 0
    assert rows[R2]["output_fen"] == C_FEN
    assert rows[R2]["absorption_fen"] == A_FEN + C_FEN
    assert rows[R2]["absorption_count"] == 2
    assert rows[R3]["absorption_fen"] == B_FEN
    assert rows[R3]["output_count"] == 0
    assert result["total"]["output_fen"] == TOTAL_FEN
    assert result["total"]["absorption_fen"] == TOTAL_FEN
    assert rows[R1]["label"] == "驿城区"


def test_by_field_type_and_party_kind(fixture, db):
    field = _by(services.turnover(Y_START, Y_END, "field"))
    assert _amounts(field["environment"]) == (A_FEN + C_FEN, A_FEN + C_TECH, 2)
    assert _amounts(field["agriculture"]) == (B_FEN, B_TECH, 1)
    kinds = _by(services.turnover(Y_START, Y_END, "type"))
    assert set(kinds) == {"development", "transfer", "licensing"}
    assert kinds["transfer"]["contract_amount_fen"] == B_FEN
    assert kinds["licensing"]["label"] == "技术许可"
    party = _by(services.turnover(Y_START, Y_END, "party_kind"))
    assert party["university"]["contract_amount_fen"] == A_FEN
    assert party["institute"]["contract_amount_fen"] == B_FEN
    assert party["outside"]["contract_amount_fen"] == C_FEN
    assert services.turnover(Y_START, Y_END, "type")["total"]["count"] == 3


def test_payments_and_year_on_year(fixture, db):
    # The payment under the submitted contract does not count.
    assert services.payments_received(Y_START, Y_END) == FEN_PER_WAN + 10_000
    yoy = services.year_on_year(Y_START, Y_END)
    assert yoy["current"]["contract_amount_fen"] == TOTAL_FEN
    assert yoy["previous"] == {
        "contract_amount_fen": D_FEN,
        "tech_amount_fen": D_FEN,
        "count": 1,
        "payments_fen": D_FEN,
    }
    assert yoy["growth_pct"]["count"] == 200.0


def test_target_progress_and_default_targets(fixture, db):
    assert services.target_progress(2024)["target_fen"] is None
    services.set_target(2024, 20_000_000 * FEN_PER_WAN, None)
    progress = services.target_progress(2024)
    assert progress["done_fen"] == TOTAL_FEN
    assert progress["pct"] == 50.0
    services.ensure_default_targets()
    services.ensure_default_targets()
    db.session.commit()
    assert services.target_for(2020).amount_fen == 13_000 * FEN_PER_WAN
    assert services.target_for(local_today().year) is not None
    assert db.session.scalar(select(func.count(YearlyTarget.id))) == 2 + (
        local_today().year not in (2020, 2024)
    )


def test_funnel_counts_and_median_days(fixture, db):
    owner = fixture["ent"]
    awarded = make_challenge(
        owner.id, published_at=_at("2024-02-01"), awarded_at=_at("2024-02-21")
    )
    make_challenge(owner.id, published_at=_at("2024-03-01"))
    make_challenge(owner.id, published_at=_at("2023-03-01"))  # outside the range
    result = make_result(fixture["uni"].id, published_at=_at("2024-04-01"))
    db.session.add_all(
        [
            Proposal(
                kind=ProposalKind.BID,
                challenge_id=awarded.id,
                org_id=fixture["uni"].id,
                created_at=_at("2024-02-11"),
            ),
            Proposal(
                kind=ProposalKind.ADOPTION,
                result_id=result.id,
                org_id=owner.id,
                created_at=_at("2024-04-05"),
            ),
        ]
    )
    registered = _contract(
        db, fixture["uni"], owner, date(2024, 3, 1), 1, 1, challenge_id=awarded.id
    )
    registered.registered_at = _at("2024-03-02")
    transfer = _contract(
        db, fixture["uni"], owner, date(2024, 4, 20), 1, 1, result_id=result.id
    )
    transfer.registered_at = _at("2024-04-25")
    db.session.commit()
    funnel = services.funnel(Y_START, Y_END)
    rows = funnel["challenges"]
    assert [r["count"] for r in rows] == [2, 1, 1, 1]
    assert [r["conversion_pct"] for r in rows] == [None, 50.0, 100.0, 100.0]
    assert [r["median_days"] for r in rows] == [None, 10.0, 10.0, 10.0]
    results = funnel["results"]
    assert [r["count"] for r in results] == [1, 1, 1]
    assert [r["median_days"] for r in results] == [None, 4.0, 20.0]


def test_top_organisations_and_certifications(fixture, db):
    sellers = services.top_orgs(Y_START, Y_END, "seller")
    # The outside seller of contract C (123.45 万元) ranks between the two.
    assert [(r["label"], r["platform"]) for r in sellers] == [
        ("乙研究院", "平台内"),
        ("外地某研究所", "平台外"),
        ("甲大学", "平台内"),
    ]
    buyers = services.top_orgs(Y_START, Y_END, "buyer")
    assert [(r["label"], r["contract_amount_fen"]) for r in buyers] == [
        ("丁公司", B_FEN),
        ("丙公司", A_FEN + C_FEN),
    ]
    brokers = services.top_orgs(Y_START, Y_END, "broker")
    assert [(r["label"], r["count"]) for r in brokers] == [("戊转移中心", 1)]
    certs = {r["key"]: r["count"] for r in services.certification_counts()}
    assert certs == {"高新技术企业": 2, "科技型中小企业": 1}


def test_dashboard_shows_exact_totals_to_the_bureau(fixture, bureau_client):
    response = bureau_client.get("/stats/", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "10,000,123.45 万元" in html  # 0.01 + 9,999,999.99 + 123.45
    assert "9,999,999.99 万元" in html
    assert "0.01 万元" in html
    assert 'type="application/json" id="stats-data"' in html
    assert "echarts.min.js" in html
    assert "<script>" not in html


def test_dashboard_defaults_to_this_year_and_refuses_a_reversed_range(
    fixture, bureau_client
):
    assert bureau_client.get("/stats/").status_code == 200
    response = bureau_client.get(
        "/stats/", query_string={"from": "2024-12-31", "to": "2024-01-01"}
    )
    assert response.status_code == 200
    assert "结束日期不能早于开始日期" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "who", ["enterprise_client", "agency_client", "university_client", "client"]
)
def test_only_the_bureau_sees_statistics(fixture, who, request):
    web = request.getfixturevalue(who)
    for url in ("/stats/", "/stats/export/register.csv", "/stats/targets"):
        response = web.get(url, query_string=RANGE)
        assert response.status_code in (302, 403)
        if who != "client":
            assert response.status_code == 403


def _csv(response):
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _xlsx(response):
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_month_table_exports_exactly_to_csv_and_xlsx(fixture, bureau_client):
    rows = _csv(bureau_client.get("/stats/export/month.csv", query_string=RANGE))
    assert rows[0][:2] == ["期间", "合同成交额（万元）"]
    assert rows[1][:4] == ["2024-01", "10000000.00", "5000000.01", "2"]
    assert rows[-1][0] == "合计"
    assert Decimal(rows[-1][1]) == Decimal("10000123.45")
    assert rows[0][4] == "到账金额（区间内，万元）" and rows[-1][4] == "1.01"
    assert sum(Decimal(r[1]) for r in rows[1:-1]) == Decimal(rows[-1][1])
    sheet = _xlsx(bureau_client.get("/stats/export/month.xlsx", query_string=RANGE))
    assert sheet[0] == rows[0]
    assert sheet[-1][0] == "合计"
    assert Decimal(str(sheet[-1][1])) == Decimal("10000123.45")
    assert Decimal(str(sheet[1][2])) == Decimal("5000000.01")


def test_every_table_exports(fixture, bureau_client):
    from marketplace.stats.exports import TABLES

    for name in TABLES:
        for ext in ("csv", "xlsx"):
            response = bureau_client.get(
                f"/stats/export/{name}.{ext}", query_string=RANGE
            )
            assert response.status_code == 200, (name, ext)
            assert "attachment" in response.headers["Content-Disposition"]
    county = _csv(bureau_client.get("/stats/export/county.csv", query_string=RANGE))
    by_code = {r[0]: r for r in county[1:]}
    assert by_code[R1][2] == "10000000.00"  # output = 0.01 + 9,999,999.99
    assert by_code[R3][3] == "9999999.99"  # absorption
    assert bureau_client.get("/stats/export/nope.csv").status_code == 404
    assert bureau_client.get("/stats/export/month.pdf").status_code == 404


def test_register_export_lists_registered_contracts_only(fixture, bureau_client):
    rows = _csv(bureau_client.get("/stats/export/register.csv", query_string=RANGE))
    amount = rows[0].index("合同成交额（万元）")
    paid = rows[0].index("累计到账（万元）")
    body, total = rows[1:-1], rows[-1]
    assert len(body) == 3
    assert {r[amount] for r in body} == {"0.01", "9999999.99", "123.45"}
    assert total[0] == "合计" and total[amount] == "10000123.45"
    assert total[paid] == "1.01"  # paid: 1 万元 + 0.01 万元
    sheet = _xlsx(bureau_client.get("/stats/export/register.xlsx", query_string=RANGE))
    assert len(sheet) == 5
    assert Decimal(str(sheet[-1][amount])) == Decimal("10000123.45")


def test_export_neutralises_spreadsheet_formulas(factory, db, bureau_client):
    seller = factory.org(kind=OrgKind.UNIVERSITY, name="=HYPERLINK(1)")
    buyer = factory.org(kind=OrgKind.ENTERPRISE, region_code=R2)
    _contract(db, seller, buyer, date(2024, 2, 2), 1, 1)
    db.session.commit()
    rows = _csv(bureau_client.get("/stats/export/register.csv", query_string=RANGE))
    assert rows[1][rows[0].index("卖方")] == "'=HYPERLINK(1)"


def test_bureau_sets_a_target(fixture, bureau_client, db):
    response = bureau_client.post(
        "/stats/targets", data={"year": "2024", "amount": "13000.5", "note": "计划"}
    )
    assert response.status_code == 302
    target = db.session.scalar(select(YearlyTarget).where(YearlyTarget.year == 2024))
    assert target.amount_fen == 13_000_500_000
    assert target.scope == "city"
    page = bureau_client.get("/stats/targets").get_data(as_text=True)
    assert "13,000.50 万元" in page


@pytest.mark.parametrize(
    "data",
    [
        {"year": "2024", "amount": "NaN"},
        {"year": "2024", "amount": "-5"},
        {"year": "2024", "amount": "很多"},
        {"year": "2024", "amount": "1e5"},
        {"year": "2024", "amount": "inf"},
        {"year": "2024", "amount": ""},
        {"year": "1999", "amount": "100"},
        {"year": "明年", "amount": "100"},
        {"year": "", "amount": "100"},
    ],
)
def test_target_form_refuses_bad_input(bureau_client, db, data):
    response = bureau_client.post("/stats/targets", data=data)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(YearlyTarget.id))) == 0


def test_home_page_shows_this_years_registered_turnover(factory, db, client):
    seller = factory.org(kind=OrgKind.UNIVERSITY)
    buyer = factory.org(kind=OrgKind.ENTERPRISE, region_code=R2)
    today = local_today()
    _contract(db, seller, buyer, today.replace(month=1, day=1), 10_000, 10_000)
    _contract(db, seller, buyer, today.replace(month=1, day=1), B_FEN, 0)
    _contract(
        db, seller, buyer, today, 7 * FEN_PER_WAN, 0, status=ContractStatus.SUBMITTED
    )
    _contract(db, seller, buyer, today.replace(year=today.year - 1), FEN_PER_WAN, 0)
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "10,000,000.00 万元" in html
    assert f"{today.year} 年登记技术合同成交额" in html
    assert "已登记合同 2 份" in html
