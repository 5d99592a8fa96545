"""The `flask --app wsgi …` commands, one module a subject.

Commands call the services; no service imports a command (tests/test_layout.py).
"""

from __future__ import annotations

import functools

import click
from flask import Flask

from marketplace.cli.data import import_contracts, load_reference, seed_demo
from marketplace.cli.experts import import_experts
from marketplace.cli.listings import import_listings, listings_cli
from marketplace.cli.mail import mail_cli
from marketplace.cli.projects import projects_cli
from marketplace.cli.search import search_cli
from marketplace.cli.users import create_org, create_token, create_user
from marketplace.database import writing

COMMANDS = (
    load_reference,
    create_org,
    create_user,
    create_token,
    seed_demo,
    listings_cli,
    import_listings,
    import_contracts,
    import_experts,
    projects_cli,
    mail_cli,
    search_cli,
)


def _as_writer(command: click.Command) -> None:
    """Run the command's transactions as writes (database.py), wrapped once."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _as_writer(sub)
        return
    callback = command.callback
    if callback is None or getattr(callback, "marketplace_writer", False):
        return

    @functools.wraps(callback)
    def run(*args, **kwargs):
        with writing():
            return callback(*args, **kwargs)

    run.marketplace_writer = True
    command.callback = run


def register_commands(app: Flask) -> None:
    """Add every command to the app's `flask` group; each one is a writer."""
    for command in COMMANDS:
        _as_writer(command)
        app.cli.add_command(command)
