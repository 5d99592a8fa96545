"""Identifiers and amounts are normalised before any check and refused, never cut."""

from __future__ import annotations

import re

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from marketplace import identifiers
from marketplace.creditcode import make_credit_code
from marketplace.models import (
    Contract,
    ContractStatus,
    ExpertProfile,
    Organisation,
    OrgKind,
    User,
)
from marketplace.money import MoneyError, parse_wan
from tests.dates import iso
from tests.test_contract_import import HEADER, run, write_csv
from tests.test_contracts import add_contract

# " 2026411700000099 " from the issue: 16 digits that a maxlength of 16 cut to 15.
PASTED_NO = " 2026411700000099 "
NUMBER = "2026411700000099"
FULL_WIDTH_NO = "２０２６　４１１７００００００９９"


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("typed", "kind", "expected"),
    [
        (PASTED_NO, "registration_no", NUMBER),
        (FULL_WIDTH_NO, "registration_no", NUMBER),
        ("\u200b2026 4117 0000 0099\u3000", "registration_no", NUMBER),
        (" 91411700 mA9ghx1y8t ", "credit_code", "91411700MA9GHX1Y8T"),
        (full_width("91411700MA9GHX1Y8T"), "credit_code", "91411700MA9GHX1Y8T"),
        ("　０３９６－２８１２３４５ ", "phone", "0396-2812345"),
        ("138 0000 0000", "phone", "13800000000"),
        ("（0396）2812345转８００１", "phone", "(0396)2812345转8001"),
        ("\u3000１２．５\u3000", "amount_text", "12.5"),
        ("１，２３４．５", "amount_text", "1,234.5"),
    ],
)
def test_normalisers(typed, kind, expected):
    assert getattr(identifiers, kind)(typed) == expected


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("\u3000１２．５\u3000", 12_500_000), (" 30 ", 30_000_000), ("１，０００", 10**9)],
)
def test_amounts_with_full_width_digits_parse(typed, fen):
    assert parse_wan(typed) == fen


@pytest.mark.parametrize("typed", ["1 234", "12 .5", "１２万"])
def test_amounts_with_inner_blanks_or_units_are_refused(typed):
    with pytest.raises(MoneyError):
        parse_wan(typed)


def test_phone_too_long_is_refused_not_cut():
    assert "不能超过 40 个字符" in identifiers.phone_error("1" * 41)
    assert identifiers.phone_error("1" * 40) is None
    assert "只能包含" in identifiers.phone_error("call me")


# --- forms ---------------------------------------------------------------------


@pytest.fixture
def seller(factory):
    return factory.org(OrgKind.INSTITUTE)


def register(bureau_client, cid, number):
    return bureau_client.post(
        f"/contracts/{cid}/register",
        data={"registration_no": number},
        follow_redirects=True,
    )


@pytest.mark.parametrize("typed", [PASTED_NO, FULL_WIDTH_NO])
def test_register_form_keeps_all_sixteen_digits(
    bureau_client, enterprise_client, seller, db, typed
):
    cid = add_contract(db, enterprise_client.org, seller)
    page = bureau_client.get(f"/contracts/{cid}").get_data(as_text=True)
    # No maxlength: the browser must hand the whole pasted value to the server.
    (tag,) = re.findall(r'<input[^>]*name="registration_no"[^>]*>', page)
    assert "maxlength" not in tag
    register(bureau_client, cid, typed)
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.REGISTERED
    assert contract.registration_no == NUMBER


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (" 20264117000000991 ", "现为 17 位"),
        ("２０２６４１１７００００００９９９", "现为 17 位"),
        ("2026411700000O99", "不能含有字母"),
        ("\u3000\u3000", "请填写登记号"),
    ],
)
def test_register_form_refuses_what_does_not_fit(
    bureau_client, enterprise_client, seller, db, typed, message
):
    cid = add_contract(db, enterprise_client.org, seller)
    assert message in register(bureau_client, cid, typed).get_data(as_text=True)
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.SUBMITTED
    assert contract.registration_no is None


def test_contract_form_amounts_in_full_width(enterprise_client, seller, db):
    from tests.test_contracts import form

    data = form(
        enterprise_client.org, seller, amount="　１２０．５ ", tech_amount="１００"
    )
    response = enterprise_client.post("/contracts/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    contract = db.session.scalar(select(Contract))
    assert (contract.amount_fen, contract.tech_amount_fen) == (120_500_000, 10**8)


def test_profile_form_normalises_code_and_phone(org_admin_client, db):
    from tests.test_orgs import profile_data

    org = org_admin_client.org
    typed_code = " " + full_width(org.credit_code.lower()[:9]) + org.credit_code[9:]
    response = org_admin_client.post(
        f"/orgs/{org.id}/edit",
        data=profile_data(
            org, credit_code=typed_code, contact_phone="０３９６ 1234567"
        ),
    )
    assert response.status_code == 302
    saved = db.session.get(Organisation, org.id)
    assert saved.credit_code == org.credit_code
    assert saved.contact_phone == "03961234567"
    assert saved.verified  # the same code, so no new review


def test_profile_form_refuses_a_long_phone_whole(org_admin_client, db):
    from tests.test_orgs import profile_data

    org = org_admin_client.org
    response = org_admin_client.post(
        f"/orgs/{org.id}/edit", data=profile_data(org, contact_phone="1" * 41)
    )
    assert response.status_code == 200
    assert "不能超过 40 个字符" in response.get_data(as_text=True)
    assert db.session.get(Organisation, org.id).contact_phone == ""


def test_signup_accepts_a_pasted_credit_code(client, db):
    code = make_credit_code("411702", 987_654)
    response = client.post(
        "/auth/signup",
        data={
            "kind": "enterprise",
            "org_name": "全角代码测试企业",
            "credit_code": "\u3000" + full_width(code) + " ",
            "region": "411702",
            "name": "张三",
            "email": "fullwidth@example.cn",
            "password": "Zmd@Signup2026",
            "confirm": "Zmd@Signup2026",
        },
    )
    assert response.status_code in (200, 302)
    org = db.session.scalar(
        select(Organisation).where(Organisation.name == "全角代码测试企业")
    )
    assert org is not None and org.credit_code == code


# --- imports -------------------------------------------------------------------


def import_csv(runner, tmp_path, rows):
    return run(runner, write_csv(tmp_path / "c.csv", rows))


def row(seller_code, number, amount="３０"):
    values = ["技术开发", "外地某公司", "驿城区", seller_code, "", "", ""]
    values += [iso(-30), amount]
    return [*values, amount, number]


def test_import_normalises_number_code_and_amount(runner, db, seller, tmp_path):
    pasted_code = " " + full_width(seller.credit_code) + "\u3000"
    rows = [
        row(pasted_code, PASTED_NO),
        row(seller.credit_code, "\u3000" + full_width("20264117000001") + " "),
    ]
    result = import_csv(runner, tmp_path, rows)
    assert result.exit_code == 0, result.output
    contracts = db.session.scalars(select(Contract).order_by(Contract.id)).all()
    assert [c.registration_no for c in contracts] == [NUMBER, "20264117000001"]
    assert {c.seller_org_id for c in contracts} == {seller.id}
    assert {c.amount_fen for c in contracts} == {30_000_000}


def test_import_sees_the_same_number_typed_two_ways(runner, db, seller, tmp_path):
    rows = [row(seller.credit_code, NUMBER), row(seller.credit_code, FULL_WIDTH_NO)]
    result = import_csv(runner, tmp_path, rows)
    assert result.exit_code != 0
    assert "第 3 行" in result.output and "登记号与第 2 行重复" in result.output
    assert db.session.scalar(select(Contract)) is None


def test_import_refuses_a_long_number_whole(runner, db, seller, tmp_path):
    result = import_csv(runner, tmp_path, [row(seller.credit_code, PASTED_NO + "1")])
    assert result.exit_code != 0
    assert "现为 17 位" in result.output
    assert db.session.scalar(select(Contract)) is None


def test_import_refuses_a_sixteen_digit_excel_number(runner, db, seller, tmp_path):
    # Excel keeps 15 significant digits: 2026411700000099 is stored ...090.
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(row(seller.credit_code, "", amount="30")[:-1])
    sheet.cell(row=2, column=len(HEADER), value=2026411700000090)
    path = tmp_path / "c.xlsx"
    book.save(path)
    result = runner.invoke(args=["import-contracts", str(path)])
    assert result.exit_code != 0
    assert "设为文本格式" in result.output
    assert db.session.scalar(select(Contract)) is None


def test_expert_import_normalises_phone(runner, db, factory, tmp_path):
    university = factory.org(OrgKind.UNIVERSITY)
    prof = factory.user(university, email="phone@huanghuai.edu.cn")
    header = ["email", "name", "title", "affiliation", "fields", "phone"]
    lines = [header, [prof.email, "", "教授", "", "agriculture", "１３８ ０000 0000"]]
    path = tmp_path / "e.csv"
    path.write_text("\n".join(",".join(x) for x in lines), encoding="utf-8")
    result = runner.invoke(args=["import-experts", str(path)])
    assert result.exit_code == 0, result.output
    expert = db.session.scalar(
        select(ExpertProfile).join(User).where(User.email == prof.email)
    )
    assert expert.contact_phone == "13800000000"


def test_expert_import_refuses_a_long_phone(runner, db, factory, tmp_path):
    university = factory.org(OrgKind.UNIVERSITY)
    prof = factory.user(university, email="long@huanghuai.edu.cn")
    header = ["email", "name", "title", "affiliation", "fields", "phone"]
    lines = [header, [prof.email, "", "教授", "", "agriculture", "1" * 41]]
    path = tmp_path / "e.csv"
    path.write_text("\n".join(",".join(x) for x in lines), encoding="utf-8")
    result = runner.invoke(args=["import-experts", str(path)])
    assert result.exit_code != 0
    assert "第 2 行" in result.output and "不能超过 40 个字符" in result.output
    assert db.session.scalar(select(ExpertProfile)) is None


def test_existing_registered_number_matches_pasted_copy(
    bureau_client, enterprise_client, seller, db
):
    add_contract(
        db,
        enterprise_client.org,
        seller,
        registration_no=NUMBER,
        status=ContractStatus.REGISTERED,
    )
    cid = add_contract(db, enterprise_client.org, seller)
    body = register(bureau_client, cid, FULL_WIDTH_NO).get_data(as_text=True)
    assert "登记号已被使用" in body
