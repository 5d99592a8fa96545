"""Turnover figures over registered contracts, counted the way the bureau counts."""

from __future__ import annotations

from datetime import date

from sqlalchemy import extract, func, select
from sqlalchemy.orm import aliased

from marketplace.clock import local_today
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import (
    CONTRACT_TYPE_LABELS,
    Contract,
    ContractStatus,
    ContractType,
    Organisation,
    Payment,
    Region,
    TechField,
)
from marketplace.models.org import ORG_KIND_LABELS, OrgKind
from marketplace.stats import columns
from marketplace.stats.targets import (  # noqa: F401  (callers use these)
    CITY,
    all_targets,
    ensure_default_targets,
    set_target,
    target_for,
)

BY_CHOICES = ("month", "quarter", "year", "county", "field", "type", "party_kind")
MAX_SPAN_DAYS = 366 * 30
FIRST_YEAR, LAST_YEAR = 1900, 2100
OUTSIDE_KEY = "outside"


def _registered():
    return Contract.status == ContractStatus.REGISTERED


def _in_range(start: date, end: date):
    return (Contract.signed_on >= start, Contract.signed_on <= end)


def _int(value) -> int:
    # PostgreSQL's SUM(bigint) is numeric; SQLite's is an integer. Both exact.
    return int(value or 0)


def check_range(start: date | None, end: date | None) -> tuple[date, date]:
    """The range to count; default this year; refuses a reversed or huge range."""
    today = local_today()
    start = start or date(today.year, 1, 1)
    end = end or date(today.year, 12, 31)
    if start.year < FIRST_YEAR or end.year > LAST_YEAR:
        # Dates near year 1 or 9999 overflowed the year-on-year comparison.
        raise ServiceError(
            f"统计日期须在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间。", field="start"
        )
    if end < start:
        raise ServiceError("结束日期不能早于开始日期。", field="end")
    if (end - start).days > MAX_SPAN_DAYS:
        raise ServiceError("统计区间不能超过 30 年。", field="end")
    return start, end


def _total(rows: list[dict], keys: tuple[str, ...]) -> dict:
    total = {"key": "total", "label": "合计"}
    for name in keys:
        total[name] = sum(row[name] for row in rows)
    return total


AMOUNT_KEYS = ("contract_amount_fen", "tech_amount_fen", "count")
PERIOD_KEYS = (*AMOUNT_KEYS, "payments_fen")


def _period_key(day: date, by: str) -> str:
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    if by == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def _registered_payment():
    # "Its contract is registered" as NOT IN the few others: the database reads
    # the payments in one pass instead of looking each one's contract up.
    others = select(Contract.id).where(Contract.status != ContractStatus.REGISTERED)
    return Payment.contract_id.not_in(others)


def _month_sums(column, figures: list, *where) -> list:
    """(first day of the month, *sums) per month, summed in SQL."""
    # extract() is CAST(STRFTIME(...)) on SQLite and EXTRACT on PostgreSQL alike.
    parts = (extract("year", column), extract("month", column))
    query = select(*parts, *figures).where(*where).group_by(*parts)
    return [
        (date(int(year), int(month), 1), *sums)
        for year, month, *sums in db.session.execute(query)
    ]


def monthly(start: date, end: date) -> dict[date, dict]:
    """Figures of every month with a contract signed or money received, by month."""
    months: dict[date, dict] = {}

    def month(day: date) -> dict:
        return months.setdefault(day, dict.fromkeys(PERIOD_KEYS, 0))

    signed = _month_sums(
        Contract.signed_on,
        [
            func.sum(Contract.amount_fen),
            func.sum(Contract.tech_amount_fen),
            func.count(Contract.id),
        ],
        _registered(),
        *_in_range(start, end),
    )
    for day, amount, tech, count in signed:
        figures = month(day)
        figures["contract_amount_fen"] = _int(amount)
        figures["tech_amount_fen"] = _int(tech)
        figures["count"] = int(count)
    # Money received in a period counts there, whenever its contract was signed.
    received = _month_sums(
        Payment.received_on,
        [func.sum(Payment.amount_fen)],
        _registered_payment(),
        Payment.received_on >= start,
        Payment.received_on <= end,
    )
    for day, amount in received:
        month(day)["payments_fen"] = _int(amount)
    return months


def _by_period(months: dict[date, dict], by: str) -> list[dict]:
    # A quarter or a year adds up its months.
    rows: dict[str, dict] = {}
    for day, figures in months.items():
        key = _period_key(day, by)
        row = rows.setdefault(
            key, {"key": key, "label": key, **dict.fromkeys(PERIOD_KEYS, 0)}
        )
        for name in PERIOD_KEYS:
            row[name] += figures[name]
    return [rows[key] for key in sorted(rows)]


def _grouped(column, start: date, end: date, *joins) -> dict:
    query = select(
        column,
        func.sum(Contract.amount_fen),
        func.sum(Contract.tech_amount_fen),
        func.count(Contract.id),
    ).where(_registered(), *_in_range(start, end))
    if joins:
        query = query.select_from(Contract)
        for join in joins:
            query = query.outerjoin(*join)
    out = {}
    for key, amount, tech, count in db.session.execute(query.group_by(column)):
        out[key] = {
            "contract_amount_fen": _int(amount),
            "tech_amount_fen": _int(tech),
            "count": int(count),
        }
    return out


def _rows(grouped: dict, labels: dict) -> list[dict]:
    ordered = [k for k in labels if k in grouped]
    ordered += sorted((k for k in grouped if k not in labels), key=str)
    return [
        {"key": str(k), "label": labels.get(k, str(k)), **grouped[k]} for k in ordered
    ]


def _region_labels() -> dict[str, str]:
    regions = db.session.scalars(select(Region).order_by(Region.sort_order))
    return {r.code: r.name for r in regions}


def _by_county(start: date, end: date) -> list[dict]:
    output = _grouped(Contract.seller_region_code, start, end)
    absorption = _grouped(Contract.buyer_region_code, start, end)
    labels = _region_labels()
    keys = [k for k in labels if k in output or k in absorption]
    rows = []
    for key in keys:
        out = output.get(key, {})
        absorbed = absorption.get(key, {})
        rows.append(
            {
                "key": key,
                "label": labels[key],
                "output_fen": out.get("contract_amount_fen", 0),
                "absorption_fen": absorbed.get("contract_amount_fen", 0),
                "output_count": out.get("count", 0),
                "absorption_count": absorbed.get("count", 0),
            }
        )
    return rows


def breakdowns(start: date, end: date) -> dict[str, dict]:
    """Every breakdown of the dashboard; the periods share one pass by month."""
    months = monthly(start, end)
    return {
        by: turnover(start, end, by, months=months if by in PERIODS else None)
        for by in BY_CHOICES
    }


PERIODS = ("month", "quarter", "year")


def turnover(start: date, end: date, by: str, months: dict | None = None) -> dict:
    """Rows of one breakdown over registered contracts signed in [start, end].

    `months` (from monthly() over the same range) spares a period its queries.
    """
    if by not in BY_CHOICES:
        raise ServiceError("不支持的分组方式。", field="by")
    if by in PERIODS:
        rows = _by_period(monthly(start, end) if months is None else months, by)
        return {"by": by, "rows": rows, "total": _total(rows, PERIOD_KEYS)}
    elif by == "county":
        rows = _by_county(start, end)
        return {"by": by, "rows": rows, "total": _county_total(start, end)}
    elif by == "field":
        fields = db.session.scalars(select(TechField).order_by(TechField.sort_order))
        field_codes = {f.id: f.code for f in fields}
        # Blank on the contract: the field of the challenge or result it came from.
        grouped = _grouped(
            columns.effective_field_id(), start, end, *columns.LISTING_JOINS
        )
        labels = {f.code: f.name for f in db.session.scalars(select(TechField))}
        by_code = {field_codes.get(k, "none"): v for k, v in grouped.items()}
        ordered = {c: labels[c] for c in field_codes.values()} | {"none": "未分类"}
        rows = _rows(by_code, ordered)
    elif by == "type":
        grouped = _grouped(Contract.contract_type, start, end)
        grouped = {ContractType(k): v for k, v in grouped.items()}
        rows = _rows(grouped, dict(CONTRACT_TYPE_LABELS))
        for row in rows:
            row["key"] = ContractType(row["key"]).value
    else:
        seller = aliased(Organisation)
        grouped = _grouped(
            seller.kind, start, end, (seller, Contract.seller_org_id == seller.id)
        )
        grouped = {
            (OrgKind(k).value if k else OUTSIDE_KEY): v for k, v in grouped.items()
        }
        labels = {k.value: v for k, v in ORG_KIND_LABELS.items()}
        rows = _rows(grouped, labels | {OUTSIDE_KEY: "平台外单位"})
    return {"by": by, "rows": rows, "total": _total(rows, AMOUNT_KEYS)}


def _county_total(start: date, end: date) -> dict:
    amount, count = db.session.execute(
        select(func.sum(Contract.amount_fen), func.count(Contract.id)).where(
            _registered(), *_in_range(start, end)
        )
    ).one()
    return {
        "key": "total",
        "label": "合计",
        "output_fen": _int(amount),
        "absorption_fen": _int(amount),
        "output_count": int(count),
        "absorption_count": int(count),
    }


def summary(start: date, end: date) -> dict:
    """Totals of the range: both amounts, count and payments received."""
    amount, tech, count = db.session.execute(
        select(
            func.sum(Contract.amount_fen),
            func.sum(Contract.tech_amount_fen),
            func.count(Contract.id),
        ).where(_registered(), *_in_range(start, end))
    ).one()
    return {
        "contract_amount_fen": _int(amount),
        "tech_amount_fen": _int(tech),
        "count": int(count),
        "payments_fen": payments_received(start, end),
    }


def payments_received(start: date, end: date) -> int:
    """Fen received in [start, end] under registered contracts."""
    return _int(
        db.session.scalar(
            select(func.sum(Payment.amount_fen)).where(
                _registered_payment(),
                Payment.received_on >= start,
                Payment.received_on <= end,
            )
        )
    )


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def year_on_year(start: date, end: date, now: dict | None = None) -> dict:
    """This range against the same range one year earlier, with growth in percent.

    `now`, when the caller has it already, is summary(start, end).
    """
    now = summary(start, end) if now is None else now
    before = summary(_year_earlier(start), _year_earlier(end))
    growth = {}
    for key in now:
        growth[key] = (
            round((now[key] - before[key]) * 100 / before[key], 1)
            if before[key]
            else None
        )
    return {"current": now, "previous": before, "growth_pct": growth}


def target_progress(year: int) -> dict:
    """Registered turnover of a year against its city target."""
    target = target_for(year)
    done = _int(
        db.session.scalar(
            select(func.sum(Contract.amount_fen)).where(
                _registered(), *_in_range(date(year, 1, 1), date(year, 12, 31))
            )
        )
    )
    target_fen = target.amount_fen if target else None
    pct = round(done * 100 / target_fen, 1) if target_fen else None
    return {"year": year, "target_fen": target_fen, "done_fen": done, "pct": pct}


# The funnel and rankings live in their own module; re-exported for callers.
from marketplace.stats.rankings import (  # noqa: E402,F401
    certification_counts,
    funnel,
    top_orgs,
)
