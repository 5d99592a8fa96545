"""CLI: bulk import of experts (being written)."""

import click


@click.command("import-experts")
@click.argument("file")
def import_experts(file: str) -> None:
    """Import experts from FILE (CSV or XLSX), all or nothing."""
    raise click.ClickException("not written yet")
