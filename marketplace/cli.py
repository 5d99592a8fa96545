"""Click commands registered on the app (`flask --app wsgi …`)."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from marketplace import demo
from marketplace.auth import services as accounts
from marketplace.auth.passwords import password_problem
from marketplace.command_support import commit as _commit
from marketplace.command_support import fail as _fail
from marketplace.command_support import run_import as _run_import
from marketplace.contracts import importing as contract_import
from marketplace.creditcode import normalise
from marketplace.exceptions import ServiceError
from marketplace.experts.commands import import_experts
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.listings.commands import import_listings
from marketplace.mail.commands import mail_cli
from marketplace.models import Organisation, OrgKind, Region, User, UserRole
from marketplace.projects.commands import projects_cli
from marketplace.reference import (
    DEFAULT_REGIONS,
    ReferenceDataError,
    load_reference_data,
)
from marketplace.tokens import services as tokens

DEFAULT_REGION = "411702"  # 驿城区


def init_app(app: Flask) -> None:
    """Register every command."""
    for command in (
        load_reference,
        create_org,
        create_user,
        seed_demo,
        listings,
        import_listings,
        import_contracts,
        import_experts,
        projects_cli,
        mail_cli,
    ):
        app.cli.add_command(command)

    @app.cli.command("create-token")
    @click.argument("email")
    @click.option("--name", default="命令行创建", help="A name to recognise it by.")
    def create_token(email: str, name: str) -> None:
        """Create an API token for the user with EMAIL and print it (shown once)."""
        user = db.session.scalar(
            select(User).where(func.lower(User.email) == email.strip().lower())
        )
        if user is None or not user.active:
            raise _fail(f"没有这个有效用户：{email}")
        try:
            secret = tokens.create_token(user, name)
        except ServiceError as exc:
            raise _fail(exc.message) from exc
        _commit()
        click.echo(secret)


def resolve_region(value: str) -> str:
    """A region code from a code or a Chinese name; ClickException when unknown."""
    value = (value or "").strip()
    region = db.session.get(Region, value) or db.session.scalar(
        select(Region).where(Region.name == value)
    )
    if region is None:
        known = "、".join(
            f"{r.name}({r.code})"
            for r in db.session.scalars(select(Region).order_by(Region.sort_order))
        )
        hint = f"可用：{known}" if known else "请先运行 flask load-reference。"
        raise click.ClickException(f"所在县区无效：{value}。{hint}")
    return region.code


@click.command("load-reference")
@click.option(
    "--regions",
    "regions_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"Regions JSON file (default: {DEFAULT_REGIONS.name} shipped with the app).",
)
@with_appcontext
def load_reference(regions_path: Path | None) -> None:
    """Load or update regions and technology fields.

    Idempotent: rows are matched by code and updated in place.
    """
    try:
        regions, fields = load_reference_data(regions_path or DEFAULT_REGIONS)
        db.session.flush()
    except (ReferenceDataError, SQLAlchemyError) as exc:
        raise _fail(f"参考数据加载失败：{exc}") from exc
    _commit()
    click.echo(f"已加载 {regions} 个县区、{fields} 个技术领域。")


@click.command("create-org")
@click.argument("name")
@click.option(
    "--kind",
    required=True,
    type=click.Choice([k.value for k in OrgKind]),
    help="Kind of organisation.",
)
@click.option("--credit-code", default=None, help="18-character unified credit code.")
@click.option(
    "--region",
    default=DEFAULT_REGION,
    show_default=True,
    help="Region code or Chinese name, e.g. 411702 or 驿城区.",
)
@click.option("--verified", is_flag=True, help="Mark the organisation as verified.")
@with_appcontext
def create_org(
    name: str, kind: str, credit_code: str | None, region: str, verified: bool
) -> None:
    """Create an organisation (机构).

    REGION is a region code or its Chinese name (驿城区, 高新技术开发区, 市外 …).
    """
    region_code = resolve_region(region)
    try:
        org = accounts.create_organisation(
            name=name,
            kind=kind,
            region_code=region_code,
            credit_code=credit_code,
            verified=verified,
        )
    except ServiceError as exc:
        raise _fail(exc.message) from exc
    _commit()
    state = "已认证" if org.verified else "待审核"
    click.echo(
        f"已创建机构 #{org.id} {org.name}（{org.kind_label}，{org.region.name}，"
        f"{org.credit_code or '无信用代码'}，{state}）。"
    )


def _find_org(value: str) -> Organisation:
    value = (value or "").strip()
    org = db.session.scalar(
        select(Organisation).where(
            or_(
                Organisation.name == value,
                Organisation.credit_code == normalise(value),
            )
        )
    )
    if org is None:
        raise click.ClickException(
            f"找不到机构：{value}（请输入准确的机构名称或信用代码）。"
        )
    return org


@click.command("create-user")
@click.argument("email")
@click.option("--org", "org_ref", required=True, help="Exact org name or credit code.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in UserRole]),
    default=UserRole.MEMBER.value,
    show_default=True,
)
@click.option("--sysadmin", is_flag=True, help="Give the user operator rights.")
@click.option("--password", default=None, help="Prompted (hidden) when not given.")
@click.option("--name", default="", help="Display name.")
@with_appcontext
def create_user(
    email: str,
    org_ref: str,
    role: str,
    sysadmin: bool,
    password: str | None,
    name: str,
) -> None:
    """Create a user in an existing organisation.

    The password must have at least 10 characters with letters and digits and
    not be a common one (auth.passwords); it is asked for (hidden, twice) when
    --password is not given.
    """
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise click.ClickException(f"邮箱格式不正确：{exc}") from exc
    org = _find_org(org_ref)
    if accounts.email_taken(email):
        raise click.ClickException("该邮箱已注册。")
    if password is None:
        password = click.prompt(
            "密码", hide_input=True, confirmation_prompt="再次输入密码"
        )
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    try:
        user = accounts.create_user(
            org=org,
            email=email,
            password=password,
            name=name,
            role=role,
            is_sysadmin=sysadmin,
        )
    except ServiceError as exc:
        raise _fail(exc.message) from exc
    _commit()
    if sysadmin and org.kind != OrgKind.BUREAU:
        click.echo(
            f"警告：系统管理员通常属于科技局机构，而 {org.name} 是{org.kind_label}。",
            err=True,
        )
    click.echo(f"已创建用户 #{user.id} {user.email}（{org.name}，{user.role.label}）。")


@click.command("seed-demo")
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when any organisation exists."
)
@click.option("--limit", type=click.IntRange(min=0), default=None, hidden=True)
@with_appcontext
def seed_demo(if_empty: bool, limit: int | None) -> None:
    """Load demo organisations, logins and research results.

    Loads the reference data, then the demo organisations, the demo logins
    (password Demo@Zmd2026) and 2,000 published results from the bundled CSL sample.
    Idempotent: a second run adds nothing.
    """
    if if_empty and db.session.scalar(select(func.count(Organisation.id))):
        click.echo("数据库中已有机构，跳过演示数据。")
        return
    started = time.perf_counter()
    try:
        report = demo.seed_demo(limit=limit)
    except ServiceError as exc:
        raise _fail(exc.message) from exc
    except (ReferenceDataError, SQLAlchemyError) as exc:
        raise _fail(f"演示数据加载失败：{exc}") from exc
    _commit()
    elapsed = time.perf_counter() - started
    click.echo(
        f"参考数据：{report.regions} 个县区、{report.fields} 个技术领域。\n"
        f"新增机构 {len(report.orgs_added)} 个，新增用户 {len(report.users_added)} 个，"
        f"新增技术需求 {report.challenges_added} 条，"
        f"新增科技成果 {report.results_added} 条"
        f"（已存在 {report.results_skipped} 条），"
        f"新增揭榜申报 {report.bids_added} 份，"
        f"新增成果转化申请 {report.applications_added} 份，"
        f"新增撮合项目 {report.deals_added} 个，"
        f"新增已登记技术合同 {report.contracts_added} 份"
        f"（收款记录 {report.payments_added} 笔），"
        f"新增年度目标 {report.targets_added} 个，用时 {elapsed:.1f} 秒。"
    )
    click.echo("\n演示账号：")
    rows = [("角色", "邮箱", "密码"), *report.logins]
    widths = [max(_width(row[i]) for row in rows) for i in range(2)]
    for label, email, password in rows:
        click.echo(f"{_pad(label, widths[0])}  {_pad(email, widths[1])}  {password}")


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


@click.group("listings")
def listings() -> None:
    """Listing maintenance (expiry)."""


@listings.command("expire")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this date (YYYY-MM-DD); for testing.",
)
@with_appcontext
def expire(today) -> None:
    """Move overdue listings on and send the 7-day reminders.

    An open challenge past its deadline goes to evaluating (with live proposals)
    or expired; a published result past its valid-until date expires. Safe to run
    any number of times (e.g. daily from cron).
    """
    try:
        report = expiry.expire_overdue(today.date() if today else None)
    except SQLAlchemyError as exc:
        raise _fail(f"过期处理失败：{exc}") from exc
    _commit()
    click.echo(
        f"技术需求转入评审 {report.evaluating} 条，技术需求过期 "
        f"{report.expired_challenges} 条，科技成果过期 {report.expired_results} 条，"
        f"发送到期提醒 {report.reminders} 条。"
    )


@click.command("import-contracts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_contracts(file: Path) -> None:
    """Import technology contracts from a .csv or .xlsx FILE.

    Columns: contract_type (Chinese name or development|transfer|licensing|
    consulting|service), buyer, buyer_region, seller, seller_region, broker,
    field, signed_on, amount_wan, tech_amount_wan, registration_no (when present
    the contract is imported as registered). Every row is checked first; if any
    is bad, nothing is imported and the command fails.
    """
    started = time.perf_counter()
    report = _run_import(contract_import.parse_file, contract_import.import_rows, file)
    click.echo(
        f"新增技术合同 {report.added} 份（其中已登记 {report.registered} 份），"
        f"用时 {time.perf_counter() - started:.1f} 秒。"
    )
