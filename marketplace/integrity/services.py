"""Research-integrity records (科研诚信): record, revoke, list and count.

The bureau records misconduct against an organisation (every member is then
barred) or a person (only that person; the record also names their organisation
so the party can find it). While a restriction runs the party may not bid,
apply to adopt results, be named in a consortium or sit on panels, nor may any
decision advance it (permissions.refuse_restricted_org); the checks themselves live
in permissions.py. Recording a restriction tells the owners of listings it has
pending bids or applications on. Nothing commits here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select

from marketplace import audit, glossary, permissions
from marketplace.auth.services import normal_email, user_by_email
from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    MISCONDUCT_TYPES,
    IntegrityRecord,
    MemberStatus,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalMember,
)
from marketplace.proposals.services import PENDING, find_org, proposal_link

MAX_FACTS, MAX_SOURCE, MAX_REASON = 5000, 200, 2000
SUBJECTS = {"org": "机构", "person": "个人"}
STATES = {
    "in_force": "限制期内",
    "expired": "已期满或无限制",
    "revoked": "已撤销",
}
glossary.register_states(STATES, object_type="integrity_records")
# What a restriction in force bars, as the party is told.
BARS = "揭榜申报、申请转化科技成果、作为联合体成员、担任评审专家"


@dataclass
class RecordData:
    """What the bureau types about a finding: plain values."""

    subject: str  # "org" or "person"
    org_text: str  # the organisation's full name or credit code
    email: str  # the person's login e-mail
    misconduct_type: str
    facts: str
    decided_on: date | None
    restricted_until: date | None
    source_document: str


# --- reading -------------------------------------------------------------------


def record_state(record: IntegrityRecord, day: date | None = None) -> str:
    """in_force, expired (over, or no restriction at all) or revoked."""
    if record.revoked_at is not None:
        return "revoked"
    return "in_force" if record.restricts_on(day or local_today()) else "expired"


def state_label(record: IntegrityRecord, day: date | None = None) -> str:
    """The record's state in Chinese, telling apart records with no restriction."""
    state = record_state(record, day)
    if state == "expired" and record.restricted_until is None:
        return "无限制措施"
    if state == "expired" and record.decided_on > (day or local_today()):
        return "尚未生效"
    return {"expired": "限制已期满"}.get(state, STATES[state])


def _in_force(day: date):
    return and_(
        IntegrityRecord.revoked_at.is_(None),
        IntegrityRecord.decided_on <= day,
        IntegrityRecord.restricted_until >= day,
    )


def filter_state(query: Any, state: str, day: date | None = None) -> Any:
    """Narrow a records query to one state (anything else: unchanged)."""
    # local_today(), as permissions.active_restrictions uses, so lists and
    # refusals agree on the same day.
    day = day or local_today()
    if state == "in_force":
        return query.where(_in_force(day))
    if state == "revoked":
        return query.where(IntegrityRecord.revoked_at.is_not(None))
    if state == "expired":
        return query.where(
            IntegrityRecord.revoked_at.is_(None),
            or_(
                IntegrityRecord.restricted_until.is_(None),
                IntegrityRecord.restricted_until < day,
                IntegrityRecord.decided_on > day,
            ),
        )
    return query


def party_records(user: Any) -> list[IntegrityRecord]:
    """Records about the user's organisation (org-wide) and the user personally."""
    if not permissions.is_logged_in(user):
        return []
    return list(
        db.session.scalars(
            select(IntegrityRecord)
            .where(
                or_(
                    and_(
                        IntegrityRecord.org_id == user.org_id,
                        IntegrityRecord.user_id.is_(None),
                    ),
                    IntegrityRecord.user_id == user.id,
                )
            )
            .order_by(IntegrityRecord.decided_on.desc(), IntegrityRecord.id.desc())
        )
    )


# --- verbs ---------------------------------------------------------------------


def _require_bureau(actor: Any) -> None:
    if not permissions.can_record_integrity(actor):
        raise StateError("只有科技局可以记录科研诚信信息。")


def _text(value: str, name: str, label: str, limit: int, multiline=False) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(f"请填写{label}。", name)
    if len(value) > limit:
        raise ServiceError(f"{label}不能超过 {limit} 字。", name)
    for char in value:
        if multiline and char in "\n\r\t":
            continue
        if unicodedata.category(char) in {"Cc", "Cs"} or char in "\u2028\u2029":
            raise ServiceError(f"{label}含有不允许的控制字符。", name)
    return value


def _dates(data: RecordData, today: date) -> None:
    if data.decided_on is None:
        raise ServiceError("请填写处理决定日期。", "decided_on")
    if data.decided_on > today:
        raise ServiceError("处理决定日期不能晚于今天。", "decided_on")
    if data.restricted_until is not None and data.restricted_until < data.decided_on:
        raise ServiceError("限制截止日期不能早于处理决定日期。", "restricted_until")


def _subject(data: RecordData) -> tuple[int, int | None, Any]:
    """(org_id, user_id, the user or None) of the party the record is about."""
    if data.subject == "person":
        email = normal_email(data.email, "email", "当事人邮箱")
        person = user_by_email(email)
        if person is None:
            raise ServiceError(f"没有使用该邮箱的账号：{email}", "email")
        return person.org_id, person.id, person
    if data.subject != "org":
        raise ServiceError("请选择记录对象（机构或个人）。", "subject")
    if not (data.org_text or "").strip():
        raise ServiceError("请填写机构全称或统一社会信用代码。", "org_text")
    org = find_org(data.org_text)
    if org is None:
        raise ServiceError(
            f"找不到机构：{data.org_text.strip()}（请填写全称或信用代码）。", "org_text"
        )
    if org.kind == OrgKind.BUREAU:
        raise ServiceError("不能对科技局本身记录科研诚信信息。", "org_text")
    return org.id, None, None


def _period(record: IntegrityRecord) -> str:
    if record.restricted_until is None:
        return "不设限制期"
    return f"限制期 {record.decided_on:%Y-%m-%d} 至 {record.restricted_until:%Y-%m-%d}"


def record_misconduct(
    actor: Any, data: RecordData, *, now: datetime | None = None
) -> IntegrityRecord:
    """The bureau records a finding against an organisation or a person."""
    _require_bureau(actor)
    if data.misconduct_type not in MISCONDUCT_TYPES:
        raise ServiceError("请选择失信行为类型。", "misconduct_type")
    facts = _text(data.facts, "facts", "失信事实", MAX_FACTS, multiline=True)
    source = _text(data.source_document, "source_document", "处理决定文号", MAX_SOURCE)
    _dates(data, local_today(now))
    org_id, user_id, person = _subject(data)
    record = IntegrityRecord(
        org_id=org_id,
        user_id=user_id,
        misconduct_type=data.misconduct_type,
        facts=facts,
        decided_on=data.decided_on,
        restricted_until=data.restricted_until,
        source_document=source,
        recorded_by_id=actor.id,
        created_at=now or utcnow(),
    )
    db.session.add(record)
    db.session.flush()
    party = person.email if person is not None else record.org.name
    audit.record(
        "integrity_recorded",
        obj=record,
        user=actor,
        to_state=record_state(record),
        note=f"{party}：{record.type_label}，{_period(record)}，{source}",
        at=now,
    )
    _tell_party(
        record,
        person,
        f"科技局记录了科研诚信信息（{record.type_label}，{source}），"
        f"{_period(record)}。",
    )
    _tell_listing_owners(record)
    return record


def _pending_from(org_id: int) -> list[Proposal]:
    # Its own bids and applications, and bids naming it as a consortium member.
    as_member = select(ProposalMember.proposal_id).where(
        ProposalMember.org_id == org_id,
        ProposalMember.status != MemberStatus.DECLINED,
    )
    return list(
        db.session.scalars(
            select(Proposal)
            .where(
                or_(Proposal.org_id == org_id, Proposal.id.in_(as_member)),
                Proposal.status.in_(PENDING),
            )
            .order_by(Proposal.id)
        )
    )


def _tell_listing_owners(record: IntegrityRecord) -> None:
    """Tell owners of listings with pending bids or applications from the party."""
    if record.user_id is not None or record_state(record) != "in_force":
        return
    until = f"{record.restricted_until:%Y-%m-%d}"
    for proposal in _pending_from(record.org_id):
        listing = proposal.challenge or proposal.result
        if listing is None:
            continue
        is_bid = proposal.kind == ProposalKind.BID
        what = "申报" if is_bid else "转化申请"
        audit.notify_org(
            listing.org_id,
            f"{record.org.name} 受科研诚信限制至 {until}，"
            f"涉及其的对“{listing.title[:60]}”的{what}在此之前不能入围、中选或获准。",
            proposal_link(proposal) if is_bid else f"/results/{listing.id}",
        )


def _tell_party(record: IntegrityRecord, person: Any, message: str) -> None:
    link = f"/integrity/{record.id}"
    if person is not None:
        audit.notify([person], message, link)
    else:
        audit.notify_org(record.org_id, message, link)


def lock_record(record: IntegrityRecord) -> IntegrityRecord:
    """Reload the record with a row lock so two revocations cannot both pass."""
    return db.session.execute(
        select(IntegrityRecord)
        .where(IntegrityRecord.id == record.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def revoke_record(record: IntegrityRecord, actor: Any, reason: str) -> None:
    """The bureau revokes a record (e.g. the decision was overturned), with reason."""
    _require_bureau(actor)
    reason = _text(reason, "reason", "撤销理由", MAX_REASON, multiline=True)
    record = lock_record(record)
    if record.revoked_at is not None:
        raise StateError("该记录已撤销。")
    before = record_state(record)
    record.revoked_at, record.revoke_reason = utcnow(), reason
    audit.record(
        "integrity_revoked",
        obj=record,
        user=actor,
        from_state=before,
        to_state="revoked",
        note=reason,
    )
    _tell_party(
        record,
        record.user,
        f"科技局已撤销科研诚信记录（{record.type_label}，{record.source_document}）。",
    )
