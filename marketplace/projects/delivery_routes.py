"""Thin views: the winner's deliverables, their files, the owner's acceptance."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.confirm import confirmed
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import DeliverableFile, ProjectStatus
from marketplace.projects import agreement, bp, milestones
from marketplace.projects.forms import DeliverableForm, ReturnForm
from marketplace.projects.routes import (
    LABELS,
    back,
    load_milestone,
    load_project,
)
from marketplace.proposals import attachments
from marketplace.views import perform, perform_form


@bp.route(
    "/<int:project_id>/milestones/<int:milestone_id>/deliver", methods=["GET", "POST"]
)
@login_required
def deliver(project_id: int, milestone_id: int):
    """The winner submits a milestone's deliverable with attachments."""
    project = load_project(project_id)
    milestone = load_milestone(project, milestone_id)
    permissions.require(permissions.can_deliver(current_user, project))
    if request.method == "GET" and (
        project.status != ProjectStatus.RUNNING
        or milestone.status not in milestones.DELIVERABLE_STATES
    ):
        flash("该里程碑当前不能提交成果。", "warning")
        return back(project)
    form = DeliverableForm()
    if form.validate_on_submit():
        stored: list[str] = []
        try:
            submitted = milestones.submit_deliverable(
                milestone, current_user, form.note.data, form.attachments.data
            )
            stored = milestones.stored_names(submitted)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form.attach_error(error)
        except BaseException:
            db.session.rollback()
            # A failed commit leaves files without rows: remove them.
            attachments.discard(stored)
            raise
        else:
            flash("成果已提交，等待发榜企业验收。", "success")
            return back(project)
    return render_template(
        "projects/deliver.html",
        form=form,
        project=project,
        milestone=milestone,
        **LABELS,
    )


@bp.route("/files/<int:file_id>")
def download(file_id: int):
    """A deliverable's file, for the owner, the winner and the bureau."""
    item = db.session.get(DeliverableFile, file_id)
    if item is None or not permissions.can_view_project(
        current_user, item.deliverable.milestone.project
    ):
        abort(404)
    return attachments.send_stored(item)


@bp.route("/<int:project_id>/agree", methods=["POST"])
@login_required
def agree(project_id: int):
    """The winner agrees to the owner's milestone plan as it stands."""
    project = load_project(project_id)
    permissions.require(permissions.can_deliver(current_user, project))
    if confirmed():
        perform(
            agreement.agree_plan,
            project,
            current_user,
            success="已同意里程碑计划，发榜企业可以开始实施。",
        )
    return back(project)


@bp.route("/<int:project_id>/milestones/<int:milestone_id>/accept", methods=["POST"])
@login_required
def accept(project_id: int, milestone_id: int):
    """The owner accepts a deliverable; its amount is released."""
    project = load_project(project_id)
    milestone = load_milestone(project, milestone_id)
    permissions.require(permissions.can_plan_project(current_user, project))
    # Money leaves with the click: the owner ticks that they checked the amount.
    if confirmed():
        perform(
            milestones.accept_milestone,
            milestone,
            current_user,
            success="已验收，资金已拨付并记入技术合同收款。",
        )
    return back(project)


@bp.route("/<int:project_id>/milestones/<int:milestone_id>/return", methods=["POST"])
@login_required
def return_milestone(project_id: int, milestone_id: int):
    """The owner returns a deliverable with comments."""
    project = load_project(project_id)
    milestone = load_milestone(project, milestone_id)
    permissions.require(permissions.can_plan_project(current_user, project))
    form = ReturnForm()
    perform_form(
        form,
        milestones.return_milestone,
        milestone,
        current_user,
        form.comment.data,
        success="已退回修改。",
    )
    return back(project)
