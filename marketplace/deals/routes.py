"""Thin views over the deal verbs."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, select

from marketplace import permissions
from marketplace.deals import board as board_filters
from marketplace.deals import bp, services
from marketplace.deals.forms import BrokerForm, DealForm, NoteForm, StageForm
from marketplace.deals.services import STAGE_LABELS
from marketplace.demands import sections as demand_sections
from marketplace.extensions import db
from marketplace.forms_common import BaseForm
from marketplace.messages import sections as message_sections
from marketplace.models import (
    Challenge,
    Contract,
    Deal,
    DealEvent,
    Organisation,
    Proposal,
    Result,
    User,
)
from marketplace.security import is_safe_next
from marketplace.views import id_arg, perform, perform_form, submit


@bp.route("/from-match", methods=["POST"])
@login_required
def from_match():
    """Open a deal (a lead) from a suggested match."""
    if not BaseForm().validate_on_submit():
        abort(400)
    challenge_id = request.form.get("challenge_id", type=id_arg)
    result_id = request.form.get("result_id", type=id_arg)
    if challenge_id is None or result_id is None:
        abort(404)
    challenge = db.session.get(Challenge, challenge_id)
    result = db.session.get(Result, result_id)
    if (
        challenge is None
        or result is None
        or not permissions.can_view_challenge(current_user, challenge)
        or not permissions.can_view_result(current_user, result)
    ):
        abort(404)
    permissions.require(permissions.can_start_deal(current_user, challenge, result))
    existing = services.open_deal_between(challenge, result)
    if existing is not None:
        _say_existing(existing)
    else:
        perform(
            services.open_deal_from_match,
            current_user,
            challenge,
            result,
            success="已发起撮合，双方已收到通知。",
        )
    back = request.form.get("next")
    return redirect(back if is_safe_next(back) else f"/challenges/{challenge.id}")


def _say_existing(deal: Deal) -> None:
    """Say a deal already exists instead of starting another, linked if visible."""
    if permissions.can_view_deal(current_user, deal):
        link = Markup('<a href="{}">{}</a>').format(
            url_for("deals.detail", deal_id=deal.id), deal.title
        )
        flash(Markup("这对需求与成果已有撮合项目，未重复发起：") + link, "info")
    else:
        # Another side's deal: its existence is said, its content is not shown.
        flash("这对需求与成果已有其他机构跟进的撮合项目，未重复发起。", "info")


# --- the broker workspace -----------------------------------------------------


def _visible_deal(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    # Not found and not visible look the same, so deal ids do not leak.
    if deal is None or not permissions.can_view_deal(current_user, deal):
        abort(404)
    return deal


def _org_names(deals: list[Deal]) -> dict[int, str]:
    ids = {
        i
        for d in deals
        for i in (d.demand_org_id, d.supply_org_id, d.broker_org_id)
        if i is not None
    }
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    )
    return dict(rows.all())


# A column of the board pages through its deals, most recently active first;
# the list view pages through all of them.
BOARD_COLUMN = 20
LIST_PAGE = 30


def _columns(visible, filters: board_filters.BoardFilters) -> tuple[dict, dict, dict]:
    """Each stage's page of cards, its count and its page number."""
    ids = visible.with_only_columns(Deal.id).scalar_subquery()
    counts = dict(
        db.session.execute(
            select(Deal.stage, func.count(Deal.id))
            .where(Deal.id.in_(ids))
            .group_by(Deal.stage)
        ).all()
    )
    columns: dict[str, list[Deal]] = {}
    pages: dict[str, int] = {}
    for key in STAGE_LABELS:
        if filters.stage and key != filters.stage:
            continue
        pages[key] = board_filters.column_page(key)
        columns[key] = list(
            db.session.scalars(
                visible.where(Deal.stage == key)
                .order_by(Deal.updated_at.desc(), Deal.id.desc())
                .offset((pages[key] - 1) * BOARD_COLUMN)
                .limit(BOARD_COLUMN)
            )
        )
    return columns, counts, pages


@bp.route("/")
@login_required
def board():
    """The pipeline board (or list) of the deals the user may see, filtered."""
    view = "list" if request.args.get("view") == "list" else "board"
    order = "asc" if request.args.get("order") == "asc" else "desc"
    filters = board_filters.read_filters()
    everything = permissions.visible_deals(current_user)
    visible = board_filters.narrow(everything, filters, stage=False)
    updated = Deal.updated_at.asc() if order == "asc" else Deal.updated_at.desc()
    page = None
    columns: dict[str, list[Deal]] = {}
    counts: dict[str, int] = {}
    pages: dict[str, int] = {}
    deals: list[Deal] = []
    # Nothing is listed for a date range that cannot be read; the form says why.
    if view == "list" and not filters.problem:
        if filters.stage:
            visible = visible.where(Deal.stage == filters.stage)
        page = db.paginate(
            visible.order_by(updated, Deal.id.desc()),
            per_page=LIST_PAGE,
            error_out=False,
        )
        deals = list(page.items)
    elif not filters.problem:
        columns, counts, pages = _columns(visible, filters)
        deals = [deal for column in columns.values() for deal in column]
    return render_template(
        "deals/board.html",
        view=view,
        filters=filters,
        order=order,
        deals=deals,
        page=page,
        columns=columns,
        counts=counts,
        pages=pages,
        per_column=BOARD_COLUMN,
        names=_org_names(deals),
        options=board_filters.options(everything),
        STAGE_LABELS=STAGE_LABELS,
        can_create=permissions.can_create_deal(current_user),
        board_leads=demand_sections.board_leads(current_user),
    ), (400 if filters.problem else 200)


def _prefill(form: DealForm) -> tuple[Challenge | None, Result | None, Proposal | None]:
    challenge = result = proposal = None
    source = request.values
    # The default of .get is not converted, so each name is read on its own.
    if cid := source.get("challenge_id", type=id_arg) or source.get(
        "challenge", type=id_arg
    ):
        challenge = db.session.get(Challenge, cid)
        if challenge is None or not permissions.can_view_challenge(
            current_user, challenge
        ):
            abort(404)
        # The form names the poster; an anonymous one stays hidden from outsiders.
        permissions.require(permissions.sees_seeker(current_user, challenge))
    if rid := source.get("result_id", type=id_arg) or source.get("result", type=id_arg):
        result = db.session.get(Result, rid)
        if result is None or not permissions.can_view_result(current_user, result):
            abort(404)
    if pid := source.get("proposal", type=id_arg):
        proposal = db.session.get(Proposal, pid)
        if proposal is None or not permissions.can_view_proposal(
            current_user, proposal
        ):
            abort(404)
    return challenge, result, proposal


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Open a deal from scratch, or prefilled from a challenge, result or proposal."""
    permissions.require(permissions.can_create_deal(current_user))
    form = DealForm()
    challenge, result, proposal = _prefill(form)
    if proposal is not None:
        existing = services.deal_for_proposal(proposal)
        if existing is not None:
            return redirect(url_for("deals.detail", deal_id=existing.id))
        flash("该申报尚未中选或获准，中选后会自动生成撮合项目。", "warning")
        return redirect(f"/proposals/{proposal.id}")
    existing = (
        services.open_deal_between(challenge, result)
        if challenge is not None and result is not None
        else None
    )
    if existing is not None:
        _say_existing(existing)
        if permissions.can_view_deal(current_user, existing):
            return redirect(url_for("deals.detail", deal_id=existing.id))
        return redirect(url_for("challenges.detail", challenge_id=challenge.id))
    if request.method == "GET":
        if challenge is not None:
            form.demand_org.data = challenge.org.name
            form.challenge_id.data = challenge.id
        if result is not None:
            form.supply_org.data = result.org.name
            form.result_id.data = result.id
        form.title.data = " × ".join(
            x.title[:90] for x in (challenge, result) if x is not None
        )
    if form.validate_on_submit():
        done, deal = submit(
            form,
            services.create_deal,
            current_user,
            form.demand_org.data,
            form.supply_org.data,
            form.title.data,
            challenge=challenge,
            result=result,
            success="撮合项目已创建。",
        )
        if done:
            return redirect(url_for("deals.detail", deal_id=deal.id))
    return render_template(
        "deals/new.html", form=form, challenge=challenge, result=result
    ), (422 if form.errors or form.form_errors else 200)


@bp.route("/<int:deal_id>")
@login_required
def detail(deal_id: int):
    """A deal: parties, broker, sources, contract, stage buttons, notes, timeline."""
    deal = _visible_deal(deal_id)
    events = db.session.scalars(
        select(DealEvent)
        .where(DealEvent.deal_id == deal.id)
        .order_by(DealEvent.created_at.desc(), DealEvent.id.desc())
    ).all()
    user_ids = {e.user_id for e in events if e.user_id} | {deal.broker_user_id or 0}
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    org_ids = {e.org_id for e in events if e.org_id}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
    )
    orgs = dict(rows.all())
    contracts = db.session.scalars(
        select(Contract).where(Contract.deal_id == deal.id).order_by(Contract.id)
    ).all()
    can_act = permissions.can_act_on_deal(current_user, deal)
    consortium = db.session.scalars(
        select(Organisation).where(
            Organisation.id.in_(permissions.consortium_org_ids(deal.proposal_id))
        )
    ).all()
    return render_template(
        "deals/detail.html",
        deal=deal,
        consortium=consortium,
        events=events,
        users=users,
        orgs=orgs,
        contracts=contracts,
        can_act=can_act,
        can_set_broker=permissions.can_set_broker(current_user, deal),
        moves=sorted(services.STAGE_MOVES[deal.stage], key=list(STAGE_LABELS).index),
        stage_form=StageForm(),
        note_form=NoteForm(),
        broker_form=BrokerForm(),
        STAGE_LABELS=STAGE_LABELS,
        object_thread=message_sections.object_thread(current_user, deal),
    )


def _acting_deal(deal_id: int) -> Deal:
    deal = _visible_deal(deal_id)
    permissions.require(permissions.can_act_on_deal(current_user, deal))
    return deal


@bp.route("/<int:deal_id>/stage", methods=["POST"])
@login_required
def stage(deal_id: int):
    """Move the deal to another stage."""
    deal = _acting_deal(deal_id)
    form = StageForm()
    perform_form(
        form,
        services.move_stage,
        deal,
        current_user,
        form.stage.data,
        form.note.data,
        success="阶段已更新。",
    )
    return redirect(url_for("deals.detail", deal_id=deal_id))


@bp.route("/<int:deal_id>/notes", methods=["POST"])
@login_required
def notes(deal_id: int):
    """Add a timeline note."""
    deal = _acting_deal(deal_id)
    form = NoteForm()
    perform_form(
        form,
        services.add_note,
        deal,
        current_user,
        form.note.data,
        success="备注已添加。",
    )
    return redirect(url_for("deals.detail", deal_id=deal_id))


@bp.route("/<int:deal_id>/broker", methods=["POST"])
@login_required
def broker(deal_id: int):
    """Set, replace or remove the broker organisation."""
    deal = _visible_deal(deal_id)
    permissions.require(permissions.can_set_broker(current_user, deal))
    form = BrokerForm()
    perform_form(
        form,
        services.set_broker,
        deal,
        current_user,
        form.broker.data or None,
        success="经纪机构已更新。",
    )
    return redirect(url_for("deals.detail", deal_id=deal_id))
