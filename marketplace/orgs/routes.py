"""Thin views over the organisation verbs."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from marketplace import permissions
from marketplace.extensions import db
from marketplace.files import sections as file_sections
from marketplace.forms_common import choices
from marketplace.models import Organisation, OrgKind, Result, ResultStatus
from marketplace.orgs import bp, services
from marketplace.orgs.forms import (
    MemberActiveForm,
    MemberForm,
    MemberRoleForm,
    ProfileForm,
)
from marketplace.projects import sections as project_sections
from marketplace.reference import region_options
from marketplace.views import perform, perform_form, submit

PER_PAGE = 20


def _visible_org(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    # Not found and not visible look the same, so ids of pending orgs do not leak.
    if org is None or not permissions.can_view_org(current_user, org):
        abort(404)
    return org


def _managed_org(org_id: int) -> Organisation:
    org = _visible_org(org_id)
    permissions.require(permissions.can_manage_members(current_user, org))
    return org


@bp.route("/")
def index():
    """The directory of verified organisations, filterable by kind and region."""
    query = permissions.visible_organisations(current_user)
    kind = request.args.get("kind", "")
    region = request.args.get("region", "")
    q = request.args.get("q", "").strip()[:50]
    if kind in {k.value for k in OrgKind}:
        query = query.where(Organisation.kind == kind)
    if region:
        query = query.where(Organisation.region_code == region)
    if q:
        query = query.where(Organisation.name.contains(q, autoescape=True))
    page = db.paginate(
        query.order_by(Organisation.name), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "orgs/index.html",
        page=page,
        regions=region_options(),
        kind=kind,
        region=region,
        q=q,
    )


@bp.route("/<int:org_id>")
def profile(org_id: int):
    """An organisation's profile."""
    org = _visible_org(org_id)
    published = db.session.scalar(
        select(func.count(Result.id)).where(
            Result.org_id == org.id, Result.status == ResultStatus.PUBLISHED
        )
    )
    return render_template(
        "orgs/profile.html",
        org=org,
        published_results=published,
        can_edit=permissions.can_edit_org(current_user, org),
        is_bureau=permissions.is_bureau(current_user),
        is_insider=permissions.is_insider(current_user, org.id),
        delivery_record=project_sections.delivery_record(current_user, org),
        org_documents={org.id: file_sections.org_documents(current_user, org)},
    )


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit(org_id: int):
    """Edit the profile (org admins)."""
    org = _visible_org(org_id)
    permissions.require(permissions.can_edit_org(current_user, org))
    form = ProfileForm(obj=org)
    form.region.choices = choices(region_options())
    if request.method == "GET":
        form.region.data = org.region_code
    if form.validate_on_submit():
        done, reverify = submit(
            form,
            services.update_profile,
            org,
            name=form.name.data,
            credit_code=form.credit_code.data or "",
            region_code=form.region.data,
            description=form.description.data or "",
            website=form.website.data or "",
            contact_phone=form.contact_phone.data or "",
            contact_person=form.contact_person.data or "",
            success=None,
        )
        if done:
            flash(
                "资料已保存。名称、信用代码或县区已变更，需重新经科技局审核。"
                if reverify
                else "资料已保存。",
                "warning" if reverify else "success",
            )
            return redirect(url_for("orgs.profile", org_id=org.id))
    return render_template("orgs/edit.html", org=org, form=form)


@bp.route("/<int:org_id>/resubmit", methods=["POST"])
@login_required
def resubmit(org_id: int):
    """Ask the bureau to verify a refused organisation again."""
    org = _visible_org(org_id)
    permissions.require(permissions.can_edit_org(current_user, org))
    perform(services.resubmit_for_verification, org, success="已重新提交审核。")
    return redirect(url_for("orgs.profile", org_id=org.id))


@bp.route("/<int:org_id>/members", methods=["GET", "POST"])
@login_required
def members(org_id: int):
    """List members and add one (org admins)."""
    org = _managed_org(org_id)
    form = MemberForm()
    if form.validate_on_submit():
        done, user = submit(
            form,
            services.add_member,
            org,
            email=form.email.data,
            name=form.name.data,
            role=form.role.data,
            inviter=current_user._get_current_object(),
            success=None,
        )
        if done:
            flash(
                f"已向 {user.email} 发送邀请邮件，成员通过邮件中的链接自行设置密码。",
                "success",
            )
            return redirect(url_for("orgs.members", org_id=org.id))
    users = db.session.scalars(permissions.org_members(org)).all()
    return render_template(
        "orgs/members.html",
        org=org,
        form=form,
        users=users,
        role_form=MemberRoleForm(),
        active_form=MemberActiveForm(),
    )


@bp.route("/<int:org_id>/members/<int:user_id>/role", methods=["POST"])
@login_required
def member_role(org_id: int, user_id: int):
    """Change a member's role."""
    org = _managed_org(org_id)
    form = MemberRoleForm()
    perform_form(
        form,
        services.set_member_role,
        org,
        user_id,
        form.role.data,
        success="角色已更新。",
        problem="角色无效。",
    )
    return redirect(url_for("orgs.members", org_id=org.id))


@bp.route("/<int:org_id>/members/<int:user_id>/active", methods=["POST"])
@login_required
def member_active(org_id: int, user_id: int):
    """Deactivate or reactivate a member."""
    org = _managed_org(org_id)
    form = MemberActiveForm()
    if not form.validate_on_submit() or form.active.data not in {"0", "1"}:
        flash("请求无效。", "danger")
        return redirect(url_for("orgs.members", org_id=org.id))
    perform(
        services.set_member_active,
        org,
        user_id,
        form.active.data == "1",
        success="成员状态已更新。",
    )
    return redirect(url_for("orgs.members", org_id=org.id))
