"""The listings funnel, organisation rankings and certification counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from marketplace.clock import local_day_start
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


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Local dates [start, end] as an aware datetime half-open interval."""
    # In UTC: SQLite drops the zone of a bound value and stores UTC wall times.
    return local_day_start(start), local_day_start(end + timedelta(days=1))


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


def _first_proposals(kind: ProposalKind, column):
    """Subquery: (listing id, time of its first proposal not withdrawn)."""
    return (
        select(column.label("listing_id"), func.min(Proposal.created_at).label("at"))
        .where(Proposal.kind == kind, Proposal.status != ProposalStatus.WITHDRAWN)
        .group_by(column)
        .subquery()
    )


def _first_registrations(column):
    """Subquery: (listing id, time its first contract was registered)."""
    return (
        select(column.label("listing_id"), func.min(Contract.registered_at).label("at"))
        .where(_registered(), column.is_not(None))
        .group_by(column)
        .subquery()
    )


def _reached(listing, low: datetime, high: datetime, *columns, joins=(), where=()):
    # Only the listings that reached a stage come back, for that stage's median.
    query = select(*columns).where(
        listing.published_at >= low, listing.published_at < high, *where
    )
    for target, on, outer in joins:
        query = query.join(target, on, isouter=outer)
    return db.session.execute(query.select_from(listing)).all()


def _count(listing, low: datetime, high: datetime) -> int:
    return db.session.scalar(
        select(func.count(listing.id)).where(
            listing.published_at >= low, listing.published_at < high
        )
    )


def funnel(start: date, end: date) -> dict:
    """Listings published in the range and how far they went, with median days."""
    low, high = _bounds(start, end)
    bids = _first_proposals(ProposalKind.BID, Proposal.challenge_id)
    c_done = _first_registrations(Contract.challenge_id)
    on_bid = bids.c.listing_id == Challenge.id
    with_bids = _reached(
        Challenge, low, high, bids.c.at, Challenge.published_at,
        joins=[(bids, on_bid, False)],
    )  # fmt: skip
    awarded = _reached(
        Challenge, low, high, Challenge.awarded_at, bids.c.at,
        joins=[(bids, on_bid, True)], where=[Challenge.awarded_at.is_not(None)],
    )  # fmt: skip
    contracted = _reached(
        Challenge, low, high, c_done.c.at, Challenge.awarded_at,
        joins=[(c_done, c_done.c.listing_id == Challenge.id, False)],
    )  # fmt: skip
    challenge_rows = _stages(
        [
            ("已发布需求", _count(Challenge, low, high)),
            ("收到方案", len(with_bids)),
            ("已选定", len(awarded)),
            ("已签合同", len(contracted)),
        ],
        [
            _median([_days(*pair) for pair in stage])
            for stage in (with_bids, awarded, contracted)
        ],
    )
    applications = _first_proposals(ProposalKind.ADOPTION, Proposal.result_id)
    r_done = _first_registrations(Contract.result_id)
    on_application = applications.c.listing_id == Result.id
    applied = _reached(
        Result, low, high, applications.c.at, Result.published_at,
        joins=[(applications, on_application, False)],
    )  # fmt: skip
    transferred = _reached(
        Result, low, high, r_done.c.at, applications.c.at,
        joins=[
            (r_done, r_done.c.listing_id == Result.id, False),
            (applications, on_application, True),
        ],
    )  # fmt: skip
    result_rows = _stages(
        [
            ("已发布成果", _count(Result, low, high)),
            ("收到应用申请", len(applied)),
            ("已转化", len(transferred)),
        ],
        [
            _median([_days(*pair) for pair in stage])
            for stage in (applied, transferred)
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
    sums = (
        func.sum(Contract.amount_fen),
        func.sum(Contract.tech_amount_fen),
        func.count(Contract.id),
    )
    where = (_registered(), *_in_range(start, end))
    groups: dict[tuple, dict] = {}
    # A registered party goes by its current name: one SQL group per organisation.
    members = (
        select(org_column, Organisation.name, *sums)
        .join(Organisation, Organisation.id == org_column)
        .where(*where)
        .group_by(org_column, Organisation.name)
    )
    for org_id, name, amount, tech, count in db.session.execute(members):
        groups[("org", org_id)] = _ranked_row(name, False, amount, tech, count)
    if name_column is not None:
        _add_outside(groups, name_column, org_column, sums, where)
    for row in groups.values():
        row["platform"] = PLATFORM_LABELS[row["outside"]]
    ranked = sorted(
        groups.values(), key=lambda r: (-r["contract_amount_fen"], r["label"])
    )[:limit]
    for rank, row in enumerate(ranked, 1):
        row["rank"] = rank
    return ranked


def _ranked_row(label: str, outside: bool, amount, tech, count) -> dict:
    return {
        "label": label,
        "outside": outside,
        "contract_amount_fen": _int(amount),
        "tech_amount_fen": _int(tech),
        "count": int(count),
    }


def _add_outside(groups: dict, name_column, org_column, sums, where) -> None:
    """Outside parties: summed per spelling in SQL, then joined by normalised name."""
    spellings_query = (
        select(name_column, *sums)
        .where(org_column.is_(None), *where)
        .group_by(name_column)
    )
    spellings: dict[tuple, dict[str, int]] = {}
    for name, amount, tech, count in db.session.execute(spellings_query):
        key = ("out", party_key(name))
        row = groups.setdefault(key, _ranked_row(name, True, 0, 0, 0))
        row["contract_amount_fen"] += _int(amount)
        row["tech_amount_fen"] += _int(tech)
        row["count"] += int(count)
        spellings.setdefault(key, {})[name] = int(count)
    for key, counted in spellings.items():
        # The spelling used most often names the group; on a tie, the one on the
        # earliest contract (by signing date, then id).
        most = max(counted.values())
        tied = [name for name, count in counted.items() if count == most]
        if len(tied) > 1:
            tied = [
                db.session.scalar(
                    select(name_column)
                    .where(org_column.is_(None), name_column.in_(tied), *where)
                    .order_by(Contract.signed_on, Contract.id)
                    .limit(1)
                )
            ]
        groups[key]["label"] = tied[0]


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
