"""Honest rankings and exports: outside parties, names beside codes, clear labels."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.models import Contract, ContractStatus, OrgKind, TechField
from marketplace.stats import exports, services
from tests.factories import make_challenge, make_result
from tests.test_contracts import form

RANGE = {"from": "2024-01-01", "to": "2024-12-31"}
START, END = date(2024, 1, 1), date(2024, 12, 31)
WAN = 1_000_000
_serial = iter(range(20240000000000, 20250000000000))


def _field(db, code):
    return db.session.scalar(select(TechField.id).where(TechField.code == code))


def _contract(db, buyer, seller, amount_wan, **kw):
    """A registered contract; a party given as a str is outside the platform."""
    values = {
        "title": "排名测试合同",
        "contract_type": "development",
        "signed_on": date(2024, 3, 1),
        "amount_fen": amount_wan * WAN,
        "tech_amount_fen": amount_wan * WAN,
        "paid_fen": 0,
        "status": ContractStatus.REGISTERED,
        "registration_no": str(next(_serial)),
        "registered_at": datetime(2024, 3, 4, 20, 30, tzinfo=UTC),
    }
    for side, party in (("buyer", buyer), ("seller", seller)):
        if isinstance(party, str):
            values |= {f"{side}_name": party, f"{side}_region_code": "411721"}
        else:
            values |= {
                f"{side}_org_id": party.id,
                f"{side}_name": party.name,
                f"{side}_region_code": party.region_code,
            }
    values.update(kw)
    contract = Contract(**values)
    db.session.add(contract)
    db.session.commit()
    return contract


@pytest.fixture
def parties(factory):
    return {
        "firm": factory.org(OrgKind.ENTERPRISE, name="驻马店甲食品公司"),
        "uni": factory.org(OrgKind.UNIVERSITY, region_code="411721", name="乙大学"),
        "agency": factory.org(OrgKind.AGENCY, name="丙转移中心"),
    }


@pytest.fixture
def outside_buyers(db, parties):
    """An outside firm under three spellings holds most of the buyers' turnover."""
    uni = parties["uni"]
    _contract(db, "郑州某机械厂", uni, 1000)
    _contract(db, " 郑州某机械厂　", uni, 400)
    _contract(db, "郑州某　机械厂", uni, 92)
    _contract(db, parties["firm"], uni, 30)
    _contract(db, parties["firm"], "外地某研究所", 8)
    # Outside the range, and a submitted one: neither counts.
    _contract(db, "郑州某机械厂", uni, 999, signed_on=date(2023, 12, 31))
    _contract(
        db,
        "郑州某机械厂",
        uni,
        777,
        status=ContractStatus.SUBMITTED,
        registration_no=None,
    )
    return parties


def test_outside_buyers_rank_by_normalised_name(outside_buyers):
    buyers = services.top_orgs(START, END, "buyer")
    assert [
        (r["rank"], r["label"], r["platform"], r["contract_amount_fen"], r["count"])
        for r in buyers
    ] == [
        (1, "郑州某机械厂", "平台外", 1492 * WAN, 3),
        (2, "驻马店甲食品公司", "平台内", 38 * WAN, 2),
    ]
    sellers = services.top_orgs(START, END, "seller")
    assert [(r["label"], r["platform"]) for r in sellers] == [
        ("乙大学", "平台内"),
        ("外地某研究所", "平台外"),
    ]


def test_brokers_are_platform_organisations_only(db, outside_buyers):
    _contract(db, "外地某公司", outside_buyers["uni"], 5, broker_org_id=None)
    _contract(
        db, "外地某公司", outside_buyers["uni"], 6,
        broker_org_id=outside_buyers["agency"].id,
    )  # fmt: skip
    brokers = services.top_orgs(START, END, "broker")
    assert [(r["label"], r["count"], r["platform"]) for r in brokers] == [
        ("丙转移中心", 1, "平台内")
    ]


def test_a_renamed_member_ranks_under_its_current_name(db, outside_buyers):
    firm = db.session.get(type(outside_buyers["firm"]), outside_buyers["firm"].id)
    firm.name = "驻马店甲食品集团"
    db.session.commit()
    labels = [r["label"] for r in services.top_orgs(START, END, "buyer")]
    assert labels == ["郑州某机械厂", "驻马店甲食品集团"]


def _csv(response):
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_ranking_page_and_export_mark_outside_parties(outside_buyers, bureau_client):
    page = bureau_client.get("/stats/", query_string=RANGE).get_data(as_text=True)
    table = page[page.index('id="table-top_buyers"') :]
    table = table[: table.index("</table>")]
    assert "郑州某机械厂" in table and "平台外" in table
    assert "1,492.00 万元" in table
    rows = _csv(bureau_client.get("/stats/export/top_buyers.csv", query_string=RANGE))
    assert rows[0] == [
        "名次",
        "名称",
        "平台内外",
        "合同成交额（万元）",
        "技术交易额（万元）",
        "合同数",
    ]
    assert rows[1] == ["1", "郑州某机械厂", "平台外", "1492.00", "1492.00", "3"]
    assert rows[2] == ["2", "驻马店甲食品公司", "平台内", "38.00", "38.00", "2"]


def test_no_export_carries_a_database_key(outside_buyers, bureau_client):
    for name in exports.TABLES:
        header = _csv(
            bureau_client.get(f"/stats/export/{name}.csv", query_string=RANGE)
        )[0]
        assert "键" not in header, name
        assert all("key" not in h for h in header), name


REGISTER_HEADER = [
    "登记号",
    "登记日期",
    "状态",
    "合同名称",
    "合同类型",
    "技术领域",
    "卖方",
    "卖方是否平台外",
    "卖方区划代码",
    "卖方所在县区",
    "买方",
    "买方是否平台外",
    "买方区划代码",
    "买方所在县区",
    "中介机构",
    "签订日期",
    "合同成交额（万元）",
    "技术交易额（万元）",
    "累计到账（万元）",
]


def test_register_export_columns_and_a_row(db, parties, bureau_client):
    contract = _contract(
        db,
        "郑州某机械厂",
        parties["uni"],
        30,
        tech_amount_fen=25 * WAN,
        paid_fen=12_345_678,  # 12.345678 万元 prints as 12.35
        field_id=_field(db, "agriculture"),
        broker_org_id=parties["agency"].id,
        title="小麦育种技术开发",
    )
    rows = _csv(bureau_client.get("/stats/export/register.csv", query_string=RANGE))
    assert rows[0] == REGISTER_HEADER
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row == {
        "登记号": contract.registration_no,
        # 20:30 UTC on 4 March is 5 March in Zhumadian.
        "登记日期": "2024-03-05",
        "状态": "已登记",
        "合同名称": "小麦育种技术开发",
        "合同类型": "技术开发",
        "技术领域": row["技术领域"],
        "卖方": "乙大学",
        "卖方是否平台外": "平台内",
        "卖方区划代码": "411721",
        "卖方所在县区": row["卖方所在县区"],
        "买方": "郑州某机械厂",
        "买方是否平台外": "平台外",
        "买方区划代码": "411721",
        "买方所在县区": row["买方所在县区"],
        "中介机构": "丙转移中心",
        "签订日期": "2024-03-01",
        "合同成交额（万元）": "30.00",
        "技术交易额（万元）": "25.00",
        "累计到账（万元）": "12.35",
    }
    field_name = db.session.get(TechField, _field(db, "agriculture")).name
    assert row["技术领域"] == field_name
    assert row["卖方所在县区"] and row["卖方所在县区"] == row["买方所在县区"]
    assert row["卖方所在县区"] != "411721"
    book = load_workbook(
        io.BytesIO(
            bureau_client.get(
                "/stats/export/register.xlsx", query_string=RANGE
            ).get_data()
        )
    )
    sheet = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert sheet[0] == REGISTER_HEADER
    cell = book.active.cell(row=2, column=REGISTER_HEADER.index("累计到账（万元）") + 1)
    assert cell.number_format == "0.00" and float(cell.value) == 12.35


def test_labels_say_what_each_figure_counts(outside_buyers, bureau_client):
    page = bureau_client.get("/stats/", query_string=RANGE).get_data(as_text=True)
    assert "到账金额（区间内）" in page and "累计到账" in page
    assert ">到账金额<" not in page
    month = _csv(bureau_client.get("/stats/export/month.csv", query_string=RANGE))
    assert "到账金额（区间内，万元）" in month[0]
    api = bureau_client.get("/api/v1/stats/turnover", query_string=RANGE).get_json()
    assert api["labels"]["payments_fen"] == "到账金额（区间内）"
    assert "收款日期在区间内" in api["notes"]["payments_fen"]
    county = bureau_client.get(
        "/api/v1/stats/turnover", query_string={**RANGE, "by": "county"}
    ).get_json()
    assert county["labels"]["absorption_fen"] == "吸纳额"


# --- technology field inherited from the challenge or result --------------------


def test_a_contract_inherits_its_challenges_field(
    enterprise_client, factory, db, bureau_client
):
    seller = factory.org(OrgKind.INSTITUTE)
    challenge = make_challenge(
        enterprise_client.org.id, field_id=_field(db, "agriculture")
    )
    db.session.commit()
    data = form(enterprise_client.org, seller, challenge_id=str(challenge.id))
    assert enterprise_client.post("/contracts/new", data=data).status_code == 302
    contract = db.session.scalar(select(Contract))
    assert contract.challenge_id == challenge.id
    assert contract.field_id == _field(db, "agriculture")


def test_a_field_chosen_on_the_contract_wins(enterprise_client, factory, db):
    seller = factory.org(OrgKind.INSTITUTE)
    result = make_result(seller.id, field_id=_field(db, "agriculture"))
    db.session.commit()
    data = form(
        enterprise_client.org,
        seller,
        result_id=str(result.id),
        field=str(_field(db, "environment")),
    )
    assert enterprise_client.post("/contracts/new", data=data).status_code == 302
    contract = db.session.scalar(select(Contract))
    assert contract.result_id == result.id
    assert contract.field_id == _field(db, "environment")


def test_stats_count_an_older_blank_field_under_its_listing(db, parties):
    challenge = make_challenge(parties["firm"].id, field_id=_field(db, "agriculture"))
    result = make_result(parties["uni"].id, field_id=_field(db, "environment"))
    db.session.commit()
    _contract(db, parties["firm"], parties["uni"], 10, challenge_id=challenge.id)
    _contract(db, parties["firm"], parties["uni"], 20, result_id=result.id)
    _contract(db, parties["firm"], parties["uni"], 3)
    rows = {
        r["key"]: r["contract_amount_fen"]
        for r in services.turnover(START, END, "field")["rows"]
    }
    assert rows == {"agriculture": 10 * WAN, "environment": 20 * WAN, "none": 3 * WAN}


def test_a_median_just_below_zero_days_is_shown_as_zero():
    from marketplace.stats.rankings import _median

    assert str(_median([-0.01, -0.02])) == "0.0"
    assert _median([1.26]) == 1.3 and _median([None]) is None
