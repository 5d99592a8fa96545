"""`flask load-reference`, `seed-demo` and `import-contracts`: data in bulk."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from marketplace import demo
from marketplace.cli.support import commit, fail, run_import
from marketplace.contracts import importing as contract_import
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import Organisation
from marketplace.reference import (
    DEFAULT_REGIONS,
    ReferenceDataError,
    load_reference_data,
)


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
        raise fail(f"参考数据加载失败：{exc}") from exc
    commit()
    click.echo(f"已加载 {regions} 个县区、{fields} 个技术领域。")


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
        raise fail(exc.message) from exc
    except (ReferenceDataError, SQLAlchemyError) as exc:
        raise fail(f"演示数据加载失败：{exc}") from exc
    commit()
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
    report = run_import(contract_import.parse_file, contract_import.import_rows, file)
    click.echo(
        f"新增技术合同 {report.added} 份（其中已登记 {report.registered} 份），"
        f"用时 {time.perf_counter() - started:.1f} 秒。"
    )
