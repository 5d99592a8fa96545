"""Routes (being written)."""

from marketplace.integrity import bp  # noqa: F401
