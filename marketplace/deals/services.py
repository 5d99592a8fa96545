"""Deal verbs: open a deal (from a match, a proposal or scratch), move it, note it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, permissions
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    Deal,
    DealEvent,
    DealStage,
    Organisation,
    OrgKind,
    Proposal,
    ProposalKind,
    Result,
)
from marketplace.models.deal import (
    STAGE_LABELS,
)

# One step forward or back, lost from any open stage, and a lost deal may be
# reopened as a lead (talks often resume).  Signed is reached only when the
# bureau registers the contract, so no manual move leads there or out of it.
STAGE_MOVES: dict[str, frozenset[str]] = {
    DealStage.LEAD: frozenset({DealStage.CONTACTED, DealStage.LOST}),
    DealStage.CONTACTED: frozenset(
        {DealStage.LEAD, DealStage.NEGOTIATING, DealStage.LOST}
    ),
    DealStage.NEGOTIATING: frozenset({DealStage.CONTACTED, DealStage.LOST}),
    DealStage.LOST: frozenset({DealStage.LEAD}),
    DealStage.SIGNED: frozenset(),
}

NOTE_MAX = 2000


# --- helpers ------------------------------------------------------------------


def find_org(text: str | None) -> Organisation | None:
    """A verified, non-bureau organisation by exact name or credit code."""
    text = (text or "").strip()
    if not text:
        return None
    return db.session.scalar(
        select(Organisation).where(
            or_(Organisation.name == text, Organisation.credit_code == text.upper()),
            Organisation.verified.is_(True),
            Organisation.kind != OrgKind.BUREAU,
        )
    )


def _resolve(org: Organisation | str | None, field: str) -> Organisation:
    if isinstance(org, Organisation):
        resolved: Organisation | None = org
    else:
        resolved = find_org(org)
    if resolved is None or not resolved.verified or resolved.is_bureau:
        raise ServiceError(
            "未找到该机构（请填写已认证机构的全称或统一社会信用代码）。", field=field
        )
    return resolved


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(f"备注不能超过 {NOTE_MAX} 字。", field="note")
    return note


def _notify_others(deal: Deal, user: Any, message: str) -> None:
    org_ids = {deal.demand_org_id, deal.supply_org_id, deal.broker_org_id}
    for org_id in org_ids - {user.org_id, None}:
        audit.notify_org(org_id, message, f"/deals/{deal.id}")


def _event(deal: Deal, user: Any, note: str, from_stage=None, to_stage=None) -> None:
    db.session.add(
        DealEvent(
            deal_id=deal.id,
            user_id=user.id,
            org_id=user.org_id,
            from_stage=str(from_stage) if from_stage else None,
            to_stage=str(to_stage) if to_stage else None,
            note=note,
        )
    )
    # Notes count as activity on the board, not only column changes.
    deal.updated_at = utcnow()


def _attribute_broker(deal: Deal, user: Any) -> None:
    # The first broker member to work a deal is the one it is credited to.
    if deal.broker_org_id == user.org_id and deal.broker_user_id is None:
        deal.broker_user_id = user.id


def _refuse_restricted(
    demand: Organisation, supply: Organisation, broker: Organisation | None
) -> None:
    permissions.refuse_restricted_org(demand, "不能作为撮合项目的需求方", "demand_org")
    permissions.refuse_restricted_org(supply, "不能作为撮合项目的供给方", "supply_org")
    if broker is not None and broker.kind in permissions.BROKER_KINDS:
        permissions.refuse_restricted_org(broker, "不能居间撮合")


def deal_for_proposal(proposal: Proposal) -> Deal | None:
    """The deal opened when this proposal was awarded or accepted, if any."""
    return db.session.scalar(select(Deal).where(Deal.proposal_id == proposal.id))


def open_deal_between(challenge: Challenge, result: Result) -> Deal | None:
    """The deal not given up on between this challenge and this result, if any."""
    return db.session.scalar(
        select(Deal)
        .where(
            Deal.challenge_id == challenge.id,
            Deal.result_id == result.id,
            Deal.stage != DealStage.LOST,
        )
        .order_by(Deal.id)
        .limit(1)
    )


# --- verbs --------------------------------------------------------------------


def open_from_proposal(proposal: Proposal, user: Any, note: str, refusal: str) -> Deal:
    """The lead a decided proposal opens: a winning bid or an accepted adoption."""
    if proposal.kind == ProposalKind.ADOPTION:
        result = proposal.result
        title, demand_id, supply_id = result.title, proposal.org_id, result.org_id
        challenge_id, result_id = None, result.id
    else:
        challenge = proposal.challenge
        title, demand_id, supply_id = challenge.title, challenge.org_id, proposal.org_id
        challenge_id, result_id = challenge.id, None
    deal = Deal(
        title=title[:200],
        demand_org_id=demand_id,
        supply_org_id=supply_id,
        challenge_id=challenge_id,
        result_id=result_id,
        proposal_id=proposal.id,
        created_by_id=user.id,
        stage=DealStage.LEAD,
    )
    deal.events.append(
        DealEvent(
            user_id=user.id, org_id=user.org_id, to_stage=DealStage.LEAD, note=note
        )
    )
    try:
        # deals.proposal_id is unique: a second decision racing this one fails here.
        with db.session.begin_nested():
            db.session.add(deal)
            db.session.flush()
    except IntegrityError:
        raise StateError(refusal) from None
    audit.record("deal_opened", obj=deal, user=user, to_state=DealStage.LEAD)
    return deal


def open_deal_from_match(user: Any, challenge: Challenge, result: Result) -> Deal:
    """A lead between a challenge's poster and a result's owner, once per pair."""
    if not permissions.can_start_deal(user, challenge, result):
        raise StateError("只有双方机构或技术转移机构可以发起撮合。")
    if challenge.org_id == result.org_id:
        raise StateError("需求方和成果方是同一机构，无需撮合。")
    _refuse_restricted(challenge.org, result.org, user.org)
    existing = open_deal_between(challenge, result)
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
        audit.notify_org(org_id, message, f"/deals/{deal.id}")
    return deal


def create_deal(
    user: Any,
    demand_org: Organisation | str | None,
    supply_org: Organisation | str | None,
    title: str,
    challenge: Challenge | None = None,
    result: Result | None = None,
    proposal: Proposal | None = None,
) -> Deal:
    """Open a deal between two organisations; a decided proposal returns its deal."""
    if not permissions.can_create_deal(user):
        raise ServiceError("只有已认证机构的成员可以发起撮合项目。")
    if proposal is not None:
        existing = deal_for_proposal(proposal)
        if existing is not None:
            return existing
        raise StateError("该申报尚未中选或获准，中选后会自动生成撮合项目。")
    if challenge is not None and demand_org in (None, ""):
        demand_org = challenge.org
    if result is not None and supply_org in (None, ""):
        supply_org = result.org
    demand = _resolve(demand_org, "demand_org")
    supply = _resolve(supply_org, "supply_org")
    if demand.id == supply.id:
        raise ServiceError("需求方和供给方不能是同一机构。", field="supply_org")
    if challenge is not None and challenge.org_id != demand.id:
        raise ServiceError("需求方必须是该技术需求的发布机构。", field="demand_org")
    if result is not None and result.org_id != supply.id:
        raise ServiceError("供给方必须是该科技成果的所属机构。", field="supply_org")
    if (
        challenge is not None
        and result is not None
        and open_deal_between(challenge, result) is not None
    ):
        raise StateError("这对需求与成果已有撮合项目，不能重复发起。")
    is_party = user.org_id in (demand.id, supply.id)
    is_agency = user.org.kind in permissions.BROKER_KINDS
    if not (is_party or is_agency):
        raise ServiceError("只有双方机构的成员或技术转移机构可以发起撮合项目。")
    _refuse_restricted(demand, supply, None if is_party else user.org)
    title = (title or "").strip()
    if not title:
        raise ServiceError("请填写项目名称。", field="title")
    if len(title) > 200:
        raise ServiceError("项目名称不能超过 200 字。", field="title")
    broker = is_agency and not is_party
    deal = Deal(
        title=title,
        demand_org_id=demand.id,
        supply_org_id=supply.id,
        challenge_id=challenge.id if challenge else None,
        result_id=result.id if result else None,
        broker_org_id=user.org_id if broker else None,
        broker_user_id=user.id if broker else None,
        created_by_id=user.id,
        stage=DealStage.LEAD,
    )
    db.session.add(deal)
    db.session.flush()
    _event(deal, user, "新建撮合项目", to_stage=DealStage.LEAD)
    audit.record("deal_opened", obj=deal, to_state=DealStage.LEAD, note="manual")
    _notify_others(deal, user, f"新的撮合项目：{title[:120]}")
    return deal


def move_stage(deal: Deal, user: Any, to_stage: str, note: str | None = "") -> Deal:
    """Move a deal along its stages, with a timeline entry and notifications."""
    if not permissions.can_act_on_deal(user, deal):
        raise ServiceError("只有双方机构和经纪机构可以推进撮合项目。")
    note = _clean_note(note)
    valid = {s.value for s in DealStage}
    if to_stage not in valid:
        raise StateError("未知的阶段。", field="stage")
    if to_stage == DealStage.SIGNED:
        raise StateError("“已签约”由科技局登记技术合同时自动设置，不能手动选择。")
    current = deal.stage
    if to_stage not in STAGE_MOVES[current]:
        raise StateError(
            f"项目当前为“{STAGE_LABELS[current]}”，不能改为“{STAGE_LABELS[to_stage]}”。",
            field="stage",
        )
    if to_stage == DealStage.LOST and not note:
        raise ServiceError("终止项目时请说明原因。", field="note")
    deal.stage = DealStage(to_stage)
    _attribute_broker(deal, user)
    _event(deal, user, note, from_stage=current, to_stage=to_stage)
    audit.record(
        "deal_stage", obj=deal, from_state=current, to_state=to_stage, note=note
    )
    _notify_others(
        deal, user, f"撮合项目“{deal.title[:80]}”进入{STAGE_LABELS[to_stage]}阶段"
    )
    return deal


def add_note(deal: Deal, user: Any, note: str | None) -> Deal:
    """A comment on the deal's timeline by a party or the broker."""
    if not permissions.can_act_on_deal(user, deal):
        raise ServiceError("只有双方机构和经纪机构可以添加备注。")
    note = _clean_note(note)
    if not note:
        raise ServiceError("请填写备注内容。", field="note")
    _attribute_broker(deal, user)
    _event(deal, user, note)
    audit.record("deal_note", obj=deal, note=note)
    _notify_others(deal, user, f"撮合项目“{deal.title[:80]}”有新备注")
    return deal


def set_broker(deal: Deal, user: Any, agency: Organisation | str | None) -> Deal:
    """A party sets, replaces or (with None) removes the broker organisation."""
    if not permissions.can_set_broker(user, deal):
        raise ServiceError("只有双方机构可以指定经纪机构。")
    if deal.stage == DealStage.SIGNED:
        raise StateError("已签约的项目不能更换经纪机构。")
    new: Organisation | None = None
    if agency not in (None, ""):
        new = agency if isinstance(agency, Organisation) else find_org(agency)
        if new is None or not new.verified or new.kind not in permissions.BROKER_KINDS:
            raise ServiceError("经纪机构必须是已认证的技术转移机构。", field="broker")
        permissions.refuse_restricted_org(new, "不能居间撮合", "broker")
    new_id = new.id if new else None
    if new_id == deal.broker_org_id:
        return deal
    old_id = deal.broker_org_id
    deal.broker_org_id = new_id
    deal.broker_user_id = None
    deal.broker_org = new
    note = f"经纪机构设为：{new.name}" if new else "已取消经纪机构"
    _event(deal, user, note)
    audit.record("deal_broker", obj=deal, note=note)
    message = f"撮合项目“{deal.title[:80]}”：{note}"
    for org_id in {deal.demand_org_id, deal.supply_org_id, old_id, new_id} - {
        user.org_id,
        None,
    }:
        audit.notify_org(org_id, message, f"/deals/{deal.id}")
    return deal
