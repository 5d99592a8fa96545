"""Thin views over the expert-pool verbs (bureau only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.experts import bp, services
from marketplace.experts.forms import ExpertForm, NewExpertForm
from marketplace.extensions import db
from marketplace.forms_common import BaseForm
from marketplace.models import ExpertProfile
from marketplace.views import EXPIRED_FORM, perform_form, submit

PER_PAGE = 30


def _require_manager() -> None:
    permissions.require(permissions.can_manage_experts(current_user))


def _expert(expert_id: int) -> ExpertProfile:
    _require_manager()
    expert = db.session.scalar(
        permissions.visible_experts(current_user).where(ExpertProfile.id == expert_id)
    )
    if expert is None:
        abort(404)
    return expert


def _field_names() -> dict[str, str]:
    return dict(services.field_options())


@bp.route("/")
@login_required
def index():
    """The expert pool, filtered by field, state and name or affiliation."""
    _require_manager()
    names = _field_names()
    field = request.args.get("field", "")
    field = field if field in names else ""
    state = request.args.get("state", "")
    state = state if state in services.STATES else ""
    q = request.args.get("q", "").strip()[:50]
    query = services.search_experts(current_user, field, state, q)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "experts/index.html",
        page=page,
        field=field,
        state=state,
        q=q,
        field_names=names,
        states=services.STATES,
        action_form=BaseForm(),
        can_import=permissions.is_bureau(current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add an expert: an existing user, or a new account in its organisation."""
    _require_manager()
    form = NewExpertForm()
    if form.validate_on_submit():
        done, expert = submit(
            form,
            services.add_expert,
            current_user,
            form.email.data,
            form.to_data(),
            name=form.name.data or "",
            org_text=form.affiliation.data or "",
            password=form.password.data or "",
            success=None,
        )
        if done:
            flash(f"已将 {expert.name} 加入专家库。", "success")
            return redirect(url_for("experts.index"))
    return render_template("experts/form.html", form=form, expert=None)


@bp.route("/<int:expert_id>/edit", methods=["GET", "POST"])
@login_required
def edit(expert_id: int):
    """Edit an expert's profile."""
    expert = _expert(expert_id)
    form = ExpertForm()
    if request.method == "GET":
        form.fill(expert)
    elif form.validate_on_submit():
        done, _ = submit(
            form,
            services.update_expert,
            expert,
            current_user,
            form.to_data(),
            success="专家信息已保存。",
        )
        if done:
            return redirect(url_for("experts.index"))
    return render_template("experts/form.html", form=form, expert=expert)


def _act(expert_id: int, verb, success: str):
    expert = _expert(expert_id)
    perform_form(
        BaseForm(), verb, expert, current_user, success=success, problem=EXPIRED_FORM
    )
    return redirect(url_for("experts.index"))


@bp.route("/<int:expert_id>/retire", methods=["POST"])
@login_required
def retire(expert_id: int):
    """Take an expert out of the pool."""
    return _act(expert_id, services.retire_expert, "该专家已退出专家库。")


@bp.route("/<int:expert_id>/reinstate", methods=["POST"])
@login_required
def reinstate(expert_id: int):
    """Bring a retired expert back."""
    return _act(expert_id, services.reinstate_expert, "该专家已恢复入库。")
