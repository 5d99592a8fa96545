"""The `flask --app wsgi …` commands, one module a subject.

Commands call the services; no service imports a command (tests/test_layout.py).
"""

from __future__ import annotations

from flask import Flask

from marketplace.cli.data import import_contracts, load_reference, seed_demo
from marketplace.cli.experts import import_experts
from marketplace.cli.listings import import_listings, listings_cli
from marketplace.cli.mail import mail_cli
from marketplace.cli.projects import projects_cli
from marketplace.cli.search import search_cli
from marketplace.cli.users import create_org, create_token, create_user

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


def register_commands(app: Flask) -> None:
    """Add every command to the app's `flask` group."""
    for command in COMMANDS:
        app.cli.add_command(command)
