"""Bulk import of experts from .csv or .xlsx (command or upload page), all or nothing.

Every row is checked first; one bad row and nothing is written. A row whose e-mail
already has an expert profile updates that profile (a retired expert stays
retired); an e-mail without an account creates one in the row's organisation with
the initial password given to the command or the upload page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marketplace import audit
from marketplace.auth import services as accounts
from marketplace.exceptions import ServiceError
from marketplace.experts import services
from marketplace.file_checks import UPLOAD_IMPORT, SheetLimits
from marketplace.listings.import_files import (
    ImportRefused,
    ParsedFile,
    RawRow,
    cell_text,
    parse_table,
)
from marketplace.models import ExpertProfile, Organisation, User

COLUMNS = (
    "email",
    "name",
    "title",
    "affiliation",
    "fields",
    "specialities",
    "phone",
)
REQUIRED = ("email",)
ALIASES = {
    "e-mail": "email",
    "邮箱": "email",
    "电子邮箱": "email",
    "姓名": "name",
    "职称": "title",
    "所属机构": "affiliation",
    "工作单位": "affiliation",
    "技术领域": "fields",
    "field": "fields",
    "专业特长": "specialities",
    "研究方向": "specialities",
    "specialties": "specialities",
    "联系电话": "phone",
    "电话": "phone",
}


@dataclass
class ImportReport:
    """What an import wrote."""

    added: int = 0
    updated: int = 0
    accounts: int = 0


@dataclass
class _Plan:
    """One checked row: the profile to add or update and the account it needs."""

    data: services.ExpertData
    email: str
    user: User | None = None
    expert: ExpertProfile | None = None
    org: Organisation | None = None
    name: str = ""


def _column(name: Any) -> str:
    key = str(name or "").strip().lstrip("\ufeff").strip()
    return ALIASES.get(key, ALIASES.get(key.lower(), key.lower()))


def parse_file(
    data: bytes, filename: str, limits: SheetLimits = UPLOAD_IMPORT
) -> ParsedFile:
    """Read a .csv or .xlsx expert list into numbered rows."""
    return parse_table(
        data, filename, limits, columns=COLUMNS, column=_column, required=REQUIRED
    )


NEW_ACCOUNT_ADVICE = "请用 --password 指定新账号的初始密码后再导入"


def _plan(row: dict[str, Any], password: str, new_account_advice: str) -> _Plan:
    email = accounts.normal_email(cell_text(row.get("email")))
    data = services.clean_data(
        services.ExpertData(
            title=cell_text(row.get("title")),
            field_codes=services.split_fields(cell_text(row.get("fields"))),
            specialities=cell_text(row.get("specialities")),
            contact_phone=cell_text(row.get("phone")),
        )
    )
    plan = _Plan(data=data, email=email, name=cell_text(row.get("name")))
    org_text = cell_text(row.get("affiliation"))
    plan.user = accounts.user_by_email(email)
    if plan.user is not None:
        services.check_existing_user(plan.user, org_text)
        plan.expert = services.profile_of(plan.user)
        return plan
    plan.org = services.affiliation(org_text)
    if not plan.name:
        raise ServiceError("没有该邮箱的账号，新建账号需要填写姓名 name")
    if not password:
        raise ServiceError(f"没有该邮箱的账号：{new_account_advice}")
    return plan


def import_rows(
    rows: list[RawRow],
    *,
    password: str = "",
    new_account_advice: str = NEW_ACCOUNT_ADVICE,
    source: str = "",
    errors: list[tuple[int, str]] | None = None,
    progress: Callable[[int], Any] | None = None,
) -> ImportReport:
    """Check every row, then write them all, or raise ImportRefused with each one."""
    problems = list(errors or [])
    weak = services.password_problem(password) if password else None
    if weak:
        problems.append((0, f"初始密码不符合要求：{weak}"))
    plans: list[_Plan] = []
    lines: dict[str, int] = {}
    for row in rows:
        try:
            plan = _plan(row.data, password, new_account_advice)
            if plan.email in lines:
                raise ServiceError(f"邮箱与第 {lines[plan.email]} 行重复：{plan.email}")
            lines[plan.email] = row.line
        except ServiceError as exc:
            problems.append((row.line, exc.message))
            continue
        plans.append(plan)
    if problems:
        raise ImportRefused(
            [f"第 {n} 行: {m}" if n else m for n, m in sorted(problems)]
        )
    report = ImportReport()
    for plan in plans:
        if plan.user is None:
            plan.user = services.new_account(plan.org, plan.email, plan.name, password)
            report.accounts += 1
        if plan.expert is None:
            services.create_profile(plan.user, plan.data)
            report.added += 1
        else:
            services.apply_data(plan.expert, plan.data)
            report.updated += 1
        if progress is not None:
            progress(1)
    audit.record(
        "experts_imported",
        object_type="experts",
        note=f"{source}: 新增 {report.added} 位，更新 {report.updated} 位，"
        f"新建账号 {report.accounts} 个",
    )
    return report
