"""Deal verbs: open a deal from an explained match."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from marketplace import audit, permissions
from marketplace.exceptions import StateError
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    Deal,
    DealEvent,
    DealStage,
    OrgKind,
    Result,
)


def open_deal_from_match(user: Any, challenge: Challenge, result: Result) -> Deal:
    """A lead between a challenge's poster and a result's owner, once per pair."""
    if not permissions.can_start_deal(user, challenge, result):
        raise StateError("只有双方机构或技术转移机构可以发起撮合。")
    if challenge.org_id == result.org_id:
        raise StateError("需求方和成果方是同一机构，无需撮合。")
    existing = db.session.scalar(
        select(Deal).where(
            Deal.challenge_id == challenge.id,
            Deal.result_id == result.id,
            Deal.stage != DealStage.LOST,
        )
    )
    if existing is not None:
        return existing
    broker = user.org if user.org.kind == OrgKind.AGENCY else None
    deal = Deal(
        title=f"{challenge.title[:90]} × {result.title[:90]}",
        demand_org_id=challenge.org_id,
        supply_org_id=result.org_id,
        challenge_id=challenge.id,
        result_id=result.id,
        broker_org_id=broker.id if broker else None,
        broker_user_id=user.id if broker else None,
        created_by_id=user.id,
    )
    db.session.add(deal)
    db.session.flush()
    db.session.add(
        DealEvent(
            deal_id=deal.id,
            user_id=user.id,
            org_id=user.org_id,
            to_stage=DealStage.LEAD,
            note="由智能匹配发起",
        )
    )
    audit.record("deal_opened", obj=deal, to_state=DealStage.LEAD, note="from match")
    message = f"新的撮合线索：{deal.title[:120]}"
    for org_id in {challenge.org_id, result.org_id} - {user.org_id}:
        audit.notify_org(org_id, message, f"/challenges/{challenge.id}")
    return deal
