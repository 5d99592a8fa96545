"""Thin views over the contract verbs."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions
from marketplace.contracts import bp, corrections, links, sections, services
from marketplace.contracts.forms import (
    OUTSIDE,
    ContractForm,
    PaymentForm,
    RegisterForm,
    RejectForm,
)
from marketplace.extensions import db
from marketplace.forms_common import choices
from marketplace.listings import expiry
from marketplace.models import (
    CONTRACT_TYPE_LABELS,
    Challenge,
    Contract,
    Deal,
    Organisation,
    OrgKind,
    Region,
    Result,
    TechField,
)
from marketplace.models.contract import (
    CONTRACT_STATUS_LABELS,
)
from marketplace.reference import region_options
from marketplace.views import MAX_ID, form_problem, perform, perform_form, submit

PER_PAGE = 30
STATUS_LABELS = CONTRACT_STATUS_LABELS


def _visible_contract(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None or not permissions.can_view_contract(current_user, contract):
        abort(404)
    return contract


def _int(value: str | None) -> int | None:
    # isdigit() alone lets "²" through to int(); MAX_ID keeps the driver happy.
    if not value or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def _fill_choices(form: ContractForm) -> None:
    orgs = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.kind)
        .where(Organisation.verified.is_(True), Organisation.kind != OrgKind.BUREAU)
        .order_by(Organisation.name)
    ).all()
    parties = [(OUTSIDE, "— 平台外单位（在下方填写）—")]
    parties += [(str(o.id), o.name) for o in orgs]
    form.buyer_org.choices = choices(parties)
    form.seller_org.choices = choices(parties)
    form.broker_org.choices = choices(
        [("", "— 无 —")]
        + [(str(o.id), o.name) for o in orgs if o.kind == OrgKind.AGENCY]
    )
    regions = [("", "— 请选择 —"), *region_options()]
    form.buyer_region.choices = choices(regions)
    form.seller_region.choices = choices(regions)
    fields = db.session.execute(
        select(TechField.id, TechField.name).order_by(TechField.sort_order)
    ).all()
    form.field.choices = choices(
        [("", "— 请选择 —")] + [(str(f.id), f.name) for f in fields]
    )


def _prefill(form: ContractForm, deal: Deal) -> None:
    form.deal_id.data = str(deal.id)
    form.buyer_org.data = str(deal.demand_org_id)
    form.seller_org.data = str(deal.supply_org_id)
    form.broker_org.data = str(deal.broker_org_id or "")
    form.challenge_id.data = str(deal.challenge_id or "")
    form.result_id.data = str(deal.result_id or "")
    form.title.data = deal.title[:200]


def _data(form: ContractForm) -> dict:
    def party(side: str) -> services.Party:
        org_id = _int(getattr(form, f"{side}_org").data)
        if org_id is not None:
            return services.Party(org_id=org_id)
        return services.Party(
            name=getattr(form, f"{side}_name").data or "",
            region_code=getattr(form, f"{side}_region").data or "",
        )

    return {
        "title": form.title.data,
        "contract_type": form.contract_type.data,
        "buyer": party("buyer"),
        "seller": party("seller"),
        "broker_org_id": _int(form.broker_org.data),
        "deal_id": _int(form.deal_id.data),
        "challenge_id": _int(form.challenge_id.data),
        "result_id": _int(form.result_id.data),
        "field_id": _int(form.field.data),
        "signed_on": form.signed_on.data,
        "term_start": form.term_start.data,
        "term_end": form.term_end.data,
        "amount_fen": form.amount.data,
        "tech_amount_fen": form.tech_amount.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Record a contract, optionally from a deal (?deal=<id>)."""
    form = ContractForm()
    _fill_choices(form)
    deal = None
    deal_id = _int(request.args.get("deal")) or _int(form.deal_id.data)
    if deal_id is not None:
        deal = db.session.get(Deal, deal_id)
        if deal is None or not permissions.can_view_deal(current_user, deal):
            abort(404)
    if request.method == "GET" and deal is not None:
        _prefill(form, deal)
    if form.validate_on_submit():
        done, contract = submit(
            form,
            services.record_contract,
            current_user,
            _data(form),
            success="合同已提交，等待科技局登记。",
        )
        if done:
            return redirect(url_for("contracts.show", contract_id=contract.id))
    return render_template("contracts/new.html", form=form, deal=deal)


@bp.route("/<int:contract_id>")
@login_required
def show(contract_id: int):
    """A contract with its payments, and the bureau's registration forms."""
    contract = _visible_contract(contract_id)
    is_bureau = permissions.is_bureau(current_user)
    pending = permissions.can_register_contract(current_user, contract)
    if pending:
        _show_listings(contract)  # the states registration will start from
    challenge = (
        db.session.get(Challenge, contract.challenge_id)
        if contract.challenge_id
        else None
    )
    return render_template(
        "contracts/show.html",
        effects=links.registration_effects(contract) if pending else [],
        contract=contract,
        deal=db.session.get(Deal, contract.deal_id) if contract.deal_id else None,
        challenge=challenge,
        seeker_name=permissions.seeker_name(current_user, challenge)
        if challenge
        else "",
        result=(
            db.session.get(Result, contract.result_id) if contract.result_id else None
        ),
        field=db.session.get(TechField, contract.field_id)
        if contract.field_id
        else None,
        regions={r.code: r.name for r in db.session.scalars(select(Region))},
        payment_form=PaymentForm(),
        register_form=RegisterForm(),
        reject_form=RejectForm(),
        is_bureau=is_bureau,
        type_labels=CONTRACT_TYPE_LABELS,
        status_labels=STATUS_LABELS,
        **sections.state_flags(current_user, contract),
        reversible=sections.reversible_payments(current_user, contract),
        changes=corrections.history(contract),
        change_labels=corrections.ACTION_LABELS,
    )


def _back(contract: Contract):
    return redirect(url_for("contracts.show", contract_id=contract.id))


def _show_listings(contract: Contract) -> None:
    # Overdue listings shown in their effective states, so registration sees them.
    for model, key in (
        (Challenge, contract.challenge_id),
        (Result, contract.result_id),
    ):
        listing = db.session.get(model, key) if key else None
        if listing is not None:
            expiry.show(listing)


@bp.route("/<int:contract_id>/register", methods=["POST"])
@login_required
def register(contract_id: int):
    """The bureau registers the contract under a registration number."""
    contract = _visible_contract(contract_id)
    permissions.require(permissions.is_bureau(current_user))
    form = RegisterForm()
    if not form.validate_on_submit():
        flash(form_problem(form), "danger")
        return _back(contract)
    _show_listings(contract)
    perform(
        services.register_contract,
        contract,
        current_user,
        form.registration_no.data,
        success="合同已登记。",
    )
    return _back(contract)


@bp.route("/<int:contract_id>/reject", methods=["POST"])
@login_required
def reject(contract_id: int):
    """The bureau refuses the contract with a reason."""
    contract = _visible_contract(contract_id)
    permissions.require(permissions.is_bureau(current_user))
    form = RejectForm()
    perform_form(
        form,
        services.reject_contract,
        contract,
        current_user,
        form.reason.data,
        success="合同已退回。",
    )
    return _back(contract)


@bp.route("/<int:contract_id>/payments", methods=["POST"])
@login_required
def payments(contract_id: int):
    """Record a payment received under the contract."""
    contract = _visible_contract(contract_id)
    permissions.require(permissions.can_record_payment(current_user, contract))
    form = PaymentForm()
    perform_form(
        form,
        services.record_payment,
        contract,
        current_user,
        form.received_on.data,
        form.amount.data,
        form.note.data,
        success="收款已登记。",
    )
    return _back(contract)
