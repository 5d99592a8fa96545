"""The listings funnel, organisation rankings and certification counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.identifiers import compact
from marketplace.models import (
    Challenge,
    Contract,
    ContractStatus,
    Organisation,
    Proposal,
    Result,
)
from marketplace.models.org import OrgCertification
from marketplace.models.proposal import ProposalKind, ProposalStatus
from marketplace.stats.columns import PLATFORM_LABELS


def _registered():
    return Contract.status == ContractStatus.REGISTERED


def _in_range(start: date, end: date):
    return (Contract.signed_on >= start, Contract.signed_on <= end)


def _int(value) -> int:
    return int(value or 0)


def _zone() -> ZoneInfo:
    name = "Asia/Shanghai"
    if has_app_context():
        name = current_app.config.get("DISPLAY_TIMEZONE", name)
    return ZoneInfo(name)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Local dates [start, end] as an aware datetime half-open interval."""
    zone = _zone()
    # In UTC: SQLite drops the zone of a bound value and stores UTC wall times.
    return (
        datetime.combine(start, time.min, zone).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC),
    )


def _days(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    if later.tzinfo is None:
        later = later.replace(tzinfo=ZoneInfo("UTC"))
    if earlier.tzinfo is None:
        earlier = earlier.replace(tzinfo=ZoneInfo("UTC"))
    return (later - earlier).total_seconds() / 86400


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    # + 0.0: a median a few minutes below zero rounds to -0.0, shown as "-0.0".
    return round(median(present), 1) + 0.0 if present else None


def _rate(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def _stages(names_counts: list[tuple[str, int]], medians: list) -> list[dict]:
    rows = []
    for i, (label, count) in enumerate(names_counts):
        previous = names_counts[i - 1][1] if i else None
        rows.append(
            {
                "key": str(i),
                "label": label,
                "count": count,
                "conversion_pct": _rate(count, previous) if i else None,
                "median_days": medians[i - 1] if i else None,
            }
        )
    return rows


def _first_proposals(kind: ProposalKind, column) -> dict[int, datetime]:
    query = (
        select(column, func.min(Proposal.created_at))
        .where(Proposal.kind == kind, Proposal.status != ProposalStatus.WITHDRAWN)
        .group_by(column)
    )
    return dict(db.session.execute(query).all())


def _first_registrations(column) -> dict[int, datetime]:
    query = (
        select(column, func.min(Contract.registered_at))
        .where(_registered(), column.is_not(None))
        .group_by(column)
    )
    return dict(db.session.execute(query).all())


def funnel(start: date, end: date) -> dict:
    """Listings published in the range and how far they went, with median days."""
    low, high = _bounds(start, end)
    challenges = db.session.execute(
        select(Challenge.id, Challenge.published_at, Challenge.awarded_at).where(
            Challenge.published_at >= low, Challenge.published_at < high
        )
    ).all()
    bids = _first_proposals(ProposalKind.BID, Proposal.challenge_id)
    c_done = _first_registrations(Contract.challenge_id)
    with_bids = [c for c in challenges if c.id in bids]
    awarded = [c for c in challenges if c.awarded_at is not None]
    contracted = [c for c in challenges if c.id in c_done]
    challenge_rows = _stages(
        [
            ("已发布需求", len(challenges)),
            ("收到方案", len(with_bids)),
            ("已选定", len(awarded)),
            ("已签合同", len(contracted)),
        ],
        [
            _median([_days(bids[c.id], c.published_at) for c in with_bids]),
            _median([_days(c.awarded_at, bids.get(c.id)) for c in awarded]),
            _median([_days(c_done[c.id], c.awarded_at) for c in contracted]),
        ],
    )
    results = db.session.execute(
        select(Result.id, Result.published_at).where(
            Result.published_at >= low, Result.published_at < high
        )
    ).all()
    applications = _first_proposals(ProposalKind.ADOPTION, Proposal.result_id)
    r_done = _first_registrations(Contract.result_id)
    applied = [r for r in results if r.id in applications]
    transferred = [r for r in results if r.id in r_done]
    result_rows = _stages(
        [
            ("已发布成果", len(results)),
            ("收到应用申请", len(applied)),
            ("已转化", len(transferred)),
        ],
        [
            _median([_days(applications[r.id], r.published_at) for r in applied]),
            _median([_days(r_done[r.id], applications.get(r.id)) for r in transferred]),
        ],
    )
    return {"challenges": challenge_rows, "results": result_rows}


def party_key(name: str) -> str:
    """A party's name as typed, normalised for grouping (全角、空格、大小写)."""
    return compact(name).casefold()


def top_orgs(start: date, end: date, role: str, limit: int = 10) -> list[dict]:
    """Parties ranked by turnover as seller, buyer or broker.

    Buyers and sellers outside the platform count too: a contract names them
    by name only, so they are grouped by the normalised name and marked 平台外.
    Brokers are always organisations on the platform.
    """
    org_column, name_column = {
        "seller": (Contract.seller_org_id, Contract.seller_name),
        "buyer": (Contract.buyer_org_id, Contract.buyer_name),
        "broker": (Contract.broker_org_id, None),
    }[role]
    # A registered party goes by its current name, an outside one by the contract's.
    name = Organisation.name
    if name_column is not None:
        name = func.coalesce(Organisation.name, name_column)
    query = (
        select(org_column, name, Contract.amount_fen, Contract.tech_amount_fen)
        .select_from(Contract)
        .outerjoin(Organisation, Organisation.id == org_column)
        .where(_registered(), *_in_range(start, end))
        .order_by(Contract.signed_on, Contract.id)
    )
    if name_column is None:
        query = query.where(org_column.is_not(None))
    groups: dict[tuple, dict] = {}
    spellings: dict[tuple, dict[str, int]] = {}
    for org_id, name, amount, tech in db.session.execute(query):
        key = ("org", org_id) if org_id is not None else ("out", party_key(name))
        row = groups.setdefault(
            key,
            {
                "label": name,
                "outside": org_id is None,
                "contract_amount_fen": 0,
                "tech_amount_fen": 0,
                "count": 0,
            },
        )
        row["contract_amount_fen"] += amount
        row["tech_amount_fen"] += tech
        row["count"] += 1
        counted = spellings.setdefault(key, {})
        counted[name] = counted.get(name, 0) + 1
    for key, row in groups.items():
        if row["outside"]:
            # The spelling used most often names the group (first one on a tie).
            row["label"] = max(spellings[key], key=spellings[key].__getitem__)
        row["platform"] = PLATFORM_LABELS[row["outside"]]
    ranked = sorted(
        groups.values(), key=lambda r: (-r["contract_amount_fen"], r["label"])
    )[:limit]
    for rank, row in enumerate(ranked, 1):
        row["rank"] = rank
    return ranked


def certification_counts() -> list[dict]:
    """How many organisations hold each certification tag."""
    query = (
        select(OrgCertification.tag, func.count(func.distinct(OrgCertification.org_id)))
        .group_by(OrgCertification.tag)
        .order_by(func.count(func.distinct(OrgCertification.org_id)).desc())
    )
    return [
        {"key": tag, "label": tag, "count": int(count)}
        for tag, count in db.session.execute(query)
    ]
