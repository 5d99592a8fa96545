"""Thin views over the result verbs: list, detail, edit, review, renew, adopt."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.listings import sections as listing_sections
from marketplace.listings.states import REJECT_REASONS, STATUS_LABELS
from marketplace.models import (
    Proposal,
    ProposalKind,
    Result,
    TechField,
)
from marketplace.models.proposal import (
    PROPOSAL_STATUS_LABELS,
)
from marketplace.money import MoneyError, parse_wan
from marketplace.ndas.context import nda_context, show_and_log
from marketplace.results import adoption, bp, queries, sections, services
from marketplace.results.forms import (
    AdoptionForm,
    DeclineForm,
    RenewForm,
    ResultForm,
)
from marketplace.views import perform
from marketplace.views import submit as submit_form

PER_PAGE = 20
PROPOSAL_LABELS = PROPOSAL_STATUS_LABELS


def _labels() -> dict:
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "PROPOSAL_LABELS": PROPOSAL_LABELS,
        "REJECT_REASONS": REJECT_REASONS,
        "ACTION_LABELS": services.ACTION_LABELS,
        "trl_band": services.trl_band,
    }


def _fields() -> list[TechField]:
    return list(db.session.scalars(select(TechField).order_by(TechField.sort_order)))


def _result(result_id: int) -> Result:
    """Load a result in its effective state; 404 unless the user may see it."""
    result = db.session.get(Result, result_id)
    if result is None:
        abort(404)
    expiry.show(result)
    if not permissions.can_view_result(current_user, result):
        abort(404)
    return result


def _application(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if (
        proposal is None
        or proposal.kind != ProposalKind.ADOPTION
        or not permissions.can_view_proposal(current_user, proposal)
    ):
        abort(404)
    expiry.show(proposal.result)
    return proposal


def _price_bound(name: str, errors: list[str]) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_wan(raw)
    except MoneyError as error:
        errors.append(f"价格筛选已忽略：{error}")
        return None


@bp.route("/")
def index():
    """Published results, filterable by field, maturity, transfer mode and price."""
    args = {
        key: request.args.get(key, "").strip()[:50]
        for key in ("q", "field", "maturity", "mode", "min", "max", "sort")
    }
    if args["sort"] not in queries.SORTS:
        args["sort"] = "newest"
    errors: list[str] = []
    fields = _fields()
    filters = queries.ListQuery(
        q=args["q"],
        # An unknown field code filters nothing, as a missing one does.
        field_code=args["field"]
        if any(f.code == args["field"] for f in fields)
        else "",
        maturity=args["maturity"],
        mode=args["mode"],
        min_fen=_price_bound("min", errors),
        max_fen=_price_bound("max", errors),
        sort=args["sort"],
    )
    query = queries.list_query(current_user, filters)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "results/index.html",
        page=page,
        args=args,
        errors=errors,
        fields=fields,
        bands=services.MATURITY_BANDS,
        modes=services.TRANSFER_MODES,
        sorts=queries.SORTS,
        can_register=permissions.can_register_result(current_user),
        **_labels(),
    )


@bp.route("/mine")
@login_required
def mine():
    """The organisation's own results in every state, and its applications."""
    applications = queries.own_applications(current_user.org_id)
    return render_template(
        "results/mine.html",
        results=queries.own_results(current_user.org_id),
        applications=applications,
        # The results of its applications this organisation may still open.
        linked_results={
            a.result_id
            for a in applications
            if permissions.can_view_result(current_user, a.result)
        },
        can_register=permissions.can_register_result(current_user),
        **_labels(),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Register a result as a draft (universities and institutes)."""
    permissions.require(permissions.can_register_result(current_user))
    form = ResultForm()
    form.set_field_choices(_fields())
    if form.validate_on_submit():
        done, result = submit_form(
            form,
            services.create_result,
            current_user,
            form.to_data(),
            success="成果已保存为草稿，确认无误后请提交审核。",
        )
        if done:
            return redirect(url_for("results.detail", result_id=result.id))
    return render_template("results/edit.html", form=form, result=None)


@bp.route("/<int:result_id>/edit", methods=["GET", "POST"])
@login_required
def edit(result_id: int):
    """Edit a draft or rejected result."""
    result = _result(result_id)
    permissions.require(permissions.can_edit(current_user, result))
    form = ResultForm()
    form.set_field_choices(_fields())
    if request.method == "GET":
        form.fill_from(result)
    if form.validate_on_submit():
        done, _ = submit_form(
            form,
            services.update_result,
            result,
            current_user,
            form.to_data(),
            success="修改已保存。",
        )
        if done:
            return redirect(url_for("results.detail", result_id=result.id))
    return render_template("results/edit.html", form=form, result=result)


def _act(result: Result, verb, success: str, *args):
    perform(verb, result, current_user, *args, success=success)
    return redirect(url_for("results.detail", result_id=result.id))


@bp.route("/<int:result_id>/submit", methods=["POST"])
@login_required
def submit(result_id: int):
    """Send the result to the bureau for review."""
    result = _result(result_id)
    permissions.require(permissions.can_edit(current_user, result))
    return _act(result, services.submit_result, "已提交科技局审核。")


@bp.route("/<int:result_id>/withdraw", methods=["POST"])
@login_required
def withdraw(result_id: int):
    """Take the result off the market or out of review."""
    result = _result(result_id)
    permissions.require(permissions.is_member_of(current_user, result.org_id))
    return _act(result, services.withdraw_result, "成果已撤回。")


@bp.route("/<int:result_id>/renew", methods=["POST"])
@login_required
def renew(result_id: int):
    """Give a published or expired result a new valid-until date."""
    result = _result(result_id)
    permissions.require(permissions.is_member_of(current_user, result.org_id))
    form = RenewForm()
    if not form.validate_on_submit():
        errors = [e for errs in form.errors.values() for e in errs]
        flash("续期未完成：" + "；".join(errors), "danger")
        return redirect(url_for("results.detail", result_id=result.id))
    return _act(
        result,
        services.renew_result,
        f"已续期至 {form.valid_until.data}。",
        form.valid_until.data,
    )


@bp.route("/<int:result_id>")
def detail(result_id: int):
    """A result's page; owner and bureau also see applications and timeline."""
    result = _result(result_id)
    show_and_log(current_user, result)
    return _render_detail(result, AdoptionForm())


def _render_detail(result: Result, adoption_form: AdoptionForm):
    user = current_user
    shown = permissions.can_view_confidential(user, result)
    insider = permissions.is_member_of(user, result.org_id) or permissions.is_bureau(
        user
    )
    applications = adoption.applications(result) if insider else []
    own_application = (
        adoption.live_application(result, user.org_id)
        if permissions.can_adopt(user, result)
        else None
    )
    return render_template(
        "results/detail.html",
        result=result,
        is_owner=permissions.is_member_of(user, result.org_id),
        insider=insider,
        can_edit=permissions.can_edit(user, result),
        can_adopt=permissions.can_adopt(user, result),
        restriction=permissions.restriction_notice(user),
        accepts=adoption.accepts_applications(result),
        own_application=own_application,
        applications=applications,
        deals=adoption.deals_by_proposal(applications),
        timeline=queries.timeline(result) if insider else [],
        adoption_form=adoption_form,
        show_confidential=shown,
        **nda_context(user, result, shown),
        decline_form=DeclineForm(),
        renew_form=RenewForm(),
        earliest_valid_until=local_today() + timedelta(days=1),
        latest_valid_until=services.latest_valid_until(),
        **_labels(),
        **listing_sections.listing_page(user, result),
        **sections.state_flags(result, own_application, applications),
    )


@bp.route("/<int:result_id>/apply", methods=["POST"])
@login_required
def apply(result_id: int):
    """An enterprise applies to adopt the result (揭榜转化)."""
    result = _result(result_id)
    notice = permissions.restriction_notice(current_user)
    if notice:  # say why, where a bare 403 would not
        flash(notice, "danger")
        return redirect(url_for("results.detail", result_id=result.id))
    permissions.require(permissions.can_adopt(current_user, result))
    form = AdoptionForm()
    if not form.validate_on_submit():
        return _render_detail(result, form)
    return _act(
        result,
        adoption.apply_to_adopt,
        "转化申请已提交，请等待成果方答复。",
        form.use_scenario.data,
        form.offered_terms.data,
    )


def _back(proposal: Proposal):
    if permissions.can_view_result(current_user, proposal.result):
        return redirect(url_for("results.detail", result_id=proposal.result_id))
    return redirect(url_for("results.mine"))


def _decide(proposal: Proposal, verb, success: str, *args):
    perform(verb, proposal, current_user, *args, success=success)
    return _back(proposal)


@bp.route("/applications/<int:proposal_id>/accept", methods=["POST"])
@login_required
def accept_application(proposal_id: int):
    """The owner accepts an application; a deal is opened."""
    proposal = _application(proposal_id)
    permissions.require(permissions.can_decide_proposals(current_user, proposal.result))
    return _decide(
        proposal, adoption.accept_application, "已接受申请，并已创建撮合项目。"
    )


@bp.route("/applications/<int:proposal_id>/decline", methods=["POST"])
@login_required
def decline_application(proposal_id: int):
    """The owner declines an application with a reason."""
    proposal = _application(proposal_id)
    permissions.require(permissions.can_decide_proposals(current_user, proposal.result))
    form = DeclineForm()
    if not form.validate_on_submit():
        errors = [e for errs in form.errors.values() for e in errs]
        flash("未能婉拒：" + "；".join(errors), "danger")
        return _back(proposal)
    return _decide(
        proposal, adoption.decline_application, "已婉拒该申请。", form.reason.data
    )


@bp.route("/applications/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw_application(proposal_id: int):
    """The applicant withdraws its application."""
    proposal = _application(proposal_id)
    permissions.require(permissions.is_member_of(current_user, proposal.org_id))
    return _decide(proposal, adoption.withdraw_application, "申请已撤回。")
