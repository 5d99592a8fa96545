"""The bureau's import pages: XLSX templates round-trip, Chinese headers, uploads."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace import import_templates
from marketplace.contracts import importing as contract_import
from marketplace.experts import importing as expert_import
from marketplace.listings import import_files
from marketplace.models import (
    Challenge,
    Contract,
    ExpertProfile,
    OrgKind,
    Result,
    User,
)
from marketplace.money import parse_wan

PASSWORD = "Expert2026pool"
COLUMN_OF = {
    "results": import_files._column,
    "challenges": import_files._column,
    "contracts": contract_import._column,
    "experts": expert_import._column,
}
KNOWN = {
    "results": import_files.COLUMNS["result"],
    "challenges": import_files.COLUMNS["challenge"],
    "contracts": set(contract_import.COLUMNS),
    "experts": set(expert_import.COLUMNS),
}


def download(client, name: str):
    """The template as an openpyxl workbook, after checking the answer."""
    response = client.get(f"/bureau/import/templates/{name}.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.data))


def saved(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def data_rows(book) -> list[list]:
    """The first sheet's rows under the header, blank cells as ''."""
    rows = book.worksheets[0].iter_rows(min_row=2, values_only=True)
    return [["" if c is None else c for c in row] for row in rows]


def post_file(client, url: str, content: bytes, name: str, **form):
    data = {"file": (io.BytesIO(content), name), **form}
    return client.post(url, data=data, content_type="multipart/form-data")


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("name", sorted(import_templates.TEMPLATES))
def test_template_has_chinese_headers_examples_and_notes(bureau_client, name):
    book = download(bureau_client, name)
    assert [s.title for s in book.worksheets][1] == "填写说明"
    header = [c.value for c in book.worksheets[0][1]]
    template = import_templates.TEMPLATES[name]
    assert header == [c.header for c in template.columns]
    # Every Chinese header is one the importer reads, as the column it means.
    assert [COLUMN_OF[name](h) for h in header] == [c.name for c in template.columns]
    assert {c.name for c in template.columns} <= KNOWN[name]
    assert data_rows(book), "example rows"
    notes = [row[0] for row in book.worksheets[1].iter_rows(values_only=True)]
    assert "列名" in notes and any("不导入任何数据" in (n or "") for n in notes)


def test_templates_and_pages_are_for_the_bureau_only(
    client, enterprise_client, university_client, agency_client
):
    urls = [
        "/bureau/import/contracts",
        "/bureau/import/experts",
        "/bureau/import/templates/contracts.xlsx",
        "/bureau/import/templates/results.xlsx",
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
        for other in (enterprise_client, university_client, agency_client):
            assert other.get(url).status_code == 403


def test_unknown_template_is_404(bureau_client):
    assert bureau_client.get("/bureau/import/templates/users.xlsx").status_code == 404


def test_listing_templates_round_trip(bureau_client, db, factory):
    uni = factory.org(OrgKind.UNIVERSITY, name="模板测试大学")
    firm = factory.org(OrgKind.ENTERPRISE, name="模板测试企业")
    for name, kind, org, model in (
        ("results", "result", uni, Result),
        ("challenges", "challenge", firm, Challenge),
    ):
        book = download(bureau_client, name)
        sheet = book.worksheets[0]
        first = data_rows(book)[0]
        sheet.append([f"{first[0]}（第二项）", *first[1:2], "X-2", *first[3:]])
        expected = [row[0] for row in data_rows(book)]
        response = post_file(
            bureau_client,
            "/bureau/import",
            saved(book),
            f"{name}.xlsx",
            kind=kind,
            org_id=str(org.id),
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        db.session.expire_all()
        titles = db.session.scalars(
            select(model.title).where(model.org_id == org.id).order_by(model.id)
        ).all()
        assert titles == expected


def test_contract_template_round_trip(bureau_client, db):
    book = download(bureau_client, "contracts")
    rows = data_rows(book)
    response = post_file(
        bureau_client, "/bureau/import/contracts", saved(book), "合同.xlsx"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "已导入技术合同 2 份" in bureau_client.get(response.location).get_data(
        as_text=True
    )
    stored = db.session.execute(
        select(Contract.buyer_name, Contract.seller_name, Contract.amount_fen).order_by(
            Contract.id
        )
    ).all()
    assert [tuple(s) for s in stored] == [
        (row[1], row[3], parse_wan(str(row[8]))) for row in rows
    ]


def test_contract_upload_is_all_or_nothing_with_line_numbers(bureau_client, db):
    book = download(bureau_client, "contracts")
    sheet = book.worksheets[0]
    sheet.cell(row=3, column=1, value="技术赠送")  # no such contract type
    sheet.cell(row=2, column=9, value="五十")
    response = post_file(
        bureau_client, "/bureau/import/contracts", saved(book), "合同.xlsx"
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "本次没有导入任何数据" in page
    assert "第 2 行: 合同成交额" in page and "第 3 行: 合同类型无效：技术赠送" in page
    assert count(db, Contract) == 0


def test_contract_upload_with_english_headers(bureau_client, db):
    book = download(bureau_client, "contracts")
    for cell, column in zip(
        book.worksheets[0][1], import_templates.CONTRACTS.columns, strict=True
    ):
        cell.value = column.name
    response = post_file(
        bureau_client, "/bureau/import/contracts", saved(book), "contracts.xlsx"
    )
    assert response.status_code == 302
    assert count(db, Contract) == 2


def test_contract_upload_refuses_other_files(bureau_client, db):
    response = post_file(
        bureau_client, "/bureau/import/contracts", b"PK\x03\x04broken", "x.xlsx"
    )
    assert "无法读取 Excel 文件" in response.get_data(as_text=True)
    response = post_file(bureau_client, "/bureau/import/contracts", b"a", "x.jsonl")
    assert "只能上传 .csv 或 .xlsx 文件" in response.get_data(as_text=True)
    assert count(db, Contract) == 0


def test_expert_template_round_trip(bureau_client, db, factory):
    uni = factory.org(OrgKind.UNIVERSITY, name="专家模板大学")
    book = download(bureau_client, "experts")
    sheet = book.worksheets[0]
    sheet.cell(row=2, column=4, value=uni.name)
    sheet.append(
        ["li.expert@example.cn", "李明", "研究员", uni.name, "新材料", "镁合金", ""]
    )
    rows = data_rows(book)
    url = "/bureau/import/experts"
    # New accounts need a first password: refused, nothing written.
    refused = post_file(bureau_client, url, saved(book), "专家.xlsx")
    page = refused.get_data(as_text=True)
    assert "第 2 行: 没有该邮箱的账号：请在本页填写新账号的初始密码" in page
    assert "--password" not in page and count(db, ExpertProfile) == 0
    response = post_file(
        bureau_client, url, saved(book), "专家.xlsx", password=PASSWORD
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    stored = db.session.execute(
        select(User.email, User.name, ExpertProfile.title, ExpertProfile.specialities)
        .join(ExpertProfile, ExpertProfile.user_id == User.id)
        .order_by(ExpertProfile.id)
    ).all()
    assert [tuple(s) for s in stored] == [(r[0], r[1], r[2], r[5]) for r in rows]
    # The same file again adds nobody.
    again = post_file(bureau_client, url, saved(book), "专家.xlsx", password=PASSWORD)
    assert again.status_code == 302 and count(db, ExpertProfile) == 2


def test_expert_pool_page_offers_the_upload_not_a_command(bureau_client):
    page = bureau_client.get("/experts/").get_data(as_text=True)
    assert "flask" not in page
    assert "/bureau/import/experts" in page
    assert "/bureau/import/templates/experts.xlsx" in page
