"""The contract register: search, sorting, paging, exports and certificates."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from marketplace.contracts import register_routes
from marketplace.models import (
    Contract,
    ContractStatus,
    ContractType,
    OrgKind,
    TechField,
)

NO_1, NO_2 = "2026411700000001", "2026411700000002"
OUTSIDE_BUYER = "河南绿源食品有限公司"
OUTSIDE_SELLER = "郑州精工研究所"


def _field(db, code):
    return db.session.scalar(select(TechField.id).where(TechField.code == code))


@pytest.fixture
def world(db, factory, enterprise_client, bureau_client):
    """Three contracts: two registered, one waiting, with an outside party each."""
    buyer = enterprise_client.org
    seller = factory.org(OrgKind.INSTITUTE, region_code="411721")
    agency = factory.org(OrgKind.AGENCY)

    def add(**fields):
        contract = Contract(
            **{
                "title": "技术开发合同",
                "contract_type": ContractType.DEVELOPMENT,
                "buyer_org_id": buyer.id,
                "buyer_name": buyer.name,
                "buyer_region_code": "411702",
                "seller_org_id": seller.id,
                "seller_name": seller.name,
                "seller_region_code": "411721",
                "paid_fen": 0,
                **fields,
            }
        )
        db.session.add(contract)
        db.session.commit()
        return contract.id

    ids = {
        "one": add(
            title="冷链温控系统开发合同",
            registration_no=NO_1,
            status=ContractStatus.REGISTERED,
            registered_at=datetime(2026, 1, 20, 2, tzinfo=UTC),
            signed_on=date(2026, 1, 10),
            amount_fen=100_000_000,
            tech_amount_fen=80_000_000,
            field_id=_field(db, "electronic_information"),
            broker_org_id=agency.id,
        ),
        # Registered at 01:00 on 1 April in the city, still 31 March in UTC.
        "two": add(
            title="发酵工艺转让合同",
            contract_type=ContractType.TRANSFER,
            buyer_org_id=None,
            buyer_name=OUTSIDE_BUYER,
            buyer_region_code="411722",
            registration_no=NO_2,
            status=ContractStatus.REGISTERED,
            registered_at=datetime(2026, 3, 31, 17, tzinfo=UTC),
            signed_on=date(2026, 3, 5),
            amount_fen=300_000_000,
            tech_amount_fen=250_000_000,
            field_id=_field(db, "advanced_manufacturing"),
        ),
        "three": add(
            title="检测咨询合同",
            contract_type=ContractType.CONSULTING,
            seller_org_id=None,
            seller_name=OUTSIDE_SELLER,
            seller_region_code="411723",
            status=ContractStatus.SUBMITTED,
            signed_on=date(2026, 5, 1),
            amount_fen=50_000_000,
            tech_amount_fen=50_000_000,
        ),
    }
    return {"ids": ids, "seller": seller, "agency": agency, "buyer": buyer}


def shown(client, **args) -> list[int]:
    """Ids of the contracts the register page lists, in order."""
    response = client.get("/contracts/", query_string=args)
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'href="/contracts/(\d+)"', response.text)]


def names(world, *keys):
    return [world["ids"][k] for k in keys]


# --- each filter ------------------------------------------------------------------


def test_party_name_matches_buyer_seller_and_outside_parties(bureau_client, world):
    assert shown(bureau_client, q="绿源") == names(world, "two")
    assert shown(bureau_client, q="精工") == names(world, "three")
    seller = world["seller"].name
    assert shown(bureau_client, q=seller, sort="signed_asc") == names(
        world, "one", "two"
    )
    buyer = world["buyer"].name
    assert shown(bureau_client, q=buyer, sort="signed_asc") == names(
        world, "one", "three"
    )
    assert shown(bureau_client, q="无此单位") == []


def test_registration_number_typed_or_pasted(bureau_client, world):
    assert shown(bureau_client, no=NO_2) == names(world, "two")
    assert shown(bureau_client, no="0000001") == names(world, "one")
    # Full-width digits and blanks, as pasted from a document.
    pasted = " ２０２６　４１１７ ００００ ０００２ "
    assert shown(bureau_client, no=pasted) == names(world, "two")


def test_county_as_output_or_absorption(bureau_client, world):
    both = shown(bureau_client, county="411721", side="output", sort="signed_asc")
    assert both == names(world, "one", "two")
    assert shown(bureau_client, county="411721", side="absorption") == []
    assert shown(bureau_client, county="411722", side="absorption") == names(
        world, "two"
    )
    assert shown(bureau_client, county="411723") == names(world, "three")
    assert shown(bureau_client, county="411722", side="output") == []


def test_field_type_and_status(bureau_client, world, db):
    field = _field(db, "electronic_information")
    assert shown(bureau_client, field=str(field)) == names(world, "one")
    assert shown(bureau_client, type="transfer") == names(world, "two")
    assert shown(bureau_client, status="submitted") == names(world, "three")
    registered = shown(bureau_client, status="registered", sort="signed_asc")
    assert registered == names(world, "one", "two")


def test_signed_and_registered_date_ranges(bureau_client, world):
    assert shown(
        bureau_client, signed_from="2026-02-01", signed_to="2026-04-30"
    ) == names(world, "two")
    assert shown(bureau_client, signed_from="2026-03-06") == names(world, "three")
    # Registration dates are the city's dates, not UTC ones.
    assert shown(
        bureau_client, registered_from="2026-04-01", registered_to="2026-04-01"
    ) == names(world, "two")
    assert shown(bureau_client, registered_to="2026-03-31") == names(world, "one")


def test_amount_range(bureau_client, world):
    assert shown(bureau_client, amount_min="100", amount_max="200") == names(
        world, "one"
    )
    assert shown(bureau_client, amount_min="200") == names(world, "two")
    assert shown(bureau_client, amount_max="99.99") == names(world, "three")


# --- sorting and paging -------------------------------------------------------------


def test_sorts(bureau_client, world):
    assert shown(bureau_client) == names(world, "three", "two", "one")
    assert shown(bureau_client, sort="signed_asc") == names(
        world, "one", "two", "three"
    )
    assert shown(bureau_client, sort="amount_desc") == names(
        world, "two", "one", "three"
    )
    assert shown(bureau_client, sort="amount_asc") == names(
        world, "three", "one", "two"
    )
    # Unregistered contracts come last whichever way registration dates run.
    assert shown(bureau_client, sort="registered_desc") == names(
        world, "two", "one", "three"
    )
    assert shown(bureau_client, sort="registered_asc") == names(
        world, "one", "two", "three"
    )


def test_paging_keeps_the_filter(bureau_client, world, monkeypatch):
    monkeypatch.setattr(register_routes, "PER_PAGE", 1)
    args = {"county": "411721", "side": "output", "sort": "amount_desc"}
    first = bureau_client.get("/contracts/", query_string=args).text
    assert "共 2 份合同" in first
    assert "county=411721" in first and "page=2" in first
    assert shown(bureau_client, **args) == names(world, "two")
    assert shown(bureau_client, page="2", **args) == names(world, "one")
    assert shown(bureau_client, page="3", **args) == []


# --- refused values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"amount_min": "abc"}, "金额"),
        ({"amount_min": "5,0"}, "逗号"),
        ({"signed_from": "2026-13-45"}, "签订日期起"),
        ({"registered_from": "0001-01-01"}, "1980"),
        ({"no": "41170A"}, "登记号只能是"),
        ({"county": "999999"}, "县区"),
        ({"field": "99999999999999999999"}, "技术领域"),
        ({"sort": "id; drop table"}, "排序"),
        ({"status": "bogus"}, "登记状态"),
        ({"signed_from": "2026-05-01", "signed_to": "2026-01-01"}, "不能早于"),
        ({"amount_min": "300", "amount_max": "10"}, "不能低于"),
        ({"q": "x" * 101}, "当事人名称"),
    ],
)
def test_bad_values_give_a_message(bureau_client, world, args, message):
    response = bureau_client.get("/contracts/", query_string=args)
    assert response.status_code == 200
    assert "部分筛选条件有误" in response.text
    assert message in response.text
    export = bureau_client.get("/contracts/register.csv", query_string=args)
    assert export.status_code == 302
    batch = bureau_client.get("/contracts/certificates.pdf", query_string=args)
    assert batch.status_code == 302
    page = bureau_client.get(batch.headers["Location"]).text
    assert "筛选条件有误，未导出" in page


def test_a_refused_value_leaves_the_others_in_force(bureau_client, world):
    assert shown(bureau_client, q="绿源", amount_min="abc") == names(world, "two")


def test_parties_search_only_their_own(enterprise_client, world):
    # The buyer is no party to the second contract: no filter reaches it.
    assert shown(enterprise_client, q="绿源") == []
    assert shown(enterprise_client, no=NO_2) == []
    assert shown(enterprise_client, sort="signed_asc") == names(world, "one", "three")


# --- exports --------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    )


def test_exports_follow_the_filter(bureau_client, world):
    rows = _csv(
        bureau_client.get("/contracts/register.csv", query_string={"q": "绿源"})
    )
    text = "\n".join(",".join(r) for r in rows)
    assert NO_2 in text and OUTSIDE_BUYER in text
    assert NO_1 not in text
    assert len(rows) == 3  # header, the one contract, the total
    everything = _csv(bureau_client.get("/contracts/register.csv"))
    assert len(everything) == 5
    sheet = bureau_client.get(
        "/contracts/register.xlsx", query_string={"county": "411721", "side": "output"}
    )
    assert sheet.status_code == 200
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(sheet.data), read_only=True)
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row]
    assert NO_1 in cells and NO_2 in cells
    assert bureau_client.get("/contracts/register.pdf").status_code == 404


def test_page_links_exports_with_the_filter(bureau_client, world):
    page = bureau_client.get("/contracts/", query_string={"q": "绿源"}).text
    assert "/contracts/register.csv?q=" in page
    assert "/contracts/certificates.pdf?q=" in page


def test_only_the_bureau_exports(enterprise_client, world):
    for url in ("/contracts/register.csv", "/contracts/certificates.pdf"):
        assert enterprise_client.get(url).status_code == 403
    page = enterprise_client.get("/contracts/").text
    assert "register.csv" not in page


# --- certificates ------------------------------------------------------------


def pdf_text(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]


def test_certificate_reads_back(bureau_client, world):
    (text,) = pdf_text(
        bureau_client.get(f"/contracts/{world['ids']['one']}/certificate.pdf")
    )
    for words in (
        "技术合同登记证明",
        NO_1,
        "2026-01-20",
        "冷链温控系统开发合同",
        "技术开发",
        "电子信息",
        "100.00 万元",
        "80.00 万元",
        world["seller"].name,
        "西平县",
        world["buyer"].name,
        "驿城区",
        world["agency"].name,
        "2026-01-10",
    ):
        assert words in text, words


def test_certificate_names_an_outside_party(bureau_client, world):
    (text,) = pdf_text(
        bureau_client.get(f"/contracts/{world['ids']['two']}/certificate.pdf")
    )
    assert OUTSIDE_BUYER in text and "平台外" in text and "上蔡县" in text
    assert "2026-04-01" in text and "300.00 万元" in text and "250.00 万元" in text


def test_parties_print_their_certificate(enterprise_client, world, factory, login):
    url = f"/contracts/{world['ids']['one']}/certificate.pdf"
    assert NO_1 in pdf_text(enterprise_client.get(url))[0]
    seller = login(factory.user(world["seller"]))
    assert NO_1 in pdf_text(seller.get(url))[0]
    show = enterprise_client.get(f"/contracts/{world['ids']['one']}").text
    assert "certificate.pdf" in show


def test_certificate_denied(world, factory, login, client):
    url = f"/contracts/{world['ids']['one']}/certificate.pdf"
    # The broker sees the contract but is no party to it.
    broker = login(factory.user(world["agency"]))
    assert broker.get(url).status_code == 403
    assert "certificate.pdf" not in broker.get(f"/contracts/{world['ids']['one']}").text
    outsider = login(factory.user(factory.org(OrgKind.ENTERPRISE)))
    assert outsider.get(url).status_code == 404
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.location
    assert client.get("/contracts/99999/certificate.pdf").status_code == 302


def test_no_certificate_before_registration(enterprise_client, bureau_client, world):
    url = f"/contracts/{world['ids']['three']}/certificate.pdf"
    for client in (enterprise_client, bureau_client):
        response = client.get(url)
        assert response.status_code == 302
        assert "合同登记后才有登记证明" in client.get(response.location).text
    assert bureau_client.get("/contracts/99999/certificate.pdf").status_code == 404


def test_batch_of_certificates_follows_the_filter(bureau_client, world):
    pages = pdf_text(
        bureau_client.get(
            "/contracts/certificates.pdf",
            query_string={"county": "411721", "sort": "signed_asc"},
        )
    )
    assert len(pages) == 2
    assert NO_1 in pages[0] and NO_2 in pages[1]
    # The waiting contract matches the filter but has no certificate.
    assert len(pdf_text(bureau_client.get("/contracts/certificates.pdf"))) == 2


def test_batch_without_registered_contracts(bureau_client, world):
    response = bureau_client.get(
        "/contracts/certificates.pdf", query_string={"status": "submitted"}
    )
    assert response.status_code == 302 and "status=submitted" in response.location
    assert "无登记证明可导出" in bureau_client.get(response.location).text


def test_batch_is_capped(bureau_client, world, monkeypatch):
    monkeypatch.setattr(register_routes, "MAX_BATCH", 1)
    response = bureau_client.get("/contracts/certificates.pdf")
    assert response.status_code == 302
    page = bureau_client.get(response.location).text
    assert "有 2 份已登记合同" in page and "最多导出的 1 份" in page
