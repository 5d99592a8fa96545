"""Thin views: acceptance checks, failure exemption and re-listing."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.confirm import confirmed
from marketplace.extensions import db
from marketplace.models import Acceptance, ExemptionStatus, ProjectStatus
from marketplace.projects import acceptance, bp, exemption
from marketplace.projects.forms import (
    ConcludeForm,
    DecisionForm,
    ExemptionForm,
    ScheduleForm,
)
from marketplace.projects.routes import LABELS, back, load_project
from marketplace.views import attempt, perform_form, submit


@bp.route("/<int:project_id>/acceptances", methods=["POST"])
@login_required
def schedule(project_id: int):
    """The bureau schedules the mid-term check or the final acceptance."""
    project = load_project(project_id)
    permissions.require(permissions.can_manage_acceptance(current_user))
    form = ScheduleForm()
    perform_form(
        form,
        acceptance.schedule_acceptance,
        project,
        current_user,
        form.kind.data,
        form.scheduled_on.data,
        success="已安排验收，请组建专家组。",
    )
    return back(project)


@bp.route(
    "/<int:project_id>/acceptances/<int:acceptance_id>/conclude",
    methods=["GET", "POST"],
)
@login_required
def conclude(project_id: int, acceptance_id: int):
    """The bureau records the panel's conclusion and the report."""
    project = load_project(project_id)
    item = db.session.get(Acceptance, acceptance_id)
    if item is None or item.project_id != project.id:
        abort(404)
    permissions.require(permissions.can_manage_acceptance(current_user))
    if item.conclusion is not None:
        flash("该验收已有结论。", "info")
        return back(project)
    form = ConcludeForm()
    if form.validate_on_submit():
        done, _ = submit(
            form,
            acceptance.conclude_acceptance,
            item,
            current_user,
            form.conclusion.data,
            form.report.data,
            success="验收结论已记录。",
        )
        if done:
            return back(project)
    return render_template(
        "projects/conclude.html",
        form=form,
        project=project,
        acceptance=item,
        panel=acceptance.completed_panel(item) or acceptance.panel_for(item),
        **LABELS,
    )


@bp.route("/<int:project_id>/exemption", methods=["GET", "POST"])
@login_required
def exemption_apply(project_id: int):
    """The winner of a failed project applies for exemption (容错免责)."""
    project = load_project(project_id)
    permissions.require(permissions.can_deliver(current_user, project))
    if request.method == "GET" and (
        project.status != ProjectStatus.FAILED or project.exemption is not None
    ):
        flash("本项目当前不能申请容错免责。", "warning")
        return back(project)
    form = ExemptionForm()
    if form.validate_on_submit():
        done, _ = submit(
            form,
            exemption.apply_exemption,
            project,
            current_user,
            form.account.data,
            success="容错免责申请已提交，等待科技局组织专家认定。",
        )
        if done:
            return back(project)
    return render_template(
        "projects/exemption_apply.html", form=form, project=project, **LABELS
    )


@bp.route("/<int:project_id>/exemption/decide", methods=["GET", "POST"])
@login_required
def exemption_decide(project_id: int):
    """The bureau decides on the application, with reasons."""
    project = load_project(project_id)
    item = project.exemption
    if item is None:
        abort(404)
    permissions.require(permissions.can_manage_acceptance(current_user))
    if item.status != ExemptionStatus.APPLIED:
        flash("该申请已有认定结论。", "info")
        return back(project)
    form = DecisionForm()
    if form.validate_on_submit():
        done, _ = submit(
            form,
            exemption.decide_exemption,
            item,
            current_user,
            form.decision.data == "granted",
            form.reason.data,
            success="认定结论已记录。",
        )
        if done:
            return back(project)
    return render_template(
        "projects/exemption_decide.html",
        form=form,
        project=project,
        exemption=item,
        panel=exemption.panel_for(item),
        **LABELS,
    )


@bp.route("/<int:project_id>/relist", methods=["POST"])
@login_required
def relist(project_id: int):
    """The owner re-lists an exempted failure as a new draft challenge."""
    project = load_project(project_id)
    permissions.require(permissions.can_plan_project(current_user, project))
    # A project is re-listed once only: the owner ticks a confirmation first.
    if not confirmed():
        return back(project)
    done, challenge = attempt(
        exemption.relist,
        project,
        current_user,
        success="已生成新的需求草稿，请修改技术路线要求后提交审核。",
    )
    if not done:
        return back(project)
    return redirect(url_for("challenges.detail", challenge_id=challenge.id))
