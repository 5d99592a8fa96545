"""`flask import-listings` (streamed, then indexed in bulk) and `flask listings …`."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from marketplace.auth import services as accounts
from marketplace.cli.support import commit, fail
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.file_checks import STREAMED_IMPORT
from marketplace.listings import expiry, importing
from marketplace.listings.import_files import stream_file
from marketplace.search import replicas
from marketplace.search.index import reading
from marketplace.search.sync import SYNC_DEFERRED, get_index

PROGRESS_FROM = 200  # rows: smaller files import without a progress bar


def _estimate_rows(path: Path) -> int | None:
    """Lines in a text file (rows plus a header), read in blocks; None for .xlsx."""
    if path.suffix.lower() == ".xlsx":
        return None
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return lines


def _import(org, kind: str, draft: bool, path: Path) -> importing.ImportReport:
    """Stream, check and write every row in one transaction; commit or fail."""
    estimate = _estimate_rows(path)
    try:
        parsed = stream_file(path, STREAMED_IMPORT)
        options = {"draft": draft, "source": path.name, "errors": parsed.errors}
        if estimate is not None and estimate < PROGRESS_FROM:
            report = importing.import_rows(org, kind, parsed.rows, **options)
        else:
            bar = click.progressbar(parsed.rows, length=estimate, label="检查并写入")
            with bar as rows:
                report = importing.import_rows(org, kind, rows, **options)
    except importing.ImportRefused as exc:
        db.session.rollback()
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.ClickException(exc.message) from exc
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    except (OSError, SQLAlchemyError) as exc:
        db.session.rollback()
        raise click.ClickException(f"导入失败：{exc}") from exc
    follows = current_app.config.get("SEARCH_SYNC_ON_COMMIT", True)
    # The index is brought up to date below in bulk, with its own progress
    # bar, instead of by the post-commit sync.
    db.session.info[SYNC_DEFERRED] = follows
    try:
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise click.ClickException(f"数据库写入失败：{exc}") from exc
    finally:
        db.session.info.pop(SYNC_DEFERRED, None)
    if parsed.ignored:
        click.echo(f"已忽略未知的列：{'、'.join(parsed.ignored)}", err=True)
    if follows:
        _index(len(report.ids))
    return report


def _index(rows: int) -> None:
    """Apply the import's outbox rows to this node's index (in parallel if many)."""
    index = get_index()
    if not index.exists():
        index.reindex(db.session)
        return
    with reading(db.engine) as read:
        pending = max(replicas.head(read) - index.position(), 0)
    if rows < PROGRESS_FROM:
        index.apply_outbox(db.session)
        return
    with click.progressbar(length=pending, label="更新搜索索引") as bar:
        index.apply_outbox(db.session, progress=bar.update)


@click.command("import-listings")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(sorted(importing.KINDS)),
    help="result (科技成果) or challenge (技术需求).",
)
@click.option("--org", "org_ref", required=True, help="Exact org name or credit code.")
@click.option("--draft", is_flag=True, help="Import as drafts instead of publishing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_listings(kind: str, org_ref: str, draft: bool, file: Path) -> None:
    """Import challenges or results from a .jsonl, .csv or .xlsx FILE of any size.

    Columns: title, description (or abstract), external_id, keywords, field,
    discipline, maturity, price_wan, valid_until (results) / deadline (challenges).
    The file is read a batch at a time; if any row is bad, nothing is imported,
    every bad row is listed with its line number and the command fails. Rows
    whose external_id the organisation already has are updated.
    """
    started = time.perf_counter()
    try:
        org = accounts.find_org(org_ref)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    report = _import(org, kind, draft, file)
    state = "草稿" if draft else "已发布"
    click.echo(
        f"{org.name}：新增{importing.KINDS[kind]} {report.added} 条（{state}），"
        f"更新 {report.updated} 条，用时 {time.perf_counter() - started:.1f} 秒。"
    )


@click.group("listings")
def listings_cli() -> None:
    """Listing maintenance (expiry)."""


@listings_cli.command("expire")
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
        raise fail(f"过期处理失败：{exc}") from exc
    commit()
    click.echo(
        f"技术需求转入评审 {report.evaluating} 条，技术需求过期 "
        f"{report.expired_challenges} 条，科技成果过期 {report.expired_results} 条，"
        f"发送到期提醒 {report.reminders} 条。"
    )
