"""Corrections, never silent edits: payment reversals, contract corrections,
cancellation (注销) and resubmission of a rejected contract."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace import audit, glossary, permissions
from marketplace.clock import utcnow
from marketplace.contracts import services
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    CONTRACT_TYPE_LABELS,
    AuditEvent,
    Contract,
    ContractStatus,
    Deal,
    Milestone,
    Organisation,
    Payment,
    Region,
    TechField,
)
from marketplace.money import format_wan

MAX_REASON = 500
# What a correction or a resubmission may change, with the words the audit uses.
EDITABLE = {
    "title": "合同名称",
    "contract_type": "合同类型",
    "buyer_org_id": "买方机构",
    "buyer_name": "买方",
    "buyer_region_code": "买方县区",
    "seller_org_id": "卖方机构",
    "seller_name": "卖方",
    "seller_region_code": "卖方县区",
    "broker_org_id": "技术转移机构",
    "field_id": "技术领域",
    "signed_on": "签订日期",
    "term_start": "合同期限开始",
    "term_end": "合同期限结束",
    "amount_fen": "合同成交额",
    "tech_amount_fen": "技术交易额",
}


# The events the contract page lists under 更正与注销记录, in Chinese.
class CorrectionAction(glossary.Action):
    """What correcting and cancelling a contract record."""

    CONTRACT_CORRECTED = "contract_corrected", "科技局更正合同"
    CONTRACT_CANCELLED = "contract_cancelled", "科技局注销合同登记"
    CONTRACT_RESUBMITTED = "contract_resubmitted", "修改后重新提交"
    PAYMENT_REVERSED = "payment_reversed", "冲销收款"


ACTION_LABELS = glossary.labels(CorrectionAction)
glossary.register_actions(CorrectionAction)
# Ids a person reads better as names, shown by the fields next to them.
QUIET = {"buyer_org_id", "seller_org_id"}


def _reason(reason: Any, what: str) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ServiceError(f"请填写{what}原因。", "reason")
    if len(reason) > MAX_REASON:
        raise ServiceError(f"{what}原因不超过 {MAX_REASON} 字。", "reason")
    return reason


def milestone_of(payment: Payment) -> Milestone | None:
    """The milestone whose acceptance released this payment, if any."""
    return db.session.scalar(
        select(Milestone).where(Milestone.payment_id == payment.id)
    )


def reverse_payment(payment: Payment, user: Any, reason: Any) -> Payment:
    """Cancel a payment by a new, negative entry; the original stays in the ledger."""
    if not permissions.can_reverse_payment(user, payment):
        raise StateError("只有登记该笔收款的人或科技局可以冲销。")
    reason = _reason(reason, "冲销")
    contract = services._lock(payment.contract)
    db.session.refresh(payment)
    if payment.reverses_id is not None:
        raise StateError("冲销记录本身不能再冲销。")
    if payment.reversal is not None:
        raise StateError("该笔收款已冲销。")
    if milestone_of(payment) is not None:
        # The project's released total follows the milestone; the ledger must too.
        raise StateError("里程碑验收拨付由项目记录，不能在合同上冲销。")
    entry = Payment(
        contract_id=contract.id,
        # Dated as the original, so any date range sums the two to nothing.
        received_on=payment.received_on,
        amount_fen=-payment.amount_fen,
        note=f"冲销 {payment.received_on.isoformat()} 收款",
        reason=reason,
        reverses_id=payment.id,
        recorded_by_id=user.id,
    )
    try:
        with db.session.begin_nested():
            db.session.execute(
                update(Contract)
                .where(Contract.id == contract.id)
                .values(paid_fen=Contract.paid_fen - payment.amount_fen)
                .execution_options(synchronize_session=False)
            )
            db.session.add(entry)
            db.session.flush()
    except IntegrityError as exc:
        # Two reversals of one payment at once: the unique reverses_id decides.
        raise StateError("该笔收款已冲销。") from exc
    db.session.expire(contract, ["paid_fen"])
    audit.record(
        "payment_reversed",
        obj=contract,
        user=user,
        note=f"冲销 {format_wan(payment.amount_fen)}（收款 #{payment.id}）：{reason}",
    )
    return entry


def correct_payment(
    payment: Payment,
    user: Any,
    reason: Any,
    received_on: date | None,
    amount_fen: Any,
    note: str = "",
) -> Payment:
    """A correction: the wrong entry reversed, then the right one recorded."""
    reverse_payment(payment, user, reason)
    return services.record_payment(
        payment.contract, user, received_on, amount_fen, note or payment.note
    )


# --- the contract itself ---------------------------------------------------------


def _shown(key: str, value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if key.endswith("_fen"):
        return format_wan(value)
    if key == "contract_type":
        return CONTRACT_TYPE_LABELS.get(value, str(value))
    if key == "field_id":
        field = db.session.get(TechField, value)
        return field.name if field else str(value)
    if key.endswith("_region_code"):
        region = db.session.get(Region, value)
        return region.name if region else str(value)
    if key == "broker_org_id":
        org = db.session.get(Organisation, value)
        return org.name if org else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _changes(contract: Contract, fresh: Contract) -> list[str]:
    lines = []
    for key, label in EDITABLE.items():
        before, after = getattr(contract, key), getattr(fresh, key)
        if before != after and key not in QUIET:
            lines.append(f"{label}：{_shown(key, before)} → {_shown(key, after)}")
    return lines


def _rebuilt(contract: Contract, data: dict[str, Any]) -> Contract:
    # Links stay as registered: a correction fixes values, not what was traded.
    data = dict(
        data,
        challenge_id=contract.challenge_id,
        result_id=contract.result_id,
        deal_id=contract.deal_id,
    )
    deal = db.session.get(Deal, contract.deal_id) if contract.deal_id else None
    fresh = services.build_contract(data, deal)
    if fresh.amount_fen < contract.paid_fen:
        raise ServiceError(
            f"合同成交额不能少于已到账金额（{format_wan(contract.paid_fen)}），"
            "请先冲销多登记的收款。",
            "amount",
        )
    first_paid = db.session.scalar(
        select(func.min(Payment.received_on)).where(
            Payment.contract_id == contract.id,
            Payment.reverses_id.is_(None),
            ~Payment.reversal.has(),
        )
    )
    if first_paid is not None and fresh.signed_on > first_paid:
        raise ServiceError(
            f"签订日期不能晚于最早一笔收款（{first_paid.isoformat()}）。", "signed_on"
        )
    return fresh


def _apply(contract: Contract, fresh: Contract) -> list[str]:
    changes = _changes(contract, fresh)
    for key in EDITABLE:
        setattr(contract, key, getattr(fresh, key))
    return changes


def correct_contract(
    contract: Contract, bureau_user: Any, data: dict[str, Any], reason: Any
) -> list[str]:
    """The bureau corrects a registered contract; the audit keeps before → after."""
    if not permissions.is_bureau(bureau_user):
        raise StateError("只有科技局可以更正已登记的合同。")
    reason = _reason(reason, "更正")
    contract = services._lock(contract)
    if contract.status != ContractStatus.REGISTERED:
        raise StateError("只有已登记的合同可以更正。")
    changes = _apply(contract, _rebuilt(contract, data))
    if not changes:
        raise ServiceError("没有需要更正的内容。")
    audit.record(
        "contract_corrected",
        obj=contract,
        user=bureau_user,
        note=f"更正原因：{reason}\n" + "\n".join(changes),
    )
    services._notify_parties(contract, f"技术合同已由科技局更正：{reason[:100]}")
    return changes


def cancel_contract(contract: Contract, bureau_user: Any, reason: Any) -> Contract:
    """The bureau cancels (注销) a registered contract; it leaves the turnover."""
    if not permissions.is_bureau(bureau_user):
        raise StateError("只有科技局可以注销合同。")
    reason = _reason(reason, "注销")
    contract = services._lock(contract)
    if contract.status != ContractStatus.REGISTERED:
        raise StateError("只有已登记的合同可以注销。")
    contract.status = ContractStatus.CANCELLED
    contract.cancel_reason = reason
    contract.cancelled_at = utcnow()
    audit.record(
        "contract_cancelled",
        obj=contract,
        user=bureau_user,
        from_state=ContractStatus.REGISTERED,
        to_state=ContractStatus.CANCELLED,
        note=reason,
    )
    services._notify_parties(contract, f"技术合同登记已注销：{reason[:100]}")
    return contract


def resubmit_contract(contract: Contract, user: Any, data: dict[str, Any]) -> Contract:
    """Edit a rejected contract and send it to the bureau again."""
    if not permissions.can_resubmit_contract(user, contract):
        raise StateError("只有合同双方、技术转移机构或科技局可以修改被退回的合同。")
    contract = services._lock(contract)
    if contract.status != ContractStatus.REJECTED:
        raise StateError("只有已退回的合同可以修改后重新提交。")
    fresh = _rebuilt(contract, data)
    # The edited parties must still include the one who resubmits.
    if not permissions.can_record_contract(
        user, fresh.buyer_org_id, fresh.seller_org_id, fresh.broker_org_id
    ):
        raise ServiceError("修改后的合同须仍以你的机构为当事方或技术转移机构。")
    for org_id in (fresh.buyer_org_id, fresh.seller_org_id):
        org = db.session.get(Organisation, org_id) if org_id else None
        permissions.refuse_restricted_org(org, "不能作为技术合同的当事方")
    changes = _apply(contract, fresh)
    previous = contract.reject_reason
    contract.status = ContractStatus.SUBMITTED
    contract.reject_reason = ""
    audit.record(
        "contract_resubmitted",
        obj=contract,
        user=user,
        from_state=ContractStatus.REJECTED,
        to_state=ContractStatus.SUBMITTED,
        note=f"原退回原因：{previous}\n" + "\n".join(changes),
    )
    audit.notify(
        services.bureau_staff(),
        f"被退回的技术合同已修改并重新提交：{contract.buyer_name} / "
        f"{contract.seller_name}",
        f"/contracts/{contract.id}",
    )
    return contract


def history(contract: Contract) -> list[AuditEvent]:
    """The contract's corrections, cancellation and resubmissions, newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == Contract.__tablename__,
                AuditEvent.object_id == contract.id,
                AuditEvent.action.in_(ACTION_LABELS),
            )
            .order_by(AuditEvent.id.desc())
        )
    )
