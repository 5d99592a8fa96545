"""Parameter checking and serialisation for the JSON API."""

from __future__ import annotations

from typing import Any

from marketplace import permissions

KINDS = ("result", "challenge")


class ApiError(ValueError):
    """A bad request: a Chinese message and a stable English `code` for programs."""

    def __init__(self, message: str, code: str = "bad_request", param: str = ""):
        super().__init__(message)
        self.code = code
        self.param = param


def int_param(raw: Any, name: str, default: int, low: int, high: int) -> int:
    """A bounded integer parameter (strings from a query, ints from JSON)."""
    if raw is None or raw == "":
        return default
    problem = ApiError(
        f"参数 {name} 应为 {low} 到 {high} 之间的整数。", "invalid_integer", name
    )
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise problem
    try:
        value = int(raw)
    except ValueError as exc:
        raise problem from exc
    if not low <= value <= high:
        raise problem
    return value


def kind_param(raw: Any, required: bool = False) -> str | None:
    """'result' or 'challenge'."""
    if raw in (None, "") and not required:
        return None
    if raw not in KINDS:
        raise ApiError(
            "参数 kind 应为 result（科技成果）或 challenge（技术需求）。",
            "invalid_kind",
            "kind",
        )
    return raw


def text_param(raw: Any, name: str, limit: int) -> str:
    """A non-empty string of at most `limit` characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(f"请填写参数 {name}。", "missing_parameter", name)
    if len(raw) > limit:
        raise ApiError(f"参数 {name} 不能超过 {limit} 个字符。", "too_long", name)
    if "\x00" in raw:
        raise ApiError(f"参数 {name} 不能含有空字符（NUL）。", "invalid_text", name)
    return raw.strip()


def item(match: Any, user: Any = None) -> dict:
    """One ranked listing as the API shows it (to this user)."""
    listing = match.listing
    org = (
        permissions.seeker_name(user, listing)
        if match.kind == "challenge"
        else listing.org.name
    )
    return {
        "kind": match.kind,
        "id": listing.id,
        "external_id": listing.external_id,
        "title": listing.title,
        "score": match.score,
        "matched_terms": list(match.matched_terms),
        "highlight": str(match.highlight or ""),
        "org": org,
    }
