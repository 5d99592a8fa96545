"""What each figure counts, and the register's cells: names beside codes, no keys.

The page, the CSV/XLSX exports and the API take their labels from here, so the
money received in a range (到账金额（区间内）) and a contract's money received so
far (累计到账) never share one word.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from marketplace.clock import local_date
from marketplace.extensions import db
from marketplace.models import (
    CONTRACT_TYPE_LABELS,
    Challenge,
    Contract,
    Organisation,
    Region,
    Result,
    TechField,
)
from marketplace.models.contract import (
    CONTRACT_STATUS_LABELS,
)

FIGURE_LABELS = {
    "contract_amount_fen": "合同成交额",
    "tech_amount_fen": "技术交易额",
    "count": "合同数",
    "payments_fen": "到账金额（区间内）",
    "paid_fen": "累计到账",
    "output_fen": "输出额",
    "absorption_fen": "吸纳额",
    "output_count": "输出合同数",
    "absorption_count": "吸纳合同数",
}
FIGURE_NOTES = {
    "contract_amount_fen": "签订日期在区间内的已登记合同的合同成交额合计",
    "tech_amount_fen": "签订日期在区间内的已登记合同的技术交易额合计",
    "count": "签订日期在区间内的已登记合同份数",
    "payments_fen": "收款日期在区间内的到账合计（已登记合同），不论合同何时签订",
    "paid_fen": "合同签订以来的全部到账，截至导出时",
}
PLATFORM_LABELS = {True: "平台外", False: "平台内"}
# By the stored value, so that a state added later still prints (as its value).
STATUS_LABELS = CONTRACT_STATUS_LABELS
UNCLASSIFIED = "未分类"


def pick(texts: dict[str, str], keys: Iterable[str]) -> dict[str, str]:
    """The texts of the figures among `keys`, in their order."""
    return {k: texts[k] for k in keys if k in texts}


def money_header(key: str) -> str:
    """An export heading with its unit: 到账金额（区间内，万元）, 合同成交额（万元）."""
    label = FIGURE_LABELS[key]
    if label.endswith("）"):
        return label[:-1] + "，万元）"
    return label + "（万元）"


def figure_column(key: str) -> tuple[str, str]:
    """(key, heading) of a figure for an export's column list."""
    if key.endswith("_fen"):
        return key, money_header(key)
    return key, FIGURE_LABELS[key]


# Outer joins that effective_field_id() needs in a query selecting from Contract.
LISTING_JOINS = (
    (Challenge, Challenge.id == Contract.challenge_id),
    (Result, Result.id == Contract.result_id),
)


def effective_field_id():
    """A contract's field, else its challenge's, else its result's (SQL expression).

    Contracts recorded before fields were inherited still count under the field
    of the listing they came from, not under 未分类.
    """
    return func.coalesce(Contract.field_id, Challenge.field_id, Result.field_id)


def _local_day(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return local_date(moment).isoformat()


REGISTER_COLUMNS = [
    ("registration_no", "登记号"),
    ("registered_on", "登记日期"),
    ("status", "状态"),
    ("title", "合同名称"),
    ("type", "合同类型"),
    ("field", "技术领域"),
    ("seller", "卖方"),
    ("seller_outside", "卖方是否平台外"),
    ("seller_region", "卖方区划代码"),
    ("seller_region_name", "卖方所在县区"),
    ("buyer", "买方"),
    ("buyer_outside", "买方是否平台外"),
    ("buyer_region", "买方区划代码"),
    ("buyer_region_name", "买方所在县区"),
    ("broker", "中介机构"),
    ("signed_on", "签订日期"),
    figure_column("contract_amount_fen"),
    figure_column("tech_amount_fen"),
    figure_column("paid_fen"),
]
REGISTER_SUMS = ("contract_amount_fen", "tech_amount_fen", "paid_fen")


# Rows of the register are read this many at a time (a server-side cursor on
# PostgreSQL), so an export of the whole register never holds it in memory.
YIELD_PER = 1_000


def _register_select(contracts: Select) -> Select:
    broker = aliased(Organisation)
    query = contracts.with_only_columns(
        Contract.registration_no,
        Contract.registered_at,
        Contract.status,
        Contract.title,
        Contract.contract_type,
        effective_field_id().label("field_id"),
        Contract.seller_name,
        Contract.seller_org_id,
        Contract.seller_region_code,
        Contract.buyer_name,
        Contract.buyer_org_id,
        Contract.buyer_region_code,
        broker.name.label("broker"),
        Contract.signed_on,
        Contract.amount_fen,
        Contract.tech_amount_fen,
        Contract.paid_fen,
    ).select_from(Contract)
    for join in LISTING_JOINS:
        query = query.outerjoin(*join)
    query = query.outerjoin(broker, broker.id == Contract.broker_org_id)
    return query.execution_options(yield_per=YIELD_PER)


def register_rows(contracts: Select) -> Iterator[dict]:
    """One row per contract the query selects, names beside codes, then a 合计 row."""
    regions = dict(db.session.execute(select(Region.code, Region.name)).all())
    names = dict(db.session.execute(select(TechField.id, TechField.name)).all())
    total = {key: "" for key, _ in REGISTER_COLUMNS}
    total["registration_no"] = "合计"
    total |= dict.fromkeys(REGISTER_SUMS, 0)
    for c in db.session.execute(_register_select(contracts)):
        row = {
            "registration_no": c.registration_no or "",
            "registered_on": _local_day(c.registered_at),
            "status": STATUS_LABELS.get(str(c.status), str(c.status)),
            "title": c.title,
            "type": CONTRACT_TYPE_LABELS[c.contract_type],
            "field": names.get(c.field_id, UNCLASSIFIED),
            "seller": c.seller_name,
            "seller_outside": PLATFORM_LABELS[c.seller_org_id is None],
            "seller_region": c.seller_region_code,
            "seller_region_name": regions.get(c.seller_region_code, ""),
            "buyer": c.buyer_name,
            "buyer_outside": PLATFORM_LABELS[c.buyer_org_id is None],
            "buyer_region": c.buyer_region_code,
            "buyer_region_name": regions.get(c.buyer_region_code, ""),
            "broker": c.broker or "",
            "signed_on": c.signed_on.isoformat(),
            "contract_amount_fen": c.amount_fen,
            "tech_amount_fen": c.tech_amount_fen,
            "paid_fen": c.paid_fen,
        }
        for key in REGISTER_SUMS:
            total[key] += row[key]
        yield row
    yield total
