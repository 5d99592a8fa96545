"""Routes (being written)."""

from marketplace.panels import bp  # noqa: F401
