"""`flask create-org`, `create-user` and `create-token`: organisations and logins."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from marketplace.auth import services as accounts
from marketplace.cli.support import commit, fail
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import OrgKind, Region, UserRole
from marketplace.tokens import services as tokens

DEFAULT_REGION = "411702"  # 驿城区


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
        raise fail(exc.message) from exc
    commit()
    state = org.verification_status.label
    click.echo(
        f"已创建机构 #{org.id} {org.name}（{org.kind_label}，{org.region.name}，"
        f"{org.credit_code or '无信用代码'}，{state}）。"
    )


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
        email = accounts.normal_email(email)
        org = accounts.find_org(org_ref)
    except ServiceError as exc:
        raise fail(exc.message) from exc
    if accounts.email_taken(email):
        raise click.ClickException("该邮箱已注册。")
    if password is None:
        password = click.prompt(
            "密码", hide_input=True, confirmation_prompt="再次输入密码"
        )
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
        raise fail(exc.message) from exc
    commit()
    if sysadmin and org.kind != OrgKind.BUREAU:
        click.echo(
            f"警告：系统管理员通常属于科技局机构，而 {org.name} 是{org.kind_label}。",
            err=True,
        )
    click.echo(f"已创建用户 #{user.id} {user.email}（{org.name}，{user.role.label}）。")


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="命令行创建", help="A name to recognise it by.")
@with_appcontext
def create_token(email: str, name: str) -> None:
    """Create an API token for the user with EMAIL and print it (shown once)."""
    user = accounts.user_by_email(email)
    if user is None or not user.active:
        raise fail(f"没有这个有效用户：{email}")
    try:
        secret = tokens.create_token(user, name)
    except ServiceError as exc:
        raise fail(exc.message) from exc
    commit()
    click.echo(secret)
