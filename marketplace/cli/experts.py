"""CLI: bulk import of experts into the pool (专家库)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from marketplace.cli.support import run_import
from marketplace.experts import importing


@click.command("import-experts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--password",
    default=None,
    help="Initial password for accounts the file creates (letters and digits, "
    "10+ characters, not a common one); tell the experts to change it.",
)
@with_appcontext
def import_experts(file: Path, password: str | None) -> None:
    """Import experts from a .csv or .xlsx FILE, all or nothing.

    Columns: email (required), name, title, affiliation (full name or unified
    credit code of a verified organisation), fields (technology field names or
    codes, separated by 、 or commas), specialities, phone. Every row is checked
    first; if any is bad, nothing is imported and each problem is printed with
    its row number. A row whose e-mail already has an expert profile updates that
    profile (a retired expert stays retired), so importing the same file twice
    adds nobody. An e-mail without an account gets a new one in the affiliation,
    with the initial password from --password.
    """
    started = time.perf_counter()
    report = run_import(
        importing.parse_file,
        lambda rows, **options: importing.import_rows(
            rows, password=password or "", **options
        ),
        file,
    )
    click.echo(
        f"新增专家 {report.added} 位，更新 {report.updated} 位，"
        f"新建账号 {report.accounts} 个，用时 {time.perf_counter() - started:.1f} 秒。"
    )
