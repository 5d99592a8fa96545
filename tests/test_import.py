"""Bulk import of listings: the CLI, the bureau's upload page and seed-demo."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.demo import CSL_FILE
from marketplace.listings.importing import ALL_BIDDER_KINDS
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Notification,
    OrgKind,
    Result,
    ResultStatus,
    SearchOutbox,
    TechField,
    UserRole,
)
from tests.dates import iso, resolved

FUTURE_DAYS = 90  # the expiry date the good files give, in days from today


def write_jsonl(path, rows):
    path.write_text(
        "\n".join(
            r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def write_csv(path, header, rows, bom=False):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig" if bom else "utf-8")
    return path


def write_xlsx(path, header, rows):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.create_sheet("第二页").append(["title", "description"])
    book.save(path)
    return path


def counts(db):
    db.session.expire_all()
    return {
        name: db.session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("results", Result),
            ("challenges", Challenge),
            ("outbox", SearchOutbox),
            ("audit", AuditEvent),
        )
    }


def run(runner, kind, org, path, *extra):
    return runner.invoke(
        args=["import-listings", "--kind", kind, "--org", org, *extra, str(path)]
    )


def field_id(db, name):
    return db.session.scalar(select(TechField.id).where(TechField.name == name))


@pytest.fixture
def uni(factory):
    org = factory.org(OrgKind.UNIVERSITY, name="导入测试大学")
    factory.user(org, role=UserRole.ORG_ADMIN)
    return org


@pytest.fixture
def ent(factory):
    return factory.org(OrgKind.ENTERPRISE, name="导入测试企业")


# --- good files ---------------------------------------------------------------


def test_jsonl_results_are_published(runner, db, uni, tmp_path):
    path = write_jsonl(
        tmp_path / "results.jsonl",
        [
            {
                "title": "秸秆还田机",
                "description": "一种秸秆粉碎还田机械。",
                "external_id": "R-1",
                "keywords": "秸秆、还田，农机;粉碎 机械",
                "field": "农业",
                "discipline": "农业工程",
                "maturity": 7,
                "price_wan": "12.5",
                "valid_until": iso(FUTURE_DAYS),
            },
            {
                "title": "花生脱壳工艺",
                "abstract": "低破损率的花生脱壳工艺。",
                "keywords": ["花生", "脱壳", "花生"],
                "price_wan": 30,
            },
        ],
    )
    result = run(runner, "result", uni.name, path)
    assert result.exit_code == 0, result.output
    assert "新增科技成果 2 条" in result.output
    rows = {r.title: r for r in db.session.scalars(select(Result))}
    first, second = rows["秸秆还田机"], rows["花生脱壳工艺"]
    assert first.org_id == uni.id and first.status == ResultStatus.PUBLISHED
    assert first.published_at is not None
    assert first.abstract == "一种秸秆粉碎还田机械。"
    assert first.keywords == ["秸秆", "还田", "农机", "粉碎", "机械"]
    assert first.field_id == field_id(db, "农业")
    assert (first.discipline, first.trl, first.price_fen) == ("农业工程", 7, 12_500_000)
    assert first.valid_until.isoformat() == iso(FUTURE_DAYS)
    assert first.external_id == "R-1"
    assert second.abstract == "低破损率的花生脱壳工艺。"
    assert second.keywords == ["花生", "脱壳"]
    assert second.field_id is None and second.trl is None
    assert second.price_fen == 30_000_000
    today = local_today()
    assert second.valid_until == today.replace(year=today.year + 2)
    outbox = db.session.execute(
        select(SearchOutbox.doc_kind, SearchOutbox.doc_id)
    ).all()
    assert sorted(outbox) == sorted(("result", r.id) for r in rows.values())
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "results_imported")
    )
    assert event.org_id == uni.id and "results.jsonl" in event.note
    assert "新增 2 条" in event.note
    assert db.session.scalar(
        select(Notification).where(Notification.message.contains("已批量导入"))
    )


def test_csv_with_bom_imports_challenges(runner, db, ent, tmp_path):
    long_text = "需要" + "很长的问题描述" * 40
    path = write_csv(
        tmp_path / "challenges.csv",
        [
            "title",
            "description",
            "external_id",
            "keywords",
            "field",
            "price_wan",
            "deadline",
        ],
        [
            [
                "农机传感器",
                long_text,
                "C-1",
                '["传感器", "农机"]',
                "电子信息",
                "50",
                iso(FUTURE_DAYS),
            ],
            ["包装降解材料", "可降解包装。", "", "", "", "", iso(FUTURE_DAYS)],
        ],
        bom=True,
    )
    result = run(runner, "challenge", ent.credit_code, path)
    assert result.exit_code == 0, result.output
    rows = {c.title: c for c in db.session.scalars(select(Challenge))}
    first = rows["农机传感器"]
    assert first.status == ChallengeStatus.OPEN and first.published_at is not None
    assert first.description == long_text
    assert first.public_summary == long_text[:200]
    assert first.keywords == ["传感器", "农机"]
    assert first.bounty_fen == 50_000_000
    assert first.deadline.isoformat() == iso(FUTURE_DAYS)
    assert first.allowed_bidder_kinds == ALL_BIDDER_KINDS
    assert first.region_code == ent.region_code
    second = rows["包装降解材料"]
    assert second.bounty_fen is None and second.external_id is None
    assert second.keywords == []
    assert counts(db)["outbox"] == 2


def test_csv_without_bom_and_chinese_headers(runner, db, uni, tmp_path):
    path = write_csv(
        tmp_path / "r.csv",
        ["标题", "简介", "成熟度", "Price_Wan"],
        [["中文表头成果", "内容", "5", "8"]],
    )
    result = run(runner, "result", uni.name, path)
    assert result.exit_code == 0, result.output
    saved = db.session.scalar(select(Result))
    assert (saved.title, saved.abstract, saved.trl, saved.price_fen) == (
        "中文表头成果",
        "内容",
        5,
        8_000_000,
    )


def test_xlsx_results(runner, db, uni, tmp_path):
    until = local_today() + timedelta(days=200)
    path = write_xlsx(
        tmp_path / "results.xlsx",
        ["title", "description", "maturity", "price_wan", "valid_until", "field"],
        [
            [
                "表格成果一",
                "第一行",
                6,
                15.5,
                datetime(until.year, until.month, until.day),
                "新材料",
            ],
            [None, None, None, None, None, None],
            ["表格成果二", "第二行", "9", None, until.isoformat(), None],
        ],
    )
    result = run(runner, "result", uni.name, path)
    assert result.exit_code == 0, result.output
    rows = {r.title: r for r in db.session.scalars(select(Result))}
    assert set(rows) == {"表格成果一", "表格成果二"}
    one = rows["表格成果一"]
    assert (one.trl, one.price_fen, one.valid_until) == (6, 15_500_000, until)
    assert one.field_id == field_id(db, "新材料")
    assert rows["表格成果二"].trl == 9 and rows["表格成果二"].price_fen is None


def test_csl_file_imports_quickly(runner, db, uni):
    started = time.perf_counter()
    result = run(runner, "result", uni.name, CSL_FILE)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "新增科技成果 2000 条" in result.output
    assert "category" in result.output  # reported as ignored
    assert elapsed < 30
    assert counts(db)["results"] == 2000 and counts(db)["outbox"] == 2000
    again = run(runner, "result", uni.name, CSL_FILE)
    assert "新增科技成果 0 条" in again.output and "更新 2000 条" in again.output
    assert counts(db)["results"] == 2000


# --- bad files -------------------------------------------------------------------


def good() -> dict:
    """A valid result row."""
    return {"title": "好的一行", "description": "内容", "valid_until": iso(FUTURE_DAYS)}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"title": ""}, "缺少 title"),
        ({"title": None, "description": None}, "缺少 title；缺少 description"),
        ({"maturity": 10}, "maturity 应为 1–9 的整数"),
        ({"maturity": "高"}, "maturity 应为 1–9 的整数"),
        ({"valid_until": "2026-13-01"}, "valid_until"),
        ({"valid_until": "明年"}, "YYYY-MM-DD"),
        ({"valid_until": lambda: iso(-1)}, "不能早于今天"),
        ({"price_wan": "NaN"}, "price_wan"),
        ({"price_wan": "1e3"}, "price_wan"),
        ({"price_wan": -5}, "price_wan"),
        ({"price_wan": "99999999"}, "金额过大"),
        ({"field": "量子玄学"}, "field 不是已知的技术领域"),
        ({"external_id": "x" * 65}, "external_id 超过 64 字"),
        ({"title": "标题\x00"}, "控制字符"),
        ({"keywords": {"a": 1}}, "keywords"),
        ({"deadline": lambda: iso(FUTURE_DAYS)}, "科技成果没有 deadline 列"),
    ],
)
def test_bad_row_imports_nothing(runner, db, uni, tmp_path, bad, message):
    rows = [good(), {**good(), **resolved(bad)}, good()]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    before = counts(db)
    result = run(runner, "result", uni.name, path)
    assert result.exit_code != 0
    assert "第 2 行: " in result.output and message in result.output
    assert "未导入任何数据" in result.output
    assert counts(db) == before


def test_nan_literal_in_jsonl_is_refused(runner, db, uni, tmp_path):
    path = tmp_path / "nan.jsonl"
    path.write_text(
        '{"title": "a", "description": "b", "price_wan": NaN}\n'
        '{"title": "c", "description": "d", "price_wan": Infinity}\n',
        encoding="utf-8",
    )
    result = run(runner, "result", uni.name, path)
    assert result.exit_code != 0
    assert "第 1 行: price_wan" in result.output
    assert "第 2 行: price_wan" in result.output
    assert counts(db)["results"] == 0


def test_every_bad_row_is_reported_with_its_physical_line(runner, db, uni, tmp_path):
    path = write_jsonl(
        tmp_path / "many.jsonl",
        [
            {**good(), "external_id": "A"},
            "",
            {**good(), "maturity": 0},
            "not json",
            "[1, 2]",
            {**good(), "external_id": "A"},
            {**good(), "title": "x" * 201},
        ],
    )
    result = run(runner, "result", uni.name, path)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith("第 ")]
    assert lines == [
        "第 3 行: maturity 应为 1–9 的整数",
        "第 4 行: 不是有效的 JSON 对象",
        "第 5 行: 不是有效的 JSON 对象",
        "第 6 行: external_id A 与第 1 行重复",
        "第 7 行: title 超过 200 字",
    ]
    assert counts(db)["results"] == 0


def test_csv_line_numbers_count_the_header(runner, db, uni, tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        ["title", "description", "maturity"],
        [["一", "内容", "3"], [], ["三", "", "3"], ["四", "内容", "3", "多余"]],
    )
    result = run(runner, "result", uni.name, path)
    assert result.exit_code != 0
    assert "第 4 行: 缺少 description" in result.output
    assert "第 5 行: 单元格数多于表头列数" in result.output
    assert counts(db)["results"] == 0


def test_xlsx_bad_cells_are_reported_by_row(runner, db, uni, tmp_path):
    path = write_xlsx(
        tmp_path / "bad.xlsx",
        ["title", "description", "valid_until", "price_wan"],
        [
            ["好", "内容", None, 1],
            ["过期", "内容", datetime(2000, 1, 1), 1],
            ["价格", "内容", None, "NaN"],
            ["负数", "内容", None, -1.5],
        ],
    )
    result = run(runner, "result", uni.name, path)
    assert result.exit_code != 0
    assert "第 3 行: valid_until 不能早于今天" in result.output
    assert "第 4 行: price_wan" in result.output
    assert "第 5 行: price_wan" in result.output
    assert counts(db)["results"] == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.txt", b"title\n", "只能导入"),
        ("r.csv", "title,description\n中文,内容\n".encode("gbk"), "UTF-8"),
        ("r.csv", b"", "文件是空的"),
        ("r.csv", b"title,abstract,description\na,b,c\n", "重复"),
        ("r.csv", b"name,description\na,b\n", "表头缺少 title"),
        ("r.csv", b"title,description\n", "没有可导入的数据行"),
        ("r.xlsx", b"PK\x03\x04 not really a workbook", "无法读取 Excel"),
        ("r.jsonl", b"\n\n", "没有可导入的数据行"),
    ],
)
def test_bad_files_are_refused(runner, db, uni, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = run(runner, "result", uni.name, path)
    assert result.exit_code != 0
    assert message in result.output
    assert counts(db)["results"] == 0


def test_challenges_need_a_deadline_unless_draft(runner, db, ent, tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [{"title": "无截止", "description": "x"}])
    result = run(runner, "challenge", ent.name, path)
    assert result.exit_code != 0 and "第 1 行: 缺少 deadline" in result.output
    assert counts(db)["challenges"] == 0
    result = run(runner, "challenge", ent.name, path, "--draft")
    assert result.exit_code == 0, result.output
    saved = db.session.scalar(select(Challenge))
    assert saved.status == ChallengeStatus.DRAFT and saved.published_at is None
    assert saved.deadline is None


def test_challenge_columns_for_results_are_refused(runner, db, ent, tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [{"title": "a", "description": "b", "deadline": iso(30), "maturity": 5}],
    )
    result = run(runner, "challenge", ent.name, path)
    assert result.exit_code != 0
    assert "技术需求没有 maturity 列" in result.output


# --- organisations, drafts, re-import ----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "org_kind"),
    [
        ("result", OrgKind.ENTERPRISE),
        ("result", OrgKind.AGENCY),
        ("challenge", OrgKind.UNIVERSITY),
        ("challenge", OrgKind.BUREAU),
    ],
)
def test_wrong_org_kind_is_refused(runner, db, factory, tmp_path, kind, org_kind):
    org = factory.org(org_kind)
    path = write_jsonl(
        tmp_path / "x.jsonl", [{"title": "a", "description": "b", "deadline": iso(30)}]
    )
    before = counts(db)
    result = run(runner, kind, org.name, path)
    assert result.exit_code != 0
    assert "只能导入给" in result.output
    assert counts(db) == before


def test_unknown_org_is_refused(runner, db, tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [good()])
    result = run(runner, "result", "不存在的大学", path)
    assert result.exit_code != 0 and "找不到机构" in result.output


def test_unverified_org_only_gets_drafts(runner, db, factory, tmp_path):
    org = factory.org(OrgKind.INSTITUTE, verified=False)
    path = write_jsonl(tmp_path / "x.jsonl", [good()])
    result = run(runner, "result", org.name, path)
    assert result.exit_code != 0 and "只能以草稿导入" in result.output
    assert counts(db)["results"] == 0
    result = run(runner, "result", org.name, path, "--draft")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Result.status)) == ResultStatus.DRAFT


def test_draft_results(runner, db, uni, tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [good(), {**good(), "title": "二"}])
    result = run(runner, "result", uni.name, path, "--draft")
    assert result.exit_code == 0, result.output
    assert "（草稿）" in result.output
    statuses = set(db.session.scalars(select(Result.status)))
    assert statuses == {ResultStatus.DRAFT}
    assert (
        db.session.scalar(
            select(func.count(Result.id)).where(Result.published_at.is_not(None))
        )
        == 0
    )


def test_reimport_updates_rows_with_the_same_external_id(runner, db, uni, tmp_path):
    first = write_jsonl(
        tmp_path / "v1.jsonl",
        [
            {**good(), "external_id": "K1", "title": "旧标题", "price_wan": 10},
            {**good(), "external_id": "K2", "title": "不变"},
        ],
    )
    assert run(runner, "result", uni.name, first).exit_code == 0
    ids = dict(db.session.execute(select(Result.external_id, Result.id)).all())
    second = write_jsonl(
        tmp_path / "v2.jsonl",
        [
            {**good(), "external_id": "K1", "title": "新标题", "maturity": 8},
            {**good(), "external_id": "K3", "title": "新增"},
        ],
    )
    result = run(runner, "result", uni.name, second)
    assert result.exit_code == 0, result.output
    assert "新增科技成果 1 条" in result.output and "更新 1 条" in result.output
    db.session.expire_all()
    rows = {r.external_id: r for r in db.session.scalars(select(Result))}
    assert set(rows) == {"K1", "K2", "K3"}
    assert rows["K1"].id == ids["K1"]
    assert (rows["K1"].title, rows["K1"].trl, rows["K1"].price_fen) == (
        "新标题",
        8,
        None,
    )
    assert rows["K2"].title == "不变"
    assert counts(db)["outbox"] == 4


def test_reimport_without_draft_publishes_earlier_drafts(runner, db, uni, tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{**good(), "external_id": "D1"}])
    assert run(runner, "result", uni.name, path, "--draft").exit_code == 0
    assert db.session.scalar(select(Result.status)) == ResultStatus.DRAFT
    assert run(runner, "result", uni.name, path).exit_code == 0
    db.session.expire_all()
    saved = db.session.scalar(select(Result))
    assert saved.status == ResultStatus.PUBLISHED and saved.published_at is not None
    # A later --draft import does not unpublish it.
    assert run(runner, "result", uni.name, path, "--draft").exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(select(Result.status)) == ResultStatus.PUBLISHED


def test_reimport_mixes_published_and_draft_rows(runner, db, uni, tmp_path):
    live = write_jsonl(tmp_path / "a.jsonl", [{**good(), "external_id": "A"}])
    drafts = write_jsonl(tmp_path / "b.jsonl", [{**good(), "external_id": "B"}])
    assert run(runner, "result", uni.name, live).exit_code == 0
    assert run(runner, "result", uni.name, drafts, "--draft").exit_code == 0
    published_at = db.session.scalar(
        select(Result.published_at).where(Result.external_id == "A")
    )
    both = write_jsonl(
        tmp_path / "ab.jsonl",
        [
            {**good(), "external_id": "A", "title": "A2"},
            {**good(), "external_id": "B", "title": "B2"},
        ],
    )
    result = run(runner, "result", uni.name, both)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    rows = {r.external_id: r for r in db.session.scalars(select(Result))}
    assert (rows["A"].title, rows["B"].title) == ("A2", "B2")
    assert {r.status for r in rows.values()} == {ResultStatus.PUBLISHED}
    assert rows["A"].published_at == published_at


def test_same_external_id_in_two_orgs_is_two_listings(runner, db, factory, tmp_path):
    one = factory.org(OrgKind.UNIVERSITY)
    two = factory.org(OrgKind.INSTITUTE)
    path = write_jsonl(tmp_path / "x.jsonl", [{**good(), "external_id": "SAME"}])
    assert run(runner, "result", one.name, path).exit_code == 0
    assert run(runner, "result", two.name, path).exit_code == 0
    assert counts(db)["results"] == 2


# --- the bureau's upload page -----------------------------------------------------


def upload(client, content, name, **form):
    data = {"kind": "result", "file": (io.BytesIO(content), name), **form}
    return client.post("/bureau/import", data=data, content_type="multipart/form-data")


def csv_ok() -> bytes:
    """A one-row result CSV the upload accepts."""
    return f"title,description,valid_until\n网页成果,内容,{iso(FUTURE_DAYS)}\n".encode()


def test_upload_page_for_the_bureau(bureau_client, db, uni):
    page = bureau_client.get("/bureau/import").get_data(as_text=True)
    assert "批量导入" in page and uni.name in page
    response = upload(bureau_client, csv_ok(), "web.csv", org_id=str(uni.id))
    assert response.status_code == 302
    saved = db.session.scalar(select(Result))
    assert saved.title == "网页成果" and saved.status == ResultStatus.PUBLISHED
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "results_imported")
    )
    assert event.user_id == bureau_client.user.id and "web.csv" in event.note
    followed = bureau_client.get("/bureau/import").get_data(as_text=True)
    assert "新增科技成果 1 条" in followed


def test_upload_by_org_name_as_draft(bureau_client, db, uni):
    response = upload(
        bureau_client, csv_ok(), "web.csv", org_ref=uni.credit_code, draft="y"
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Result.status)) == ResultStatus.DRAFT


def test_upload_shows_line_errors_and_imports_nothing(bureau_client, db, uni):
    content = (
        "title,description,maturity\n好,内容,3\n,缺标题,3\n<b>坏</b>,内容,12\n"
    ).encode()
    response = upload(bureau_client, content, "bad.csv", org_id=str(uni.id))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "第 3 行: 缺少 title" in page
    assert "第 4 行: maturity 应为 1–9 的整数" in page
    assert "没有导入任何数据" in page
    assert counts(db)["results"] == 0


@pytest.mark.parametrize(
    ("content", "name", "form", "message"),
    [
        (None, "web.csv", {}, "请选择机构"),
        (None, "web.csv", {"org_ref": "不存在"}, "找不到机构"),
        (None, "web.exe", {"org_ref": "导入测试大学"}, "只能上传"),
        (None, "web.csv", {"org_ref": "导入测试大学", "kind": "deal"}, "导入类型"),
        (
            b"title,description\n" + b"a,b\n" * (10 * 2**20 // 4 + 1),
            "big.csv",
            {"org_ref": "导入测试大学"},
            "不能超过 10 MB",
        ),
    ],
)
def test_upload_bad_input(bureau_client, db, uni, content, name, form, message):
    response = upload(bureau_client, content or csv_ok(), name, **form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert counts(db)["results"] == 0


def test_upload_wrong_org_kind(bureau_client, db, ent):
    response = upload(bureau_client, csv_ok(), "web.csv", org_id=str(ent.id))
    assert "只能导入给" in response.get_data(as_text=True)
    assert counts(db)["results"] == 0


@pytest.mark.parametrize(
    "who", ["enterprise_client", "university_client", "agency_client"]
)
def test_upload_page_is_bureau_only(request, db, uni, who):
    client = request.getfixturevalue(who)
    assert client.get("/bureau/import").status_code == 403
    response = upload(client, csv_ok(), "web.csv", org_id=str(uni.id))
    assert response.status_code == 403
    assert counts(db)["results"] == 0


def test_upload_page_needs_login(client, db, uni):
    response = upload(client, csv_ok(), "web.csv", org_id=str(uni.id))
    assert response.status_code == 302 and "/auth/login" in response.location
    assert counts(db)["results"] == 0


# --- seed-demo uses the importer ------------------------------------------------


def test_seed_demo_imports_through_the_importer_and_is_idempotent(runner, db):
    first = runner.invoke(args=["seed-demo", "--limit", "40"])
    assert first.exit_code == 0, first.output
    after = counts(db)
    demo_challenges = db.session.scalar(select(func.count(Challenge.id)))
    assert demo_challenges == 10
    assert after["results"] == 40 and after["outbox"] == 40 + demo_challenges
    imports = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "results_imported")
    )
    assert imports >= 1
    assert not db.session.scalar(
        select(func.count(Result.id)).where(Result.published_at.is_(None))
    )
    second = runner.invoke(args=["seed-demo", "--limit", "40"])
    assert second.exit_code == 0, second.output
    assert "新增科技成果 0 条" in second.output
    assert counts(db) == after


def test_two_year_default_on_leap_day():
    from marketplace.listings.importing import _two_years_on

    assert _two_years_on(date(2028, 2, 29)) == date(2030, 2, 28)
    assert _two_years_on(date(2026, 5, 1)) == date(2028, 5, 1)
