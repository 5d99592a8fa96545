"""`flask import-contracts`: all or nothing, line-numbered errors, registered rows."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from marketplace.contracts import importing
from marketplace.models import AuditEvent, Contract, ContractStatus, OrgKind
from tests.dates import iso, resolved, today

HEADER = [
    "contract_type",
    "buyer",
    "buyer_region",
    "seller",
    "seller_region",
    "broker",
    "field",
    "signed_on",
    "amount_wan",
    "tech_amount_wan",
    "registration_no",
]


@pytest.fixture
def orgs(factory):
    return {
        "firm": factory.org(OrgKind.ENTERPRISE, name="驻马店某食品公司"),
        "lab": factory.org(OrgKind.INSTITUTE, region_code="411721"),
        "agency": factory.org(OrgKind.AGENCY, name="天中技术转移中心"),
    }


def write_csv(path, rows, header=HEADER):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def run(runner, path):
    return runner.invoke(args=["import-contracts", str(path)])


def contracts(db):
    return db.session.scalar(select(func.count(Contract.id)))


def good_rows(orgs):
    return [
        [
            "技术转让",
            orgs["firm"].name,
            "",
            orgs["lab"].credit_code,
            "",
            "天中技术转移中心",
            "环保与资源综合利用",
            iso(-30),
            "0.01",
            "0.01",
            "",
        ],
        [
            "development",
            "郑州某机械厂",
            "驿城区",
            orgs["lab"].name,
            "",
            "",
            "environment",
            iso(-30),
            "9999999.99",
            "9000000",
            "41170220240000",
        ],
    ]


def test_good_csv_imports_everything(runner, db, orgs, tmp_path):
    result = run(runner, write_csv(tmp_path / "c.csv", good_rows(orgs)))
    assert result.exit_code == 0, result.output
    assert "新增技术合同 2 份（其中已登记 1 份）" in result.output
    rows = db.session.scalars(select(Contract).order_by(Contract.amount_fen)).all()
    small, large = rows
    assert (small.amount_fen, small.tech_amount_fen) == (10_000, 10_000)
    assert small.buyer_org_id == orgs["firm"].id
    assert small.seller_org_id == orgs["lab"].id
    assert small.seller_region_code == "411721"
    assert small.broker_org_id == orgs["agency"].id
    assert small.status == ContractStatus.SUBMITTED
    assert small.field_id is not None
    assert (large.amount_fen, large.tech_amount_fen) == (
        9_999_999_990_000,
        9_000_000_000_000,
    )
    assert large.buyer_org_id is None and large.buyer_name == "郑州某机械厂"
    assert large.buyer_region_code == "411702"
    assert large.status == ContractStatus.REGISTERED
    assert large.registration_no == "41170220240000"
    assert large.registered_at is not None
    assert large.contract_type == "development"
    assert large.signed_on == today(-30)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contracts_imported")
    ).all()
    assert len(events) == 1


def test_good_xlsx(runner, db, orgs, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            *("合同类型", "买方", "买方所在县区", "卖方", "卖方所在县区"),
            *("技术领域", "签订日期", "合同成交额", "技术交易额", "登记号"),
        ]
    )
    sheet.append(
        [
            "技术服务",
            orgs["firm"].name,
            None,
            "外地研究院",
            "411721",
            None,
            today(-30),
            12.5,
            10,
            "411702202400009",
        ]
    )
    path = tmp_path / "c.xlsx"
    book.save(path)
    result = run(runner, path)
    assert result.exit_code == 0, result.output
    contract = db.session.scalar(select(Contract))
    assert (contract.amount_fen, contract.tech_amount_fen) == (12_500_000, 10_000_000)
    assert contract.contract_type == "service"
    assert contract.registration_no == "411702202400009"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({8: "100", 9: "100.01"}, "技术交易额不能大于合同成交额"),
        ({8: "-5"}, "非负数字"),
        ({8: "nan"}, "非负数字"),
        ({8: "inf"}, "非负数字"),
        ({8: "10000000.01"}, "金额过大"),
        ({7: lambda: iso(1)}, "签订日期不能晚于今天"),
        ({7: "2024/01/01"}, "YYYY-MM-DD"),
        ({0: "捐赠"}, "合同类型无效"),
        ({10: "123"}, "14–16 位数字"),
        ({10: "4117022024000X"}, "14–16 位数字"),
        ({5: "不存在的中介"}, "技术转移机构不存在"),
        ({6: "不存在的领域"}, "技术领域无效"),
        ({3: "某外地公司", 4: ""}, "seller_region"),
        ({3: "驻马店某食品公司"}, "买方和卖方不能是同一机构"),
    ],
)
def test_bad_row_refuses_the_whole_file(runner, db, orgs, tmp_path, change, message):
    rows = good_rows(orgs)
    for index, value in resolved(change).items():
        rows[0][index] = value
    result = run(runner, write_csv(tmp_path / "c.csv", rows))
    assert result.exit_code != 0
    assert "第 2 行: " in result.output and message in result.output, result.output
    assert contracts(db) == 0


def test_duplicate_registration_numbers(runner, db, orgs, tmp_path):
    rows = good_rows(orgs)
    rows[0][10] = rows[1][10]
    result = run(runner, write_csv(tmp_path / "c.csv", rows))
    assert result.exit_code != 0
    assert "第 3 行: 登记号与第 2 行重复" in result.output
    assert contracts(db) == 0
    # A number already in the register is refused as well.
    ok = run(runner, write_csv(tmp_path / "one.csv", good_rows(orgs)[1:]))
    assert ok.exit_code == 0, ok.output
    again = run(runner, write_csv(tmp_path / "two.csv", good_rows(orgs)[1:]))
    assert again.exit_code != 0 and "登记号已被使用" in again.output
    assert contracts(db) == 1


def test_every_bad_line_is_reported(runner, db, orgs, tmp_path):
    rows = good_rows(orgs) + good_rows(orgs)
    rows[0][8] = "-1"
    rows[2][0] = "x"
    rows[3][10] = ""
    result = run(runner, write_csv(tmp_path / "c.csv", rows))
    assert "第 2 行: " in result.output and "第 4 行: " in result.output
    assert "第 3 行" not in result.output
    assert contracts(db) == 0


def test_header_and_format_problems(runner, db, orgs, tmp_path):
    result = run(runner, write_csv(tmp_path / "c.csv", [], header=["buyer", "seller"]))
    assert result.exit_code != 0 and "表头缺少" in result.output
    empty = tmp_path / "e.csv"
    empty.write_text("", encoding="utf-8")
    assert "文件是空的" in run(runner, empty).output
    other = tmp_path / "c.txt"
    other.write_text("x", encoding="utf-8")
    result = run(runner, other)
    assert result.exit_code != 0 and ".csv 或 .xlsx" in result.output
    broken = tmp_path / "b.xlsx"
    broken.write_bytes(b"not a zip")
    assert "无法读取 Excel" in run(runner, broken).output
    assert contracts(db) == 0


def test_progress_bar_for_large_files(runner, db, orgs, tmp_path, monkeypatch):
    from marketplace.cli import support

    monkeypatch.setattr(support, "PROGRESS_FROM", 2)
    rows = good_rows(orgs)
    rows[1][10] = ""
    result = run(runner, write_csv(tmp_path / "c.csv", rows * 2))
    assert result.exit_code == 0, result.output
    assert "写入数据库" in result.output
    assert contracts(db) == 4


def test_parse_file_ignores_unknown_columns(orgs, app):
    data = "contract_type,buyer,seller,signed_on,amount_wan,备注\n"
    data += "transfer,a,b,2024-01-01,1,x\n"
    with app.app_context():
        parsed = importing.parse_file(data.encode(), "c.csv")
    assert parsed.ignored == ["备注"]
    assert parsed.rows[0].line == 2 and "备注" not in parsed.rows[0].data
