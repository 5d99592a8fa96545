"""Sysadmin verbs on accounts, each with a reason and an audit event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from marketplace import audit
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import LoginSession, Organisation, User, UserRole
from marketplace.security import revoke_all_sessions

REASON_MAX = 500
# What a user is, as the sysadmin changes it: the two organisation roles, or
# platform operator (a flag on top of the role, bureau staff only).
SYSADMIN = "sysadmin"
ROLE_LABELS = {
    UserRole.MEMBER.value: UserRole.MEMBER.label,
    UserRole.ORG_ADMIN.value: UserRole.ORG_ADMIN.label,
    SYSADMIN: "系统管理员",
}


def role_of(user: User) -> str:
    """The user's role as the admin area names it."""
    return SYSADMIN if user.is_sysadmin else str(user.role.value)


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写操作原因。", "reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(f"操作原因不能超过 {REASON_MAX} 字。", "reason")
    return reason


def _other_active_sysadmins(user: User) -> int:
    # The rows are locked (PostgreSQL) so that two operators demoting each
    # other at once cannot both pass the count and leave nobody.
    ids = db.session.scalars(
        select(User.id)
        .where(User.is_sysadmin.is_(True), User.active.is_(True), User.id != user.id)
        .with_for_update()
    ).all()
    return len(ids)


def _guard_operator(actor: Any, user: User, what: str) -> None:
    """Refuse to take operator rights from oneself or from the last operator."""
    if user.id == actor.id:
        raise StateError(f"不能{what}自己的账号。")
    if user.is_sysadmin and user.active and _other_active_sysadmins(user) == 0:
        raise StateError(f"不能{what}最后一名在用的系统管理员。")


def set_active(actor: Any, user: User, active: bool, reason: str | None) -> User:
    """Deactivate (ending every session) or reactivate an account."""
    reason = _reason(reason)
    if user.active == active:
        raise StateError("该账号已停用。" if not active else "该账号已是启用状态。")
    if not active:
        _guard_operator(actor, user, "停用")
        revoke_all_sessions(user)
    user.active = active
    audit.record(
        "admin_user_reactivated" if active else "admin_user_deactivated",
        obj=user,
        org_id=user.org_id,
        from_state="active" if not active else "inactive",
        to_state="active" if active else "inactive",
        note=reason,
    )
    return user


def reset_sessions(actor: Any, user: User, reason: str | None) -> int:
    """End every login session of an account, as a password change does."""
    reason = _reason(reason)
    open_sessions = db.session.scalar(
        select(func.count(LoginSession.id)).where(
            LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
        )
    )
    revoke_all_sessions(user)
    audit.record(
        "admin_sessions_reset",
        obj=user,
        org_id=user.org_id,
        note=f"{reason}（结束会话 {open_sessions} 个）",
    )
    return open_sessions


def change_role(actor: Any, user: User, role: str, reason: str | None) -> User:
    """Set member, org admin or sysadmin; operators are bureau staff only."""
    reason = _reason(reason)
    if role not in ROLE_LABELS:
        raise ServiceError("角色无效。", "role")
    before = role_of(user)
    if role == before:
        raise StateError("角色没有变化。", "role")
    if before == SYSADMIN:
        _guard_operator(actor, user, "撤销系统管理员角色：")
    if role == SYSADMIN:
        if not user.org.is_bureau:
            raise StateError("系统管理员只能由科技局工作人员担任。", "role")
        user.is_sysadmin = True
    else:
        user.is_sysadmin = False
        user.role = UserRole(role)
    audit.record(
        "admin_role_changed",
        obj=user,
        org_id=user.org_id,
        from_state=before,
        to_state=role,
        note=reason,
    )
    return user


# --- searches -------------------------------------------------------------------


def user_query(q: str = "", role: str = "", status: str = "", org_id=None):
    """Users by name, e-mail or organisation name, role and status."""
    query = select(User).join(Organisation, Organisation.id == User.org_id)
    if q:
        query = query.where(
            or_(
                User.name.contains(q, autoescape=True),
                User.email.contains(q.lower(), autoescape=True),
                Organisation.name.contains(q, autoescape=True),
            )
        )
    if role == SYSADMIN:
        query = query.where(User.is_sysadmin.is_(True))
    elif role in ROLE_LABELS:
        query = query.where(User.role == role, User.is_sysadmin.is_(False))
    if status in {"active", "inactive"}:
        query = query.where(User.active.is_(status == "active"))
    if org_id is not None:
        query = query.where(User.org_id == org_id)
    return query.order_by(User.id)


def org_query(q: str = "", kind: str = "", status: str = ""):
    """Organisations by name or credit code, kind and verification state."""
    query = select(Organisation)
    if q:
        query = query.where(
            or_(
                Organisation.name.contains(q, autoescape=True),
                Organisation.credit_code.contains(q.upper(), autoescape=True),
            )
        )
    if kind:
        query = query.where(Organisation.kind == kind)
    if status:
        query = query.where(Organisation.verification_status == status)
    return query.order_by(Organisation.name)


def member_counts(org_ids: list[int]) -> dict[int, int]:
    """Active members per organisation."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        select(User.org_id, func.count(User.id))
        .where(User.org_id.in_(org_ids), User.active.is_(True))
        .group_by(User.org_id)
    )
    return dict(rows.all())
