"""Organisation verbs: edit the profile, manage members, ask for verification."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from marketplace import audit, identifiers
from marketplace.auth.services import create_user
from marketplace.creditcode import credit_code_error, normalise
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.mail import texts
from marketplace.models import (
    Organisation,
    Region,
    User,
    UserRole,
    VerificationStatus,
)
from marketplace.security import revoke_all_sessions


def update_profile(
    org: Organisation,
    *,
    name: str,
    credit_code: str,
    region_code: str,
    description: str,
    website: str,
    contact_phone: str,
    contact_person: str | None = None,
) -> bool:
    """Save the profile; changing name, code or region sends it back for review.

    Returns whether the organisation must be verified again.
    """
    name = name.strip()
    code = normalise(credit_code) if credit_code else None
    if code:
        error = credit_code_error(code)
        if error:
            raise ServiceError(error, "credit_code")
        clash = db.session.scalar(
            select(Organisation.id).where(
                Organisation.credit_code == code, Organisation.id != org.id
            )
        )
        if clash:
            raise ServiceError("该统一社会信用代码已被其他机构使用。", "credit_code")
    clash = db.session.scalar(
        select(Organisation.id).where(
            func.lower(Organisation.name) == name.lower(), Organisation.id != org.id
        )
    )
    if clash:
        raise ServiceError("该机构名称已被其他机构使用。", "name")
    if db.session.get(Region, region_code) is None:
        raise ServiceError("所在县区无效。", "region")
    identity_changed = (name, code, region_code) != (
        org.name,
        org.credit_code,
        org.region_code,
    )
    org.name, org.credit_code, org.region_code = name, code, region_code
    org.description = description.strip()
    org.website = website.strip()
    org.contact_phone = identifiers.check_phone(contact_phone)
    if contact_person is not None:
        org.contact_person = contact_person.strip()[:60]
    reverify = identity_changed and not org.is_bureau and org.verified
    before = org.verification_status
    if reverify:
        # The bureau vouched for the old identity, not the new one.
        org.verified = False
        org.verified_at = None
        org.verification_status = VerificationStatus.PENDING
    audit.record(
        "org_updated",
        obj=org,
        org_id=org.id,
        from_state=before,
        to_state=org.verification_status,
    )
    return reverify


def resubmit_for_verification(org: Organisation) -> None:
    """A refused organisation asks the bureau to look again."""
    if org.verification_status != VerificationStatus.REFUSED:
        raise StateError("只有未通过审核的机构可以重新提交审核。")
    org.verification_status = VerificationStatus.PENDING
    audit.record(
        "org_resubmitted",
        obj=org,
        org_id=org.id,
        from_state=VerificationStatus.REFUSED,
        to_state=VerificationStatus.PENDING,
    )


def add_member(
    org: Organisation, *, email: str, name: str, role: str, inviter: User | None
) -> User:
    """An org admin invites a colleague by e-mail; they set their own password."""
    # A password nobody knows until the invitee chooses one through the link:
    # the admin never sees or sets it.
    user = create_user(
        org=org,
        email=email,
        password=secrets.token_urlsafe(32),
        name=name,
        role=role,
        confirmed=False,
    )
    texts.send_invitation(user, inviter)
    audit.record("member_invited", obj=user, org_id=org.id, note=user.email)
    return user


def _admin_count(org: Organisation) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.org_id == org.id,
            User.role == UserRole.ORG_ADMIN,
            User.active.is_(True),
        )
    )


def _member(org: Organisation, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.org_id != org.id:
        raise ServiceError("该用户不是本机构成员。")
    return user


def set_member_role(org: Organisation, user_id: int, role: str) -> User:
    """Make a member an admin or back; an organisation keeps at least one admin."""
    user = _member(org, user_id)
    new_role = UserRole(role)
    if (
        user.role == UserRole.ORG_ADMIN
        and new_role != UserRole.ORG_ADMIN
        and _admin_count(org) <= 1
    ):
        raise StateError("机构至少需要保留一名管理员。")
    before = user.role
    user.role = new_role
    audit.record(
        "member_role_changed", obj=user, org_id=org.id, from_state=before, to_state=role
    )
    return user


def set_member_active(org: Organisation, user_id: int, active: bool) -> User:
    """Deactivate (or reactivate) a member; deactivation ends their sessions."""
    user = _member(org, user_id)
    if not active and user.role == UserRole.ORG_ADMIN and _admin_count(org) <= 1:
        raise StateError("不能停用机构唯一的管理员。")
    user.active = active
    if not active:
        revoke_all_sessions(user)
    audit.record(
        "member_activated" if active else "member_deactivated", obj=user, org_id=org.id
    )
    return user
