"""CLI: project maintenance (`flask --app wsgi projects …`)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from marketplace.extensions import db
from marketplace.projects import overdue

projects_cli = AppGroup("projects", help="Projects under delivery.")


@projects_cli.command("remind-overdue")
def remind_overdue() -> None:
    """Notify both sides and the bureau of overdue milestones."""
    try:
        count = overdue.remind_overdue()
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise click.ClickException(
            f"数据库写入失败：{exc.__class__.__name__}: {exc}"
        ) from exc
    click.echo(f"已提醒 {count} 个逾期里程碑。")
