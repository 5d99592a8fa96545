"""Helpers the CLI command modules share: commit or fail, and the file import run."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.file_checks import COMMAND_IMPORT
from marketplace.listings import importing


def commit() -> None:
    """Commit the command's work, or roll back and fail with the database's reason."""
    try:
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise click.ClickException(
            f"数据库写入失败：{exc.__class__.__name__}: {exc}"
        ) from exc


def fail(message: str) -> click.ClickException:
    """Roll back and return the ClickException that reports MESSAGE."""
    db.session.rollback()
    return click.ClickException(message)


PROGRESS_FROM = 200  # rows: smaller files import without a progress bar


def run_import(parse, run, file: Path):
    """Parse FILE, import its rows all or nothing, commit; returns the report.

    `run(rows, source=…, errors=…, progress=…)` imports checked rows. Refused
    rows are printed one a line and the command fails with nothing imported.
    """
    try:
        # The command has the larger caps; the upload page keeps to its own.
        parsed = parse(file.read_bytes(), file.name, limits=COMMAND_IMPORT)
        options = {"source": file.name, "errors": parsed.errors}
        if len(parsed.rows) >= PROGRESS_FROM:
            with click.progressbar(length=len(parsed.rows), label="写入数据库") as bar:
                report = run(parsed.rows, progress=bar.update, **options)
        else:
            report = run(parsed.rows, **options)
    except importing.ImportRefused as exc:
        db.session.rollback()
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.ClickException(exc.message) from exc
    except ServiceError as exc:
        raise fail(exc.message) from exc
    except (OSError, SQLAlchemyError) as exc:
        raise fail(f"导入失败：{exc}") from exc
    commit()
    if parsed.ignored:
        click.echo(f"已忽略未知的列：{'、'.join(parsed.ignored)}", err=True)
    return report
