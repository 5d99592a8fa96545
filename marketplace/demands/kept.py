"""What a visitor's session remembers of their problem text (ids it was given).

The session holds a random key (the row stores only its hash) and, once the
visitor asks to publish a text before logging in, the id of that row. Both come
from the signed session cookie, never from a form, and the row is used only when
the key matches.
"""

from __future__ import annotations

from flask import session

from marketplace.security import new_token

SESSION_KEY = "unmet_demand"


def _state() -> dict:
    value = session.get(SESSION_KEY)
    return dict(value) if isinstance(value, dict) else {}


def session_key() -> str:
    """This session's demand key, made on first use."""
    state = _state()
    if not isinstance(state.get("key"), str):
        state["key"] = new_token()
        session[SESSION_KEY] = state
    return state["key"]


def current_key() -> str | None:
    """The session's demand key, if it has one."""
    key = _state().get("key")
    return key if isinstance(key, str) else None


def pending_id() -> int | None:
    """The id of the demand this session asked to publish after logging in."""
    value = _state().get("pending")
    return value if isinstance(value, int) else None


def set_pending(demand_id: int) -> None:
    """Remember the demand to publish once the visitor has logged in."""
    state = _state()
    state["pending"] = demand_id
    session[SESSION_KEY] = state


def clear_pending() -> None:
    """Forget the demand waiting for a login (it was published or is gone)."""
    state = _state()
    state.pop("pending", None)
    session[SESSION_KEY] = state


def carry_over() -> dict | None:
    """The state to put back into the fresh session a login starts."""
    state = _state()
    return state if state.get("pending") else None


def restore(state: dict | None) -> None:
    """Put the carried-over state into the new session."""
    if state:
        session[SESSION_KEY] = state
