"""Routes (being written)."""

from marketplace.projects import bp  # noqa: F401
