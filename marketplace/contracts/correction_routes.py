"""Thin views over the correction verbs: reversals, corrections, cancellation."""

from __future__ import annotations

from flask import abort, flash, render_template
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.contracts import bp, corrections
from marketplace.contracts.correction_forms import (
    CancelForm,
    CorrectForm,
    PaymentCorrectForm,
    ReverseForm,
)
from marketplace.contracts.forms import OUTSIDE, ContractForm
from marketplace.contracts.routes import (
    _back,
    _data,
    _fill_choices,
    _visible_contract,
)
from marketplace.extensions import db
from marketplace.models import Contract, ContractStatus, Payment
from marketplace.views import perform_form, submit


def _payment(contract: Contract, payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.contract_id != contract.id:
        abort(404)
    permissions.require(permissions.can_reverse_payment(current_user, payment))
    return payment


@bp.route("/<int:contract_id>/payments/<int:payment_id>/reverse", methods=["POST"])
@login_required
def reverse_payment(contract_id: int, payment_id: int):
    """Reverse (冲销) a payment by a new ledger entry, with a reason."""
    contract = _visible_contract(contract_id)
    payment = _payment(contract, payment_id)
    form = ReverseForm()
    perform_form(
        form,
        corrections.reverse_payment,
        payment,
        current_user,
        form.reason.data,
        success="该笔收款已冲销，原记录保留并标注“已冲销”。",
    )
    return _back(contract)


@bp.route("/<int:contract_id>/payments/<int:payment_id>/correct", methods=["POST"])
@login_required
def correct_payment(contract_id: int, payment_id: int):
    """Correct a payment: reverse it and record the right one."""
    contract = _visible_contract(contract_id)
    payment = _payment(contract, payment_id)
    form = PaymentCorrectForm()
    perform_form(
        form,
        corrections.correct_payment,
        payment,
        current_user,
        form.reason.data,
        form.received_on.data,
        form.amount.data,
        form.note.data,
        success="收款已更正：原记录已冲销，并登记了更正后的收款。",
    )
    return _back(contract)


def _prefill(form: ContractForm, contract: Contract) -> None:
    for side in ("buyer", "seller"):
        org_id = getattr(contract, f"{side}_org_id")
        getattr(form, f"{side}_org").data = str(org_id) if org_id else OUTSIDE
        if org_id is None:
            getattr(form, f"{side}_name").data = getattr(contract, f"{side}_name")
            region = getattr(contract, f"{side}_region_code")
            getattr(form, f"{side}_region").data = region
    form.title.data = contract.title
    form.contract_type.data = contract.contract_type.value
    form.broker_org.data = str(contract.broker_org_id or "")
    form.field.data = str(contract.field_id or "")
    form.signed_on.data = contract.signed_on
    form.term_start.data = contract.term_start
    form.term_end.data = contract.term_end
    form.amount.data = contract.amount_fen
    form.tech_amount.data = contract.tech_amount_fen


def _edit_page(form: ContractForm, contract: Contract, verb, *extra, done: str):
    """Show the form prefilled; on a valid POST run the verb and commit."""
    _fill_choices(form)
    if not form.is_submitted():
        _prefill(form, contract)
    elif form.validate():
        saved, _ = submit(
            form, verb, contract, current_user, _data(form), *extra, success=done
        )
        if saved:
            return _back(contract)
    return render_template(
        "contracts/edit.html",
        form=form,
        contract=contract,
        correcting=isinstance(form, CorrectForm),
    )


@bp.route("/<int:contract_id>/correct", methods=["GET", "POST"])
@login_required
def correct(contract_id: int):
    """The bureau corrects a registered contract, with a reason."""
    contract = _visible_contract(contract_id)
    permissions.require(permissions.is_bureau(current_user))
    if contract.status != ContractStatus.REGISTERED:
        flash("只有已登记的合同可以更正。", "warning")
        return _back(contract)
    form = CorrectForm()

    def verb(target, user, data):
        return corrections.correct_contract(target, user, data, form.reason.data)

    return _edit_page(form, contract, verb, done="合同已更正，统计随之更新。")


@bp.route("/<int:contract_id>/cancel", methods=["POST"])
@login_required
def cancel(contract_id: int):
    """The bureau cancels (注销) a registered contract, with a reason."""
    contract = _visible_contract(contract_id)
    permissions.require(permissions.is_bureau(current_user))
    form = CancelForm()
    perform_form(
        form,
        corrections.cancel_contract,
        contract,
        current_user,
        form.reason.data,
        success="合同登记已注销，不再计入成交额。",
    )
    return _back(contract)


@bp.route("/<int:contract_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contract_id: int):
    """A party edits a rejected contract and submits it again."""
    contract = _visible_contract(contract_id)
    permissions.require(
        permissions.can_record_contract(
            current_user,
            contract.buyer_org_id,
            contract.seller_org_id,
            contract.broker_org_id,
        )
    )
    if contract.status != ContractStatus.REJECTED:
        flash("只有已退回的合同可以修改后重新提交。", "warning")
        return _back(contract)
    return _edit_page(
        ContractForm(),
        contract,
        corrections.resubmit_contract,
        done="合同已修改并重新提交，等待科技局登记。",
    )


@bp.context_processor
def _correction_helpers() -> dict:
    # The contract page draws the ledger's reversal forms and the bureau's tools.
    return {
        "ReverseForm": ReverseForm,
        "PaymentCorrectForm": PaymentCorrectForm,
        "CancelForm": CancelForm,
    }
