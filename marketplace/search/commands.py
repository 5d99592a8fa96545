"""`flask search …`: keep the index in step with the database."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Challenge, Result
from marketplace.search.index import IndexUnavailable
from marketplace.search.sync import get_index

search_cli = AppGroup("search", help="Build, follow and check the search index.")


@search_cli.command("sync")
def sync_command() -> None:
    """Apply the outbox to this node's index (rebuilds a missing or broken one)."""
    index = get_index()
    if index.ensure(db.session):
        click.echo("索引缺失或损坏，已重建。")
    applied = index.apply_outbox(db.session)
    click.echo(f"已应用 {applied} 条变更，索引位置 {index.position()}。")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the index from the database into a new directory and swap it in."""
    total = sum(
        db.session.scalar(select(func.count(model.id))) for model in (Challenge, Result)
    )
    index = get_index()
    with click.progressbar(length=total, label="重建索引", show_pos=True) as bar:
        count = index.reindex(db.session, progress=bar.update)
    click.echo(f"已索引 {count} 条公开信息。")


@search_cli.command("verify")
def verify_command() -> None:
    """Print what differs between the index and the database; exit 1 if anything."""
    try:
        report = get_index().verify(db.session)
    except IndexUnavailable as error:
        raise click.ClickException(
            f"索引不可用：{error}；请运行 flask search reindex"
        ) from error
    for label, keys in (
        ("缺失", report.missing),
        ("多余", report.extra),
        ("过期", report.stale),
    ):
        for key in keys:
            click.echo(f"{label}: {key}")
    if not report.clean:
        raise click.exceptions.Exit(1)
    click.echo("索引与数据库一致。")
