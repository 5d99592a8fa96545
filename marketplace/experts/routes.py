"""Routes (being written)."""

from marketplace.experts import bp  # noqa: F401
