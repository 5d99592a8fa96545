"""Contract verbs: record, register, reject, and record payments received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace import audit, identifiers, permissions, workflow
from marketplace.clock import local_today, utcnow
from marketplace.contracts import links
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.listings.states import CHALLENGE_TRANSITIONS, RESULT_TRANSITIONS
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    ContractStatus,
    ContractType,
    Deal,
    DealEvent,
    DealStage,
    Organisation,
    OrgKind,
    Payment,
    Region,
    Result,
    ResultStatus,
    TechField,
    User,
)
from marketplace.money import FEN_PER_WAN, MAX_WAN

MAX_FEN = int(MAX_WAN) * FEN_PER_WAN
# Contract amounts are registered in 万元 with two decimals: 0.01 万元 = 10,000 fen.
WAN_CENT = FEN_PER_WAN // 100
DUPLICATE_NO = "登记号已被使用，请核对后重新输入。"


@dataclass
class Party:
    """A buyer or seller: a registered organisation, or an outside name and region."""

    org_id: int | None = None
    name: str = ""
    region_code: str = ""


def _party(party: Party, side: str) -> Party:
    label = "买方" if side == "buyer" else "卖方"
    if party.org_id is not None:
        org = db.session.get(Organisation, party.org_id)
        if org is None or org.kind == OrgKind.BUREAU:
            raise ServiceError(f"{label}机构不存在。", f"{side}_org")
        return Party(org.id, org.name, org.region_code)
    name = (party.name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(f"请填写{label}名称（不超过 100 字）。", f"{side}_name")
    if not party.region_code or db.session.get(Region, party.region_code) is None:
        raise ServiceError(f"请选择{label}所在县区。", f"{side}_region")
    return Party(None, name, party.region_code)


def check_amounts(amount_fen: Any, tech_amount_fen: Any) -> None:
    """Both amounts integer fen, non-negative, bounded, 技术交易额 ≤ 合同成交额."""
    for value, field, label in (
        (amount_fen, "amount", "合同成交额"),
        (tech_amount_fen, "tech_amount", "技术交易额"),
    ):
        if value is None:
            raise ServiceError(f"请填写{label}。", field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ServiceError(f"{label}必须是精确到分的金额。", field)
        if value < 0:
            raise ServiceError(f"{label}不能为负数。", field)
        if value > MAX_FEN:
            raise ServiceError(f"{label}过大，请检查单位是否为万元。", field)
        if value % WAN_CENT:
            raise ServiceError(f"{label}以万元计，最多两位小数。", field)
    if tech_amount_fen > amount_fen:
        raise ServiceError("技术交易额不能大于合同成交额。", "tech_amount")


def check_registration_no(number: Any) -> str:
    """A registration number of 14–16 digits not yet used, normalised first."""
    number = identifiers.registration_no(number)
    error = identifiers.registration_no_error(number)
    if error:
        raise ServiceError(error, "registration_no")
    if db.session.scalar(select(Contract.id).where(Contract.registration_no == number)):
        raise ServiceError(DUPLICATE_NO, "registration_no")
    return number


def build_contract(data: dict[str, Any], deal: Deal | None = None) -> Contract:
    """Check every value of a new contract and return it (not yet added)."""
    try:
        kind = ContractType(data.get("contract_type"))
    except ValueError as exc:
        raise ServiceError("请选择合同类型。", "contract_type") from exc
    buyer = _party(data.get("buyer") or Party(), "buyer")
    seller = _party(data.get("seller") or Party(), "seller")
    if buyer.org_id is not None and buyer.org_id == seller.org_id:
        raise ServiceError("买方和卖方不能是同一机构。", "seller_org")
    if buyer.org_id is None and seller.org_id is None and buyer.name == seller.name:
        raise ServiceError("买方和卖方不能是同一单位。", "seller_name")
    broker_id = data.get("broker_org_id")
    if broker_id is not None:
        broker = db.session.get(Organisation, broker_id)
        if broker is None or broker.kind != OrgKind.AGENCY:
            raise ServiceError("技术转移机构不存在。", "broker_org")
    signed_on = data.get("signed_on")
    if not isinstance(signed_on, date):
        raise ServiceError("请填写签订日期。", "signed_on")
    if signed_on > local_today():
        raise ServiceError("签订日期不能晚于今天。", "signed_on")
    start, end = data.get("term_start"), data.get("term_end")
    if start and end and end < start:
        raise ServiceError("合同期限的结束日期不能早于开始日期。", "term_end")
    check_amounts(data.get("amount_fen"), data.get("tech_amount_fen"))
    field_id = data.get("field_id")
    if field_id is not None and db.session.get(TechField, field_id) is None:
        raise ServiceError("技术领域无效。", "field")
    if deal is not None:
        links.check_deal_parties(deal, buyer.org_id, seller.org_id, broker_id)
    challenge_id, result_id = links.linked_ids(data, deal, buyer.org_id, seller.org_id)
    if field_id is None:
        # Left blank, the field is the linked listing's: no spurious 未分类 row.
        field_id = links.inherited_field_id(challenge_id, result_id)
    return Contract(
        title=(data.get("title") or "").strip()[:200],
        contract_type=kind,
        buyer_org_id=buyer.org_id,
        buyer_name=buyer.name,
        buyer_region_code=buyer.region_code,
        seller_org_id=seller.org_id,
        seller_name=seller.name,
        seller_region_code=seller.region_code,
        broker_org_id=broker_id,
        deal_id=deal.id if deal else None,
        challenge_id=challenge_id,
        result_id=result_id,
        field_id=field_id,
        signed_on=signed_on,
        term_start=start,
        term_end=end,
        amount_fen=data["amount_fen"],
        tech_amount_fen=data["tech_amount_fen"],
        paid_fen=0,
        status=ContractStatus.SUBMITTED,
    )


def bureau_staff() -> list[User]:
    """Active users of the bureau, who register contracts."""
    return list(
        db.session.scalars(
            select(User)
            .join(Organisation, User.org_id == Organisation.id)
            .where(Organisation.kind == OrgKind.BUREAU, User.active.is_(True))
        )
    )


def record_contract(user: Any, data: dict[str, Any]) -> Contract:
    """A party, the broker or the bureau records a contract for registration."""
    deal = None
    if data.get("deal_id"):
        deal = db.session.get(Deal, data["deal_id"])
        if deal is None or not permissions.can_view_deal(user, deal):
            raise ServiceError("撮合项目不存在。", "deal_id")
    buyer, seller = data.get("buyer") or Party(), data.get("seller") or Party()
    if not permissions.can_record_contract(
        user, buyer.org_id, seller.org_id, data.get("broker_org_id"), deal
    ):
        raise StateError("只有合同双方、技术转移机构或科技局可以登记合同。")
    links.refuse_hidden_challenge(user, data.get("challenge_id"), deal)
    contract = build_contract(data, deal)
    # Recording a contract advances its parties as far as a deal can: an
    # integrity restriction in force refuses it, whoever records.
    for org_id in (contract.buyer_org_id, contract.seller_org_id):
        org = db.session.get(Organisation, org_id) if org_id else None
        permissions.refuse_restricted_org(org, "不能作为技术合同的当事方")
    contract.recorded_by_id = user.id
    db.session.add(contract)
    db.session.flush()
    audit.record(
        "contract_recorded",
        obj=contract,
        user=user,
        to_state=ContractStatus.SUBMITTED,
    )
    audit.notify(
        bureau_staff(),
        f"新的技术合同待登记：{contract.buyer_name} / {contract.seller_name}",
        f"/contracts/{contract.id}",
    )
    return contract


def _lock(contract: Contract) -> Contract:
    # Two staff registering at once: the second waits here, then sees the first.
    return db.session.scalars(
        select(Contract)
        .where(Contract.id == contract.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _notify_parties(contract: Contract, message: str) -> None:
    orgs = {contract.buyer_org_id, contract.seller_org_id, contract.broker_org_id}
    # A winning consortium's members are parties under their agreement.
    orgs |= set(permissions.deal_consortium_org_ids(contract.deal_id))
    for org_id in sorted(orgs - {None}):
        audit.notify_org(org_id, message, f"/contracts/{contract.id}")


def close_loop(contract: Contract, user: Any) -> None:
    """A registered contract signs its deal, contracts its challenge, its result."""
    deal = db.session.get(Deal, contract.deal_id) if contract.deal_id else None
    if deal is not None and deal.stage != DealStage.SIGNED:
        before = deal.stage
        deal.stage = DealStage.SIGNED
        db.session.add(
            DealEvent(
                deal_id=deal.id,
                user_id=getattr(user, "id", None),
                org_id=getattr(user, "org_id", None),
                from_stage=before,
                to_stage=DealStage.SIGNED,
                note=f"技术合同已登记（登记号 {contract.registration_no}）",
            )
        )
        audit.record(
            "deal_signed",
            obj=deal,
            user=user,
            from_state=before,
            to_state=DealStage.SIGNED,
        )
    challenge = (
        db.session.get(Challenge, contract.challenge_id)
        if contract.challenge_id
        else None
    )
    if challenge is not None and challenge.status == ChallengeStatus.AWARDED:
        workflow.move(
            challenge,
            ChallengeStatus.CONTRACTED,
            CHALLENGE_TRANSITIONS,
            action="challenge_contracted",
            user=user,
        )
        links.tell_owner(challenge, contract)
    result = db.session.get(Result, contract.result_id) if contract.result_id else None
    if result is not None and result.status == ResultStatus.PUBLISHED:
        workflow.move(
            result,
            ResultStatus.TRANSFERRED,
            RESULT_TRANSITIONS,
            action="result_transferred",
            user=user,
        )
        result.transferred_at = utcnow()
        links.tell_owner(result, contract)


def register_contract(
    contract: Contract, bureau_user: Any, registration_no: str
) -> Contract:
    """The bureau registers a submitted contract under a unique number."""
    if not permissions.is_bureau(bureau_user):
        raise StateError("只有科技局可以登记合同。")
    number = check_registration_no(registration_no)
    contract = _lock(contract)
    if contract.status != ContractStatus.SUBMITTED:
        raise StateError("该合同已处理，不能重复登记。")
    try:
        with db.session.begin_nested():
            contract.registration_no = number
            contract.status = ContractStatus.REGISTERED
            contract.registered_at = utcnow()
            contract.registered_by_id = bureau_user.id
            db.session.flush()
    except IntegrityError as exc:
        raise ServiceError(DUPLICATE_NO, "registration_no") from exc
    audit.record(
        "contract_registered",
        obj=contract,
        user=bureau_user,
        from_state=ContractStatus.SUBMITTED,
        to_state=ContractStatus.REGISTERED,
        note=number,
    )
    close_loop(contract, bureau_user)
    _notify_parties(contract, f"技术合同已登记，登记号 {number}。")
    return contract


def reject_contract(contract: Contract, bureau_user: Any, reason: str) -> Contract:
    """The bureau refuses to register a submitted contract, saying why."""
    if not permissions.is_bureau(bureau_user):
        raise StateError("只有科技局可以退回合同。")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写退回原因。", "reason")
    contract = _lock(contract)
    if contract.status != ContractStatus.SUBMITTED:
        raise StateError("只有待登记的合同可以退回。")
    contract.status = ContractStatus.REJECTED
    contract.reject_reason = reason[:2000]
    audit.record(
        "contract_rejected",
        obj=contract,
        user=bureau_user,
        from_state=ContractStatus.SUBMITTED,
        to_state=ContractStatus.REJECTED,
        note=reason,
    )
    _notify_parties(contract, f"技术合同未予登记：{reason[:100]}")
    return contract


def check_payment_date(contract: Contract, received_on: Any) -> date:
    """A payment is dated between the contract's signing date and today."""
    if not isinstance(received_on, date):
        raise ServiceError("请填写收款日期。", "received_on")
    if received_on > local_today():
        raise ServiceError("收款日期不能晚于今天。", "received_on")
    if received_on < contract.signed_on:
        raise ServiceError(
            f"收款日期不能早于合同签订日期（{contract.signed_on.isoformat()}）。",
            "received_on",
        )
    return received_on


def record_payment(
    contract: Contract,
    user: Any,
    received_on: date | None,
    amount_fen: Any,
    note: str = "",
) -> Payment:
    """Record money received; the sum of payments never exceeds 合同成交额."""
    if not permissions.can_record_payment(user, contract):
        raise StateError("只有合同双方、技术转移机构或科技局可以登记收款。")
    if contract.status == ContractStatus.REJECTED:
        raise StateError("已退回的合同不能登记收款。")
    if contract.status == ContractStatus.CANCELLED:
        raise StateError("已注销的合同不能登记收款。")
    check_payment_date(contract, received_on)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ServiceError("请填写精确到分的收款金额。", "amount")
    if amount_fen <= 0:
        raise ServiceError("收款金额必须大于零。", "amount")
    if amount_fen > MAX_FEN:
        raise ServiceError("收款金额过大，请检查单位是否为万元。", "amount")
    try:
        # The CHECK (paid_fen <= amount_fen) decides, even against a concurrent payment.
        with db.session.begin_nested():
            db.session.execute(
                update(Contract)
                .where(Contract.id == contract.id)
                .values(paid_fen=Contract.paid_fen + amount_fen)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError as exc:
        raise ServiceError("收款合计不能超过合同成交额。", "amount") from exc
    db.session.expire(contract, ["paid_fen"])
    payment = Payment(
        contract_id=contract.id,
        received_on=received_on,
        amount_fen=amount_fen,
        note=(note or "").strip()[:200],
        recorded_by_id=user.id,
    )
    db.session.add(payment)
    db.session.flush()
    audit.record("payment_recorded", obj=contract, user=user, note=str(amount_fen))
    return payment
