"""CLI: project maintenance (being written)."""

import click
from flask.cli import AppGroup

projects_cli = AppGroup("projects", help="Projects under delivery.")


@projects_cli.command("remind-overdue")
def remind_overdue() -> None:
    """Notify both sides and the bureau of overdue milestones."""
    raise click.ClickException("not written yet")
