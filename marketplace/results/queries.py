"""Read-only result queries: the list, the organisation's own records, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, and_, cast, or_, select

from marketplace import permissions
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Proposal,
    ProposalKind,
    Result,
    ResultStatus,
    TechField,
    User,
)
from marketplace.results.services import MATURITY_BANDS, TRANSFER_MODES

# --- timeline ----------------------------------------------------------------------


def timeline(result: Result, limit: int = 200) -> list[tuple[AuditEvent, str]]:
    """Audit events on the result and its applications, newest first, with actor."""
    proposal_ids = select(Proposal.id).where(Proposal.result_id == result.id)
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                or_(
                    and_(
                        AuditEvent.object_type == Result.__tablename__,
                        AuditEvent.object_id == result.id,
                    ),
                    and_(
                        AuditEvent.object_type == Proposal.__tablename__,
                        AuditEvent.object_id.in_(proposal_ids),
                    ),
                )
            )
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
    user_ids = {e.user_id for e in events if e.user_id is not None}
    names = {
        u.id: u.name or u.email
        for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    return [(e, names.get(e.user_id, "系统")) for e in events]


# --- the organisation's own records ------------------------------------------------


def own_results(org_id: int) -> list[Result]:
    """The organisation's results in every state, newest first."""
    return list(
        db.session.scalars(
            select(Result)
            .where(Result.org_id == org_id)
            .order_by(Result.created_at.desc(), Result.id.desc())
        )
    )


def own_applications(org_id: int) -> list[Proposal]:
    """The organisation's adoption applications, newest first."""
    return list(
        db.session.scalars(
            select(Proposal)
            .where(
                Proposal.kind == ProposalKind.ADOPTION,
                Proposal.org_id == org_id,
            )
            .order_by(Proposal.created_at.desc(), Proposal.id.desc())
        )
    )


# --- lists ------------------------------------------------------------------------


@dataclass
class ListQuery:
    """Filters and sort order of the result list (already validated)."""

    q: str = ""
    field_code: str = ""
    maturity: str = ""
    mode: str = ""
    min_fen: int | None = None
    max_fen: int | None = None
    sort: str = "newest"


SORTS = {
    "newest": "最新发布",
    "price_asc": "价格从低到高",
    "price_desc": "价格从高到低",
}


def _mode_filter(mode: str):
    # transfer_modes is a JSON list; its text holds the quoted value either as
    # written or \u-escaped (json.dumps' default), on SQLite and PostgreSQL alike.
    # The modes are a fixed list, so no LIKE wildcards can come from the user.
    text = cast(Result.transfer_modes, String)
    escaped = "".join(f"\\u{ord(c):04x}" for c in mode)
    return or_(
        text.like(f'%"{mode}"%', escape="!"), text.like(f'%"{escaped}"%', escape="!")
    )


def list_query(user: Any, q: ListQuery) -> Select:
    """The results the list shows: visible ones on the market, filtered and sorted."""
    query = permissions.visible_results(user).where(
        Result.status.in_(permissions.PUBLIC_RESULT_STATES),
        # Overdue ones the sweep has not reached yet are already off the market.
        or_(
            Result.status != ResultStatus.PUBLISHED,
            Result.valid_until.is_(None),
            Result.valid_until >= local_today(),
        ),
    )
    if q.field_code:
        query = query.join(TechField, TechField.id == Result.field_id).where(
            TechField.code == q.field_code
        )
    if q.maturity in MATURITY_BANDS:
        _, low, high = MATURITY_BANDS[q.maturity]
        query = query.where(Result.trl.between(low, high))
    if q.mode in TRANSFER_MODES:
        query = query.where(_mode_filter(q.mode))
    if q.min_fen is not None:
        query = query.where(Result.price_fen >= q.min_fen)
    if q.max_fen is not None:
        query = query.where(Result.price_fen <= q.max_fen)
    if q.q:
        query = query.where(Result.title.contains(q.q, autoescape=True))
    if q.sort == "price_asc":
        order = (Result.price_fen.is_(None), Result.price_fen, Result.id.desc())
    elif q.sort == "price_desc":
        order = (Result.price_fen.is_(None), Result.price_fen.desc(), Result.id.desc())
    else:
        order = (
            Result.published_at.is_(None),
            Result.published_at.desc(),
            Result.id.desc(),
        )
    return query.order_by(*order)
