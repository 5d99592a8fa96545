"""Thin views of the sysadmin's area: users and organisations."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace.admin import bp, services
from marketplace.admin.audit_log import (
    AuditFilters,
    action_label,
    audit_query,
    with_people,
)
from marketplace.admin.forms import ReasonForm, RoleForm
from marketplace.extensions import db
from marketplace.models import (
    ORG_KIND_LABELS,
    VERIFICATION_LABELS,
    LoginSession,
    Organisation,
    User,
)
from marketplace.permissions import sysadmin_required
from marketplace.views import id_arg, perform_form

PER_PAGE = 30
STATUS_LABELS = {"active": "在用", "inactive": "已停用"}


@bp.get("/")
@sysadmin_required
def index():
    """The area's front page: where each tool is."""
    return render_template("admin/index.html")


@bp.get("/users")
@sysadmin_required
def users():
    """Users by name, e-mail, organisation, role and status, paged."""
    q = request.args.get("q", "").strip()[:60]
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    org_id = request.args.get("org", type=id_arg)
    org = db.session.get(Organisation, org_id) if org_id else None
    page = db.paginate(
        services.user_query(q, role, status, org_id),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/users.html",
        page=page,
        q=q,
        role=role,
        status=status,
        org=org,
        role_labels=services.ROLE_LABELS,
        status_labels=STATUS_LABELS,
        role_of=services.role_of,
    )


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users/<int:user_id>")
@sysadmin_required
def user(user_id: int):
    """One account: its state, open sessions, actions and recent audit events."""
    account = _user(user_id)
    sessions = db.session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == account.id, LoginSession.revoked_at.is_(None))
        .order_by(LoginSession.last_seen_at.desc())
    ).all()
    about = AuditFilters(object_type="users", object_id=account.id)
    events = with_people(list(db.session.scalars(audit_query(about).limit(20))))
    role_form = RoleForm(role=services.role_of(account))
    return render_template(
        "admin/user.html",
        account=account,
        sessions=sessions,
        events=events,
        reason_form=ReasonForm(),
        role_form=role_form,
        role_labels=services.ROLE_LABELS,
        role_of=services.role_of,
        action_label=action_label,
        is_self=account.id == current_user.id,
    )


def _act(user_id: int, form: ReasonForm, verb, *args, success: str):
    account = _user(user_id)
    reason = form.reason.data
    perform_form(form, verb, current_user, account, *args, reason, success=success)
    return redirect(url_for("admin.user", user_id=account.id))


@bp.post("/users/<int:user_id>/deactivate")
@sysadmin_required
def deactivate(user_id: int):
    """Deactivate an account and end its sessions."""
    return _act(
        user_id,
        ReasonForm(),
        services.set_active,
        False,
        success="账号已停用，其登录会话已全部结束。",
    )


@bp.post("/users/<int:user_id>/reactivate")
@sysadmin_required
def reactivate(user_id: int):
    """Let a deactivated account log in again."""
    return _act(
        user_id, ReasonForm(), services.set_active, True, success="账号已重新启用。"
    )


@bp.post("/users/<int:user_id>/sessions")
@sysadmin_required
def reset_sessions(user_id: int):
    """End every login session of an account."""
    return _act(
        user_id,
        ReasonForm(),
        services.reset_sessions,
        success="已结束该账号的全部登录会话，需重新登录。",
    )


@bp.post("/users/<int:user_id>/role")
@sysadmin_required
def role(user_id: int):
    """Change an account's role."""
    form = RoleForm()
    # The form holds the posted role already; _act uses it only once validated.
    return _act(
        user_id, form, services.change_role, form.role.data, success="角色已变更。"
    )


@bp.get("/orgs")
@sysadmin_required
def orgs():
    """Organisations by name or credit code, kind and verification state, paged."""
    q = request.args.get("q", "").strip()[:60]
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    kind = kind if kind in ORG_KIND_LABELS else ""
    status = status if status in VERIFICATION_LABELS else ""
    page = db.paginate(
        services.org_query(q, kind, status), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "admin/orgs.html",
        page=page,
        q=q,
        kind=kind,
        status=status,
        kind_labels=ORG_KIND_LABELS,
        verification_labels=VERIFICATION_LABELS,
        members=services.member_counts([o.id for o in page.items]),
    )
