"""Every statistics table, and the contract register, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask_login import current_user
from sqlalchemy.orm import selectinload

from marketplace import permissions
from marketplace.contracts.register import RegisterFilter
from marketplace.extensions import db
from marketplace.models import CONTRACT_TYPE_LABELS, Contract
from marketplace.stats import delivery, services

FEN_PER_WAN = 1_000_000

AMOUNT_COLUMNS = [
    ("key", "键"),
    ("label", "名称"),
    ("contract_amount_fen", "合同成交额（万元）"),
    ("tech_amount_fen", "技术交易额（万元）"),
    ("count", "合同数"),
]
PERIOD_COLUMNS = [*AMOUNT_COLUMNS, ("payments_fen", "到账金额（万元）")]
COUNTY_COLUMNS = [
    ("key", "区划代码"),
    ("label", "县区"),
    ("output_fen", "输出额（万元）"),
    ("absorption_fen", "吸纳额（万元）"),
    ("output_count", "输出合同数"),
    ("absorption_count", "吸纳合同数"),
]
FUNNEL_COLUMNS = [
    ("label", "环节"),
    ("count", "数量"),
    ("conversion_pct", "转化率（%）"),
    ("median_days", "中位天数"),
]
CERT_COLUMNS = [("label", "认定类型"), ("count", "机构数")]
REGISTER_COLUMNS = [
    ("registration_no", "登记号"),
    ("title", "合同名称"),
    ("type", "合同类型"),
    ("seller", "卖方"),
    ("seller_region", "卖方区划"),
    ("buyer", "买方"),
    ("buyer_region", "买方区划"),
    ("broker", "中介机构"),
    ("signed_on", "签订日期"),
    ("amount_fen", "合同成交额（万元）"),
    ("tech_amount_fen", "技术交易额（万元）"),
    ("paid_fen", "已到账（万元）"),
]


def wan(fen: int) -> Decimal:
    """Fen as an exact 万元 decimal with at least two places."""
    value = Decimal(fen) / FEN_PER_WAN
    return (
        value.quantize(Decimal("0.01"))
        if value == value.quantize(Decimal("0.01"))
        else value.normalize()
    )


def _with_total(result: dict) -> list[dict]:
    return [*result["rows"], result["total"]]


def _turnover(by: str) -> Callable[[date, date], list[dict]]:
    return lambda start, end: _with_total(services.turnover(start, end, by))


def _top(role: str) -> Callable[[date, date], list[dict]]:
    return lambda start, end: services.top_orgs(start, end, role)


def _register(start: date, end: date) -> list[dict]:
    return register_rows(
        RegisterFilter.registered_between(start, end), current_user
    )


def register_rows(register_filter: RegisterFilter, user) -> list[dict]:
    """The register's rows the filter selects (as the page shows them) and a total."""
    contracts = db.session.scalars(
        permissions.visible_register(user, register_filter).options(
            selectinload(Contract.broker_org)
        )
    )
    rows = [
        {
            "registration_no": c.registration_no,
            "title": c.title,
            "type": CONTRACT_TYPE_LABELS[c.contract_type],
            "seller": c.seller_name,
            "seller_region": c.seller_region_code,
            "buyer": c.buyer_name,
            "buyer_region": c.buyer_region_code,
            "broker": c.broker_org.name if c.broker_org else "",
            "signed_on": c.signed_on.isoformat(),
            "amount_fen": c.amount_fen,
            "tech_amount_fen": c.tech_amount_fen,
            "paid_fen": c.paid_fen,
        }
        for c in contracts
    ]
    total = {key: "" for key, _ in REGISTER_COLUMNS}
    total["registration_no"] = "合计"
    for key in ("amount_fen", "tech_amount_fen", "paid_fen"):
        total[key] = sum(r[key] for r in rows)
    return [*rows, total]


# --- 揭榜挂帅 delivery: projects, milestones, checks, exemptions, panels, integrity


STAGE_COLUMNS = [
    ("key", "键"),
    ("label", "阶段"),
    ("count", "项目数"),
    ("budget_fen", "项目经费（万元）"),
    ("released_fen", "已拨付（万元）"),
    ("released_pct", "拨付比例（%）"),
]
MILESTONE_COLUMNS = [("key", "键"), ("label", "里程碑"), ("count", "数量")]
ACCEPTANCE_COLUMNS = [
    ("key", "键"),
    ("label", "类型"),
    *[(c.value, label) for c, label in delivery.CONCLUSION_LABELS.items()],
    ("pending", "待结论"),
    ("total", "合计"),
]
EXEMPTION_COLUMNS = [("key", "键"), ("label", "容错免责"), ("count", "数量")]
WORKLOAD_COLUMNS = [
    ("label", "专家"),
    ("title", "职称"),
    ("org", "工作单位"),
    ("panels", "参加评审组"),
    ("completed", "已完成评审组"),
    ("pending", "当前待提交"),
]
INTEGRITY_COLUMNS = [
    ("key", "键"),
    ("label", "失信行为类型"),
    ("count", "记录数"),
    ("in_force", "今日限制有效"),
]
MILESTONE_LABELS = {
    "on_time": "按期提交并验收",
    "late": "逾期提交后验收",
    "overdue": "当前逾期未验收",
}


def _milestone_rows(start: date, end: date) -> list[dict]:
    figures = delivery.milestone_timeliness(start, end)
    return [
        {"key": k, "label": label, "count": figures[k]}
        for k, label in MILESTONE_LABELS.items()
    ]


def _exemption_rows(start: date, end: date) -> list[dict]:
    figures = delivery.exemption_counts(start, end)
    return [
        {"key": k, "label": label, "count": figures[k]}
        for k, label in delivery.EXEMPTION_LABELS.items()
    ]


DELIVERY_TABLES: dict[str, tuple[str, list, Callable[[date, date], list[dict]]]] = {
    "delivery_stages": (
        "项目阶段与资金拨付",
        STAGE_COLUMNS,
        lambda s, e: _with_total(delivery.projects_by_stage(s, e)),
    ),
    "delivery_milestones": ("里程碑按期情况", MILESTONE_COLUMNS, _milestone_rows),
    "delivery_acceptances": (
        "中期检查与结题验收结论",
        ACCEPTANCE_COLUMNS,
        lambda s, e: _with_total(delivery.acceptance_outcomes(s, e)),
    ),
    "delivery_exemptions": ("容错免责认定", EXEMPTION_COLUMNS, _exemption_rows),
    "delivery_workload": ("专家评审工作量", WORKLOAD_COLUMNS, delivery.panel_workload),
    "delivery_integrity": (
        "科研诚信记录",
        INTEGRITY_COLUMNS,
        lambda s, e: _with_total(delivery.integrity_summary(s, e)),
    ),
}


TABLES: dict[str, tuple[str, list, Callable[[date, date], list[dict]]]] = {
    "month": ("按月", PERIOD_COLUMNS, _turnover("month")),
    "quarter": ("按季度", PERIOD_COLUMNS, _turnover("quarter")),
    "year": ("按年", PERIOD_COLUMNS, _turnover("year")),
    "county": ("按县区输出与吸纳", COUNTY_COLUMNS, _turnover("county")),
    "field": ("按技术领域", AMOUNT_COLUMNS, _turnover("field")),
    "type": ("按合同类型", AMOUNT_COLUMNS, _turnover("type")),
    "party_kind": ("按卖方类型", AMOUNT_COLUMNS, _turnover("party_kind")),
    "top_sellers": ("卖方排名", AMOUNT_COLUMNS, _top("seller")),
    "top_buyers": ("买方排名", AMOUNT_COLUMNS, _top("buyer")),
    "top_brokers": ("中介机构排名", AMOUNT_COLUMNS, _top("broker")),
    "funnel_challenges": (
        "需求转化漏斗",
        FUNNEL_COLUMNS,
        lambda s, e: services.funnel(s, e)["challenges"],
    ),
    "funnel_results": (
        "成果转化漏斗",
        FUNNEL_COLUMNS,
        lambda s, e: services.funnel(s, e)["results"],
    ),
    "certifications": (
        "机构认定统计",
        CERT_COLUMNS,
        lambda s, e: services.certification_counts(),
    ),
    "register": ("技术合同登记台账", REGISTER_COLUMNS, _register),
    **DELIVERY_TABLES,
}


def _cell(key: str, value):
    if value is None:
        return ""
    if key.endswith("_fen") and isinstance(value, int):
        return wan(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # Spreadsheet formula injection: names come from users.
        return "'" + value
    return value


def _shaped(title: str, columns: list, rows: list[dict]):
    header = [label for _, label in columns]
    body = [[_cell(key, row.get(key)) for key, _ in columns] for row in rows]
    return title, header, body


def table(name: str, start: date, end: date) -> tuple[str, list[str], list[list]]:
    """Title, header and cell rows of a named table (KeyError when unknown)."""
    title, columns, build = TABLES[name]
    return _shaped(title, columns, build(start, end))


def register_table(register_filter: RegisterFilter, user) -> tuple[str, list, list]:
    """Title, header and cell rows of the register under the page's filter."""
    title, columns, _build = TABLES["register"]
    return _shaped(title, columns, register_rows(register_filter, user))


def to_csv(header: list[str], body: list[list]) -> bytes:
    """UTF-8 CSV with a BOM so that Excel reads the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in body:
        writer.writerow([str(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, header: list[str], body: list[list]) -> bytes:
    """A one-sheet workbook; amounts are written as numbers in 万元."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(header)
    for row in body:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, Decimal | float):
                cell.number_format = "0.00####"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
