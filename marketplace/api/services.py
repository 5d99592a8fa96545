"""Parameter checking and serialisation for the JSON API."""

from __future__ import annotations

from typing import Any

KINDS = ("result", "challenge")


class ApiError(ValueError):
    """A bad request; the message goes back in the JSON body."""


def int_param(raw: Any, name: str, default: int, low: int, high: int) -> int:
    """A bounded integer parameter (strings from a query, ints from JSON)."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ApiError(f"{name} must be an integer between {low} and {high}")
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(f"{name} must be an integer between {low} and {high}") from exc
    if not low <= value <= high:
        raise ApiError(f"{name} must be an integer between {low} and {high}")
    return value


def kind_param(raw: Any, required: bool = False) -> str | None:
    """'result' or 'challenge'."""
    if raw in (None, "") and not required:
        return None
    if raw not in KINDS:
        raise ApiError("kind must be 'result' or 'challenge'")
    return raw


def text_param(raw: Any, name: str, limit: int) -> str:
    """A non-empty string of at most `limit` characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(f"{name} is required")
    if len(raw) > limit:
        raise ApiError(f"{name} must be at most {limit} characters")
    if "\x00" in raw:
        raise ApiError(f"{name} must not contain NUL characters")
    return raw.strip()


def item(match: Any) -> dict:
    """One ranked listing as the API shows it."""
    listing = match.listing
    return {
        "kind": match.kind,
        "id": listing.id,
        "external_id": listing.external_id,
        "title": listing.title,
        "score": match.score,
        "matched_terms": list(match.matched_terms),
        "highlight": str(match.highlight or ""),
    }
