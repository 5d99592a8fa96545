"""The integrity restriction rule: restrictions in force and refusals they cause."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_, select

from marketplace.clock import local_today
from marketplace.exceptions import StateError
from marketplace.extensions import db
from marketplace.models import IntegrityRecord, Organisation
from marketplace.permissions.roles import is_logged_in


def active_restrictions(user: Any, on: Any = None) -> list[IntegrityRecord]:
    """Integrity restrictions in force against the user or their organisation."""
    if not is_logged_in(user):
        return []

    day = on or local_today()
    return list(
        db.session.scalars(
            select(IntegrityRecord)
            .where(
                or_(
                    and_(
                        IntegrityRecord.org_id == user.org_id,
                        IntegrityRecord.user_id.is_(None),
                    ),
                    # `== None` would be IS NULL: every org-wide record.
                    IntegrityRecord.user_id == user.id
                    if user.id is not None
                    else false(),
                ),
                IntegrityRecord.revoked_at.is_(None),
                IntegrityRecord.decided_on <= day,
                IntegrityRecord.restricted_until >= day,
            )
            .order_by(IntegrityRecord.restricted_until.desc())
        )
    )


def org_restriction(org_id: int | None, on: Any = None) -> IntegrityRecord | None:
    """The organisation-wide restriction in force (the longest running), if any."""
    if org_id is None:
        return None

    day = on or local_today()
    return db.session.scalar(
        select(IntegrityRecord)
        .where(
            IntegrityRecord.org_id == org_id,
            IntegrityRecord.user_id.is_(None),
            IntegrityRecord.revoked_at.is_(None),
            IntegrityRecord.decided_on <= day,
            IntegrityRecord.restricted_until >= day,
        )
        .order_by(IntegrityRecord.restricted_until.desc())
        .limit(1)
    )


def org_restricted(org_id: int, on: Any = None) -> bool:
    """Whether an organisation-wide integrity restriction is in force."""
    return org_restriction(org_id, on) is not None


def refuse_restricted_org(
    org: Organisation | None, consequence: str, field: str | None = None
) -> None:
    """Refuse, saying why, a decision that would advance a restricted organisation.

    One rule for every decision (bid decisions, adoption, consortium, deals,
    contracts, direct award): a restriction recorded after the party applied
    still holds when the other side decides.
    """
    record = org_restriction(org.id) if org is not None else None
    if record is not None:
        raise StateError(
            f"“{org.name}”处于科研诚信限制期内（{record.source_document}，"
            f"至 {record.restricted_until:%Y-%m-%d}），{consequence}。",
            field,
        )


def restriction_notice(user: Any) -> str:
    """Why a restricted user may not bid, adopt or sit on panels ("" if free)."""
    records = active_restrictions(user)
    if not records:
        return ""
    first = records[0]
    return (
        f"因科研诚信记录（{first.type_label}，{first.source_document}），"
        f"{first.restricted_until:%Y-%m-%d} 前不得揭榜、承接成果或担任评审专家。"
    )
