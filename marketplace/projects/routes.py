"""Thin views: the project list, starting a project, its page and the plan."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from marketplace import permissions
from marketplace.clock import local_today
from marketplace.confirm import confirmed
from marketplace.extensions import db
from marketplace.forms_common import choices
from marketplace.listings.states import STATUS_LABELS
from marketplace.messages import sections as message_sections
from marketplace.models import (
    AuditEvent,
    Challenge,
    Milestone,
    Organisation,
    Project,
    ProjectStatus,
    User,
)
from marketplace.projects import (
    acceptance,
    agreement,
    bp,
    exemption,
    milestones,
    overdue,
    sections,
    services,
)
from marketplace.projects.forms import (
    ActionForm,
    MilestoneForm,
    ReturnForm,
    ScheduleForm,
    StartForm,
)
from marketplace.projects.sections import panel_url
from marketplace.views import EXPIRED_FORM, perform, submit

PER_PAGE = 20
LABELS = {
    "project_labels": services.PROJECT_STATUS_LABELS,
    "milestone_labels": services.MILESTONE_STATUS_LABELS,
    "kind_labels": services.ACCEPTANCE_KIND_LABELS,
    "conclusion_labels": services.CONCLUSION_LABELS,
    "exemption_labels": services.EXEMPTION_STATUS_LABELS,
    "verdict_labels": services.VERDICT_LABELS,
    "action_labels": services.ACTION_LABELS,
    "challenge_labels": STATUS_LABELS,
}


def load_project(project_id: int) -> Project:
    """The project, or 404 when missing or not visible to the user."""
    project = db.session.get(Project, project_id)
    # Not found and not visible look the same: others' project ids do not leak.
    if project is None or not permissions.can_view_project(current_user, project):
        abort(404)
    return project


def load_milestone(project: Project, milestone_id: int) -> Milestone:
    """A milestone of this project, or 404."""
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.project_id != project.id:
        abort(404)
    return milestone


def posted() -> bool:
    """Whether a bare action form passed its CSRF check (flashes when not)."""
    if ActionForm().validate_on_submit():
        return True
    flash(EXPIRED_FORM, "danger")
    return False


def back(project: Project):
    """Redirect to the project's page."""
    return redirect(url_for("projects.detail", project_id=project.id))


@bp.route("/")
@login_required
def index():
    """Projects the user's organisation owns or delivers (all for the bureau)."""
    status = request.args.get("status", "")
    query = permissions.visible_projects(current_user)
    if status in services.PROJECT_STATUS_LABELS:
        query = query.where(Project.status == status)
    page = db.paginate(
        query.order_by(Project.created_at.desc(), Project.id.desc()),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "projects/index.html",
        page=page,
        status=status,
        overdue=overdue.overdue_projects([p.id for p in page.items]),
        **LABELS,
    )


@bp.route("/start/<int:challenge_id>", methods=["GET", "POST"])
@login_required
def start(challenge_id: int):
    """The owner starts the project of an awarded challenge (立项)."""
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or not permissions.can_view_challenge(current_user, challenge):
        abort(404)
    permissions.require(permissions.can_start_project(current_user, challenge))
    existing = services.project_of(challenge)
    if existing is not None:
        flash("该榜单已立项。", "info")
        return back(existing)
    winner = services.winner_of(challenge)
    contracts = services.candidate_contracts(challenge, winner) if winner else []
    form = StartForm()
    form.contract.choices = choices(
        (c.id, f"{c.title or '技术合同'}（#{c.id}，{c.signed_on:%Y-%m-%d}）")
        for c in contracts
    )
    if form.validate_on_submit():
        done, project = submit(
            form,
            services.start_project,
            challenge,
            current_user,
            form.contract.data,
            success="已立项，请制定里程碑计划。",
        )
        if done:
            return back(project)
    return render_template(
        "projects/start.html",
        form=form,
        challenge=challenge,
        winner=winner,
        contracts=contracts,
        deal=services.deal_of(winner) if winner else None,
        startable=challenge.status in services.STARTABLE_CHALLENGE_STATES,
        **LABELS,
    )


def _history(project: Project) -> list[tuple]:
    parts = [
        (Project.__tablename__, [project.id]),
        (Milestone.__tablename__, [m.id for m in project.milestones]),
        ("acceptances", [a.id for a in project.acceptances]),
        ("exemptions", [project.exemption.id] if project.exemption else []),
    ]
    conditions = [
        (AuditEvent.object_type == kind) & AuditEvent.object_id.in_(ids)
        for kind, ids in parts
        if ids
    ]
    return list(
        db.session.execute(
            select(AuditEvent, User, Organisation)
            .outerjoin(User, User.id == AuditEvent.user_id)
            .outerjoin(Organisation, Organisation.id == AuditEvent.org_id)
            .where(or_(*conditions))
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(200)
        )
    )


def _checks(project: Project) -> list[dict]:
    rows = []
    for item in project.acceptances:
        panel = acceptance.panel_for(item)
        rows.append(
            {
                "acceptance": item,
                "panel": panel,
                "panel_detail": panel_url("panels.detail", panel_id=panel.id)
                if panel
                else None,
                "panel_new": panel_url(
                    "panels.new",
                    challenge=project.challenge_id,
                    purpose=item.kind.value,
                    acceptance=item.id,
                ),
            }
        )
    return rows


def _exemption_view(project: Project) -> dict | None:
    item = project.exemption
    if item is None:
        return None
    panel = exemption.panel_for(item)
    return {
        "exemption": item,
        "panel": panel,
        "panel_detail": panel_url("panels.detail", panel_id=panel.id)
        if panel
        else None,
        "panel_new": panel_url(
            "panels.new",
            challenge=project.challenge_id,
            purpose="exemption",
            exemption=item.id,
        ),
    }


def _schedulable(project: Project) -> list[tuple[str, str]]:
    if project.status != ProjectStatus.RUNNING:
        return []
    kinds = {a.kind.value: a for a in project.acceptances}
    options = []
    if "midterm" not in kinds and "final" not in kinds:
        options.append(("midterm", "中期检查"))
    midterm = kinds.get("midterm")
    if "final" not in kinds and (midterm is None or midterm.conclusion is not None):
        options.append(("final", "结题验收"))
    return options


@bp.route("/<int:project_id>")
@login_required
def detail(project_id: int):
    """A project: plan, deliverables, funding, checks, exemption and history."""
    project = load_project(project_id)
    user = current_user
    today = local_today()
    is_bureau = permissions.can_manage_acceptance(user)
    schedule_form = ScheduleForm()
    schedule_form.kind.choices = choices(_schedulable(project) if is_bureau else [])
    contract = project.contract
    return render_template(
        "projects/detail.html",
        project=project,
        challenge=project.challenge,
        contract=contract,
        can_view_contract=permissions.can_view_contract(user, contract),
        is_owner=permissions.can_plan_project(user, project),
        is_winner=permissions.can_deliver(user, project),
        is_bureau=is_bureau,
        overdue={m.id for m in project.milestones if overdue.is_overdue(m, today)},
        planned_fen=sum(m.amount_fen for m in project.milestones),
        plan_agreement=(
            agreement.plan_agreed(project)
            if project.status == ProjectStatus.PLANNING
            else None
        ),
        checks=_checks(project),
        exemption_view=_exemption_view(project),
        may_relist=permissions.can_relist_project(user, project),
        may_apply=permissions.can_apply_for_exemption(user, project),
        action_form=ActionForm(),
        return_form=ReturnForm(),
        schedule_form=schedule_form,
        object_thread=message_sections.object_thread(user, project),
        **sections.state_flags(project),
        history=_history(project),
        **LABELS,
    )


def _milestone_data(form: MilestoneForm) -> milestones.MilestoneData:
    return milestones.MilestoneData(
        deliverable=form.deliverable.data or "",
        description=form.description.data or "",
        due_on=form.due_on.data,
        amount_fen=form.amount.data,
    )


def _plan_page(project: Project, milestone: Milestone | None):
    permissions.require(permissions.can_plan_project(current_user, project))
    if project.status != ProjectStatus.PLANNING:
        flash("项目已开始实施，里程碑计划不能再修改。", "warning")
        return back(project)
    if milestone is not None and request.method == "GET":
        form = MilestoneForm(
            data={
                "deliverable": milestone.deliverable,
                "description": milestone.description,
                "due_on": milestone.due_on,
                "amount": milestone.amount_fen,
            }
        )
    else:
        form = MilestoneForm()
    if form.validate_on_submit():
        data = _milestone_data(form)
        if milestone is None:
            verb, args = milestones.add_milestone, (project, current_user, data)
        else:
            verb, args = milestones.update_milestone, (milestone, current_user, data)
        done, _ = submit(form, verb, *args, success="里程碑已保存。")
        if done:
            return back(project)
    return render_template(
        "projects/milestone_form.html",
        form=form,
        project=project,
        milestone=milestone,
        planned_fen=sum(m.amount_fen for m in project.milestones if m is not milestone),
        **LABELS,
    )


@bp.route("/<int:project_id>/milestones/new", methods=["GET", "POST"])
@login_required
def milestone_new(project_id: int):
    """The owner adds a milestone to the plan."""
    return _plan_page(load_project(project_id), None)


@bp.route(
    "/<int:project_id>/milestones/<int:milestone_id>/edit", methods=["GET", "POST"]
)
@login_required
def milestone_edit(project_id: int, milestone_id: int):
    """The owner edits a planned milestone."""
    project = load_project(project_id)
    return _plan_page(project, load_milestone(project, milestone_id))


@bp.route("/<int:project_id>/milestones/<int:milestone_id>/delete", methods=["POST"])
@login_required
def milestone_delete(project_id: int, milestone_id: int):
    """The owner removes a planned milestone."""
    project = load_project(project_id)
    milestone = load_milestone(project, milestone_id)
    permissions.require(permissions.can_plan_project(current_user, project))
    if posted():
        perform(
            milestones.remove_milestone,
            milestone,
            current_user,
            success="里程碑已删除。",
        )
    return back(project)


@bp.route("/<int:project_id>/begin", methods=["POST"])
@login_required
def begin(project_id: int):
    """The owner ends planning and the project starts running."""
    project = load_project(project_id)
    permissions.require(permissions.can_plan_project(current_user, project))
    # The plan is fixed once the project runs: ticked, not a stray click.
    if confirmed():
        perform(
            milestones.begin_delivery,
            project,
            current_user,
            success="里程碑计划已确定，项目开始实施。",
        )
    return back(project)
