"""Accounts: e-mail rules, look-ups of users and organisations, and the verbs that
register an organisation, create a user, authenticate and change a password.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace import audit
from marketplace.auth.passwords import check_password
from marketplace.clock import utcnow
from marketplace.creditcode import credit_code_error, normalise
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import (
    Organisation,
    OrgKind,
    Region,
    User,
    UserRole,
    VerificationStatus,
)
from marketplace.security import revoke_all_sessions

MAX_EMAIL = 254  # RFC 5321's limit on a forward path

# Checked against when the e-mail is unknown, so both paths take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def hash_password(password: str) -> str:
    """Werkzeug's scrypt hash (cost set by PASSWORD_HASH_METHOD)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively."""
    return (email or "").strip().lower()


def normal_email(value: str, name: str = "email", label: str = "邮箱") -> str:
    """A syntactically valid e-mail, lower-cased; ServiceError otherwise."""
    value = (value or "").strip()
    if len(value) > MAX_EMAIL:
        raise ServiceError(f"{label}过长。", name)
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ServiceError(f"{label}格式不正确：{value}", name) from None


def email_taken(email: str) -> bool:
    """Whether an account already uses this e-mail."""
    return (
        db.session.scalar(select(User.id).where(User.email == normalise_email(email)))
        is not None
    )


def user_by_email(email: str) -> User | None:
    """The account with this e-mail, if any."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def find_org(ref: str) -> Organisation:
    """An organisation by exact name or credit code."""
    ref = (ref or "").strip()
    org = db.session.scalar(
        select(Organisation).where(
            or_(Organisation.name == ref, Organisation.credit_code == normalise(ref))
        )
    )
    if org is None:
        raise ServiceError(f"找不到机构：{ref}（请输入准确的机构名称或信用代码）。")
    return org


def create_organisation(
    *,
    name: str,
    kind: OrgKind | str,
    region_code: str,
    credit_code: str | None = None,
    verified: bool = False,
) -> Organisation:
    """Add an organisation after checking its code, name and region."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("请填写机构名称。", "org_name")
    code = normalise(credit_code) if credit_code else None
    if code:
        error = credit_code_error(code)
        if error:
            raise ServiceError(error, "credit_code")
        if db.session.scalar(
            select(Organisation.id).where(Organisation.credit_code == code)
        ):
            raise ServiceError("该统一社会信用代码已注册。", "credit_code")
    if db.session.scalar(
        select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
    ):
        raise ServiceError("该机构名称已注册。", "org_name")
    if db.session.get(Region, region_code) is None:
        raise ServiceError("所在县区无效。", "region")
    org = Organisation(
        name=name,
        kind=OrgKind(kind),
        credit_code=code,
        region_code=region_code,
        verified=verified,
        verification_status=(
            VerificationStatus.VERIFIED if verified else VerificationStatus.PENDING
        ),
        verified_at=utcnow() if verified else None,
    )
    db.session.add(org)
    db.session.flush()
    audit.record(
        "org_created", obj=org, org_id=org.id, to_state=org.verification_status
    )
    return org


def create_user(
    *,
    org: Organisation,
    email: str,
    password: str,
    name: str = "",
    role: UserRole | str = UserRole.MEMBER,
    is_sysadmin: bool = False,
    confirmed: bool = True,
) -> User:
    """Add a user to an organisation; e-mails are unique."""
    email = normalise_email(email)
    if email_taken(email):
        raise ServiceError("该邮箱已注册。", "email")
    check_password(password)
    user = User(
        email=email,
        name=(name or "").strip(),
        password_hash=hash_password(password),
        org_id=org.id,
        role=UserRole(role),
        is_sysadmin=is_sysadmin,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    user.org = org
    db.session.add(user)
    db.session.flush()
    note = f"角色：{user.role.label}"
    audit.record("user_created", obj=user, org_id=org.id, note=note)
    return user


def register_organisation(
    *,
    kind: str,
    org_name: str,
    credit_code: str,
    region_code: str,
    name: str,
    email: str,
    password: str,
) -> User | None:
    """Sign-up: a new, unverified organisation and its first org admin.

    None when the e-mail already has an account: the caller rolls back and
    answers exactly as on success, so sign-up never tells who is registered.
    """
    if kind not in {k.value for k in OrgKind} or kind == OrgKind.BUREAU:
        raise ServiceError("该机构类型不能自行注册。", "kind")
    check_password(password)
    # The organisation's own checks come first: they say nothing about e-mails.
    org = create_organisation(
        name=org_name, kind=kind, region_code=region_code, credit_code=credit_code
    )
    # Until the admin names someone else, the bureau calls the registrant.
    org.contact_person = (name or "").strip()[:60]
    if email_taken(email):
        hash_password(password)  # the same work as a real sign-up
        return None
    return create_user(
        org=org,
        email=email,
        password=password,
        name=name,
        role=UserRole.ORG_ADMIN,
        confirmed=False,
    )


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password and revoke every login session of the user."""
    if not check_password_hash(user.password_hash, current):
        raise ServiceError("当前密码不正确。", "current")
    if current == new:
        raise ServiceError("新密码不能与当前密码相同。", "password")
    check_password(new)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    revoke_all_sessions(user)
    audit.record("password_changed", user=user, obj=user)
