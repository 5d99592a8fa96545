"""Every statistics table, and the contract register, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_login import current_user

from marketplace import permissions
from marketplace.contracts.register import RegisterFilter
from marketplace.stats import columns, delivery, services
from marketplace.stats.columns import REGISTER_COLUMNS, figure_column

FEN_PER_WAN = 1_000_000

# No database keys: the first column names the row (期间, 技术领域, 合同类型 …).
AMOUNT_FIGURES = [
    figure_column(k) for k in ("contract_amount_fen", "tech_amount_fen", "count")
]
PERIOD_COLUMNS = [("label", "期间"), *AMOUNT_FIGURES, figure_column("payments_fen")]
COUNTY_COLUMNS = [
    ("key", "区划代码"),
    ("label", "县区"),
    *(
        figure_column(k)
        for k in ("output_fen", "absorption_fen", "output_count", "absorption_count")
    ),
]


def _named(heading: str) -> list[tuple[str, str]]:
    return [("label", heading), *AMOUNT_FIGURES]


RANK_COLUMNS = [
    ("rank", "名次"),
    ("label", "名称"),
    ("platform", "平台内外"),
    *AMOUNT_FIGURES,
]
FUNNEL_COLUMNS = [
    ("label", "环节"),
    ("count", "数量"),
    ("conversion_pct", "转化率（%）"),
    ("median_days", "中位天数"),
]
CERT_COLUMNS = [("label", "认定类型"), ("count", "机构数")]


def wan(fen: int) -> Decimal:
    """Fen as 万元 to two decimals (0.01 万元 = 100 元), rounded half up."""
    return (Decimal(fen) / FEN_PER_WAN).quantize(Decimal("0.01"), ROUND_HALF_UP)


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


def register_rows(register_filter: RegisterFilter, user) -> Iterator[dict]:
    """The register's rows the filter selects (as the page shows them) and a total."""
    return columns.register_rows(permissions.visible_register(user, register_filter))


# --- 揭榜挂帅 delivery: projects, milestones, checks, exemptions, panels, integrity


STAGE_COLUMNS = [
    ("label", "阶段"),
    ("count", "项目数"),
    ("budget_fen", "项目经费（万元）"),
    ("released_fen", "已拨付（万元）"),
    ("released_pct", "拨付比例（%）"),
]
MILESTONE_COLUMNS = [("label", "里程碑"), ("count", "数量")]
ACCEPTANCE_COLUMNS = [
    ("label", "类型"),
    *[(c.value, label) for c, label in delivery.CONCLUSION_LABELS.items()],
    ("pending", "待结论"),
    ("total", "合计"),
]
EXEMPTION_COLUMNS = [("label", "容错免责"), ("count", "数量")]
WORKLOAD_COLUMNS = [
    ("label", "专家"),
    ("title", "职称"),
    ("org", "工作单位"),
    ("panels", "参加评审组"),
    ("completed", "已完成评审组"),
    ("pending", "当前待提交"),
]
INTEGRITY_COLUMNS = [
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
    "field": ("按技术领域", _named("技术领域"), _turnover("field")),
    "type": ("按合同类型", _named("合同类型"), _turnover("type")),
    "party_kind": ("按卖方类型", _named("卖方类型"), _turnover("party_kind")),
    "top_sellers": ("卖方排名（含平台外单位）", RANK_COLUMNS, _top("seller")),
    "top_buyers": ("买方排名（含平台外单位）", RANK_COLUMNS, _top("buyer")),
    "top_brokers": ("中介机构排名", RANK_COLUMNS, _top("broker")),
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


def _cells(columns: list, rows: Iterable[dict]) -> Iterator[list]:
    for row in rows:
        yield [_cell(key, row.get(key)) for key, _ in columns]


def _shaped(title: str, columns: list, rows: Iterable[dict]):
    # The body is produced row by row, as the caller writes it out.
    return title, [label for _, label in columns], _cells(columns, rows)


def table(name: str, start: date, end: date) -> tuple[str, list[str], Iterator[list]]:
    """Title, header and cell rows of a named table (KeyError when unknown)."""
    title, columns, build = TABLES[name]
    return _shaped(title, columns, build(start, end))


def register_table(register_filter: RegisterFilter, user) -> tuple[str, list, Iterator]:
    """Title, header and cell rows of the register under the page's filter."""
    title, columns, _build = TABLES["register"]
    return _shaped(title, columns, register_rows(register_filter, user))


CSV_ROWS_PER_CHUNK = 500


def csv_chunks(header: list[str], body: Iterable[list]) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (Excel reads the Chinese), some hundred rows a piece."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(body, 1):
        writer.writerow([str(v) for v in row])
        if n % CSV_ROWS_PER_CHUNK == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def to_csv(header: list[str], body: Iterable[list]) -> bytes:
    """UTF-8 CSV with a BOM so that Excel reads the Chinese."""
    return b"".join(csv_chunks(header, body))


XLSX_CHUNK = 64 * 1024


def xlsx_chunks(title: str, header: list[str], body: Iterable[list]) -> Iterator[bytes]:
    """A one-sheet workbook written row by row; amounts as numbers in 万元.

    A workbook is a zip whose directory comes last, so the first bytes leave only
    when the sheet is complete; it is built in write-only mode in a spooled file.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(header)
    for row in body:
        cells = []
        for value in row:
            if isinstance(value, Decimal | float):
                value = WriteOnlyCell(sheet, value=value)
                value.number_format = "0.00"
            cells.append(value)
        sheet.append(cells)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buffer:
        book.save(buffer)
        buffer.seek(0)
        while chunk := buffer.read(XLSX_CHUNK):
            yield chunk
