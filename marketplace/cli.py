"""Click commands registered on the app (`flask --app wsgi …`)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register every command."""
