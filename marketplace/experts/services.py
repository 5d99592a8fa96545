"""The expert pool (专家库): the bureau adds, edits, retires and reinstates experts.

An expert is a user with a profile. The bureau admits an existing user by e-mail,
or creates the account in a verified organisation with an initial password the
bureau passes on (the platform sends no e-mail). Nothing commits here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, glossary, identifiers, permissions
from marketplace.auth import passwords
from marketplace.auth import services as accounts
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    ExpertProfile,
    Organisation,
    OrgKind,
    TechField,
    User,
    UserRole,
)
from marketplace.proposals.services import find_org

MAX_TITLE, MAX_NAME = 40, 60
MAX_SPECIALITIES = 2000
FIELD_SPLIT = re.compile(r"[、，,;；\s]+")
STATES = {"active": "在库", "retired": "已退出"}
glossary.register_states(STATES, object_type="experts")


@dataclass
class ExpertData:
    """What the bureau types about an expert: plain values."""

    title: str = ""
    field_codes: list[str] = field(default_factory=list)
    specialities: str = ""
    contact_phone: str = ""
    contact_email: str = ""


# --- reading -----------------------------------------------------------------


def field_options() -> list[tuple[str, str]]:
    """(code, name) of every technology field, in the official order."""
    return [
        (f.code, f.name)
        for f in db.session.scalars(select(TechField).order_by(TechField.sort_order))
    ]


def field_codes(values: Iterable[str]) -> list[str]:
    """TechField codes from codes or Chinese names; ServiceError for unknown ones."""
    known: dict[str, str] = {}
    for code, name in field_options():
        known[code] = known[name] = code
    codes: list[str] = []
    for value in values:
        value = (value or "").strip()
        if not value:
            continue
        if value not in known:
            raise ServiceError(f"技术领域无效：{value}", "fields")
        if known[value] not in codes:
            codes.append(known[value])
    return codes


def split_fields(text: str) -> list[str]:
    """The field names or codes in a cell such as “新材料、新能源与高效节能”."""
    return [part for part in FIELD_SPLIT.split(text or "") if part]


def search_experts(
    user: Any, field_code: str = "", state: str = "", text: str = ""
) -> Any:
    """The pool as this user may list it, filtered; a select to paginate."""
    query = (
        permissions.visible_experts(user)
        .join(User, User.id == ExpertProfile.user_id)
        .join(Organisation, Organisation.id == ExpertProfile.org_id)
    )
    if field_code:
        # Codes are stored as a JSON list; the quoted code matches one element.
        query = query.where(
            cast(ExpertProfile.field_codes, String).contains(
                f'"{field_code}"', autoescape=True
            )
        )
    if state in STATES:
        query = query.where(ExpertProfile.active.is_(state == "active"))
    if text:
        query = query.where(
            or_(
                User.name.contains(text, autoescape=True),
                User.email.contains(text.lower(), autoescape=True),
                Organisation.name.contains(text, autoescape=True),
            )
        )
    return query


def profile_of(user: User) -> ExpertProfile | None:
    """The user's expert profile, active or retired."""
    return db.session.scalar(
        select(ExpertProfile).where(ExpertProfile.user_id == user.id)
    )


# --- checking values -----------------------------------------------------------


def _require_manager(actor: Any) -> None:
    if not permissions.can_manage_experts(actor):
        raise StateError("只有科技局可以管理专家库。")


def _line(value: str, name: str, label: str, limit: int, multiline=False) -> str:
    value = (value or "").strip()
    for char in value:
        if multiline and char in "\n\r\t":
            continue
        if unicodedata.category(char) in {"Cc", "Cs"} or char in "\u2028\u2029":
            raise ServiceError(f"{label}含有不允许的控制字符。", name)
    if len(value) > limit:
        raise ServiceError(f"{label}不能超过 {limit} 字。", name)
    return value


def clean_data(data: ExpertData) -> ExpertData:
    """The profile's values checked and trimmed; ServiceError names the field."""
    codes = field_codes(data.field_codes)
    if not codes:
        raise ServiceError("请至少选择一个技术领域。", "fields")
    contact = (data.contact_email or "").strip()
    return ExpertData(
        title=_line(data.title, "title", "职称", MAX_TITLE),
        field_codes=codes,
        specialities=_line(
            data.specialities, "specialities", "专业特长", MAX_SPECIALITIES, True
        ),
        contact_phone=identifiers.check_phone(data.contact_phone),
        contact_email=accounts.normal_email(contact, "contact_email", "联系邮箱")
        if contact
        else "",
    )


def affiliation(text: str, name: str = "affiliation") -> Organisation:
    """A verified organisation (not the bureau) by full name or credit code."""
    if not (text or "").strip():
        raise ServiceError("请填写所属机构的全称或统一社会信用代码。", name)
    org = find_org(text)
    if org is None:
        raise ServiceError(
            f"找不到机构：{text.strip()}（请填写全称或信用代码）。", name
        )
    _check_org(org, name)
    return org


def _check_org(org: Organisation, name: str) -> None:
    if org.kind == OrgKind.BUREAU:
        raise ServiceError("科技局工作人员不能入选专家库。", name)
    if not org.verified:
        raise ServiceError(f"“{org.name}”尚未通过科技局审核。", name)


def check_existing_user(user: User, org_text: str = "") -> None:
    """An existing account may join the pool: active, in a verified organisation."""
    if not user.active:
        raise ServiceError(f"账号 {user.email} 已停用。", "email")
    _check_org(user.org, "email")
    if (org_text or "").strip():
        org = find_org(org_text)
        if org is None or org.id != user.org_id:
            raise ServiceError(
                f"{user.email} 属于“{user.org.name}”，与填写的所属机构不符。",
                "affiliation",
            )


def password_problem(password: str) -> str | None:
    """Why an initial password breaks the sign-up rule, or None."""
    return passwords.password_problem(password or "")


# --- verbs ---------------------------------------------------------------------


def apply_data(expert: ExpertProfile, data: ExpertData) -> list[str]:
    """Copy checked values onto a profile; returns the names of changed fields."""
    changed = []
    for name in ("title", "field_codes", "specialities", "contact_phone"):
        if getattr(expert, name) != getattr(data, name):
            setattr(expert, name, getattr(data, name))
            changed.append(name)
    contact = data.contact_email or expert.user.email
    if expert.contact_email != contact:
        expert.contact_email = contact
        changed.append("contact_email")
    return changed


def new_account(org: Organisation, email: str, name: str, password: str) -> User:
    """Create an expert's login in their organisation and tell them to change it."""
    name = _line(name, "name", "姓名", MAX_NAME)
    if not name:
        raise ServiceError("新建账号需要填写姓名。", "name")
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem, "password")
    user = accounts.create_user(
        org=org, email=email, password=password, name=name, role=UserRole.MEMBER
    )
    audit.notify(
        [user],
        "科技局已为您开通专家账号，请登录后尽快修改初始密码。",
        "/auth/password",
    )
    return user


def create_profile(user: User, data: ExpertData) -> ExpertProfile:
    """Add the profile (one per user; the unique key decides races)."""
    expert = ExpertProfile(user_id=user.id, org_id=user.org_id, active=True)
    expert.user = user
    apply_data(expert, data)
    try:
        with db.session.begin_nested():
            db.session.add(expert)
            db.session.flush()
    except IntegrityError:
        raise ServiceError(f"{user.email} 已在专家库中。", "email") from None
    return expert


def add_expert(
    actor: Any,
    email: str,
    data: ExpertData,
    *,
    name: str = "",
    org_text: str = "",
    password: str = "",
) -> ExpertProfile:
    """Admit an existing user, or a new account in a verified organisation."""
    _require_manager(actor)
    email = accounts.normal_email(email)
    data = clean_data(data)
    user = accounts.user_by_email(email)
    is_new = user is None
    if user is not None:
        check_existing_user(user, org_text)
        existing = profile_of(user)
        if existing is not None:
            state = "已在专家库中" if existing.active else "已退出专家库，可恢复入库"
            raise ServiceError(f"{user.email} {state}。", "email")
    else:
        user = new_account(affiliation(org_text), email, name, password)
    expert = create_profile(user, data)
    audit.record(
        "expert_added",
        obj=expert,
        user=actor,
        to_state="active",
        note=f"{user.email}（{user.org.name}）",
    )
    if not is_new:  # a new account was already told, with its password hint
        audit.notify([user], "您已入选科技局专家库。", "")
    return expert


def lock_expert(expert: ExpertProfile) -> ExpertProfile:
    """Reload the profile with a row lock, so two decisions run one at a time."""
    return db.session.execute(
        select(ExpertProfile)
        .where(ExpertProfile.id == expert.id)
        # OF experts: the joined user and organisation are not locked (and
        # PostgreSQL refuses FOR UPDATE on the nullable side of an outer join).
        .with_for_update(of=ExpertProfile)
        .execution_options(populate_existing=True)
    ).scalar_one()


def update_expert(expert: ExpertProfile, actor: Any, data: ExpertData) -> list[str]:
    """The bureau edits a profile; returns the names of the fields changed."""
    _require_manager(actor)
    data = clean_data(data)
    expert = lock_expert(expert)
    changed = apply_data(expert, data)
    audit.record(
        "expert_updated", obj=expert, user=actor, note="、".join(changed) or "无变化"
    )
    return changed


def retire_expert(expert: ExpertProfile, actor: Any) -> None:
    """Take an expert out of the pool; panels no longer propose them."""
    _require_manager(actor)
    expert = lock_expert(expert)
    if not expert.active:
        raise StateError("该专家已退出专家库。")
    expert.active, expert.retired_at = False, utcnow()
    audit.record(
        "expert_retired",
        obj=expert,
        user=actor,
        from_state="active",
        to_state="retired",
    )


def reinstate_expert(expert: ExpertProfile, actor: Any) -> None:
    """Bring a retired expert back into the pool."""
    _require_manager(actor)
    expert = lock_expert(expert)
    if expert.active:
        raise StateError("该专家在库中，无需恢复。")
    if not expert.user.active:
        raise StateError(f"账号 {expert.user.email} 已停用，不能恢复入库。")
    expert.active, expert.retired_at = True, None
    audit.record(
        "expert_reinstated",
        obj=expert,
        user=actor,
        from_state="retired",
        to_state="active",
    )
