"""`flask search …`: keep the index in step with the database."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Challenge, Result
from marketplace.search.documents import build_schema
from marketplace.search.index import (
    IndexUnavailable,
    digest,
    expected_documents,
    stored_names,
)
from marketplace.search.sync import follow, get_index, moved

# Calls to --url in flight at once (see _verify_server).
ASKED_AT_ONCE = 8

search_cli = AppGroup("search", help="Build, follow and check the search index.")


@search_cli.command("sync")
def sync_command() -> None:
    """Apply the outbox to this node's index (rebuilds a missing or broken one)."""
    index = get_index()
    before = index.state()
    if index.ensure(db.session):
        click.echo("索引缺失或损坏，已重建。")
    applied = index.apply_outbox(db.session)
    db.session.rollback()  # end the CLI's transaction before hooks write
    moved(index, before)
    click.echo(f"已应用 {applied} 条变更，索引位置 {index.position()}。")


@search_cli.command("follow")
@click.option(
    "--interval",
    default=0.5,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between looks at the outbox.",
)
def follow_command(interval: float) -> None:
    """Keep this node's index in step with the outbox until stopped (one per node)."""
    stop = threading.Event()
    # SIGTERM (systemd, docker stop) ends the loop between two rounds.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"正在跟随变更队列（每 {interval:g} 秒），索引目录 {get_index().root}。")

    def report(applied: int, position: int) -> None:
        click.echo(f"已应用 {applied} 条变更，索引位置 {position}。")

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in a terminal
        follow(stop, interval, report)
    click.echo("已停止跟随。")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the index from the database into a new directory and swap it in."""
    total = sum(
        db.session.scalar(select(func.count(model.id))) for model in (Challenge, Result)
    )
    db.session.rollback()  # the rebuild reads and records in sessions of its own
    index = get_index()
    with click.progressbar(length=total, label="重建索引", show_pos=True) as bar:
        count = index.reindex(db.session, progress=bar.update)
    click.echo(f"已索引 {count} 条公开信息。")


@search_cli.command("verify")
@click.option("--url", help="Also ask every worker of the server at this address.")
@click.option(
    "--calls",
    default=40,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests to --url.",
)
def verify_command(url: str | None, calls: int) -> None:
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
            fields = "、".join(report.fields.get(key, []))
            click.echo(f"{label}: {key}" + (f"（字段：{fields}）" if fields else ""))
    clean = report.clean
    if clean:
        click.echo("索引与数据库一致。")
    if url:
        clean = _verify_server(url, calls) and clean
    if not clean:
        raise click.exceptions.Exit(1)


def _ask(address: str) -> dict:
    # A new connection each time (urllib sends Connection: close), so that
    # gunicorn hands the calls to all of its workers.
    if not address.startswith(("http://", "https://")):
        raise ValueError("--url must be an http(s) address")
    with urllib.request.urlopen(address, timeout=10) as reply:  # noqa: S310
        return json.loads(reply.read())


def _try_ask(address: str) -> dict | Exception:
    try:
        return _ask(address)
    except (OSError, ValueError) as error:
        return error


def _verify_server(url: str, calls: int) -> bool:
    """Ask the server's workers what they serve; True if each serves the database."""
    expected = digest(
        expected_documents(db.session).values(), stored_names(build_schema())
    )
    db.session.rollback()
    workers: dict[int, dict] = {}
    failures = 0
    address = url.rstrip("/") + "/healthz/search"
    # Several calls at once: asked one after another, the worker that just
    # answered is often the one that takes the next call, and another may never
    # be asked; with calls in flight a busy worker leaves the next to the others.
    with ThreadPoolExecutor(max_workers=ASKED_AT_ONCE) as pool:
        answers = list(pool.map(_try_ask, [address] * calls))
    for answer in answers:
        if isinstance(answer, Exception):
            click.echo(f"无法访问 {address}：{answer}")
            failures += 1
            continue
        workers[answer.get("pid", 0)] = answer
    good = not failures
    for pid, answer in sorted(workers.items()):
        if answer.get("status") != "ok":
            click.echo(f"进程 {pid}: 索引不可用")
            good = False
            continue
        problems = []
        if answer["digest"] != expected:
            problems.append(f"内容不一致（摘要 {answer['digest']} ≠ {expected}）")
        if answer["position"] < answer["head"]:
            lag = f"{answer['position']} < {answer['head']}"
            problems.append(f"落后于变更队列（{lag}）")
        state = (
            f"进程 {pid}: 索引 {answer['generation']}/{answer['commit']}，"
            f"位置 {answer['position']}，{answer['documents']} 条"
        )
        click.echo(state + ("：" + "；".join(problems) if problems else "：一致"))
        good = good and not problems
    if good:
        click.echo(f"服务器 {len(workers)} 个进程均与数据库一致。")
    return good
