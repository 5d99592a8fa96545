"""Small helpers shared by the thin views of every blueprint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash
from werkzeug.routing import IntegerConverter

from marketplace.exceptions import ServiceError
from marketplace.extensions import db

# The largest id of an Integer key on PostgreSQL. Larger numbers match no row,
# yet make the database raise instead of miss (PostgreSQL: integer out of range;
# SQLite above 2**63-1: OverflowError). Only notifications have BIGINT ids, and
# they will not pass two thousand million.
MAX_ID = 2**31 - 1
# What a POST whose CSRF token has run out is told.
EXPIRED_FORM = "表单已过期，请刷新页面后重试。"


class IdConverter(IntegerConverter):
    """`<int:...>` in URL rules: ids above MAX_ID do not match the rule (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def id_arg(value: str) -> int:
    """An id from a query or form field, for `.get(name, type=id_arg)`.

    Raises ValueError (so `.get` answers its default) for anything but a number
    from 1 to MAX_ID.
    """
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError(value)
    return number


def perform(
    verb: Callable[..., Any],
    *args: Any,
    success: str,
    category: str = "success",
    **kwargs: Any,
) -> bool:
    """Run a service verb: commit and flash success, or roll back and flash why."""
    done, _ = attempt(verb, *args, success=success, category=category, **kwargs)
    return done


def attempt(
    verb: Callable[..., Any],
    *args: Any,
    success: str,
    category: str = "success",
    **kwargs: Any,
) -> tuple[bool, Any]:
    """As `perform`, also handing back what the verb returned (None if refused)."""
    return _settle(_flash_refusal, verb, args, kwargs, success, category)


def submit(
    form: Any,
    verb: Callable[..., Any],
    *args: Any,
    success: str | None,
    category: str = "success",
    **kwargs: Any,
) -> tuple[bool, Any]:
    """As `attempt` for a valid form, the refusal put on it (success None: no flash)."""
    return _settle(form.attach_error, verb, args, kwargs, success, category)


def _flash_refusal(error: ServiceError) -> None:
    """Tell the user why a POST-only action was refused."""
    flash(error.message, "danger")


def _settle(
    refused: Callable[[ServiceError], None],
    verb: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    success: str | None,
    category: str,
) -> tuple[bool, Any]:
    """Run a verb: commit and flash success, or roll back and hand `refused` why."""
    try:
        outcome = verb(*args, **kwargs)
    except ServiceError as error:
        db.session.rollback()
        refused(error)
        return False, None
    db.session.commit()
    if success is not None:
        flash(success, category)
    return True, outcome


def perform_form(
    form: Any,
    verb: Callable[..., Any],
    *args: Any,
    success: str,
    prefix: str = "",
    problem: str | None = None,
    category: str = "success",
) -> bool:
    """`perform` once the posted form is valid; else flash `problem` or its errors."""
    if not form.validate_on_submit():
        flash(problem if problem is not None else prefix + form_problem(form), "danger")
        return False
    return perform(verb, *args, success=success, category=category)


def form_problem(form: Any) -> str:
    """Every error of a form that failed validation, as one line."""
    messages = [*getattr(form, "form_errors", [])]
    messages += [
        m for errors in form.errors.values() for m in errors if m not in messages
    ]
    return "；".join(str(m) for m in messages) or "表单无效，请刷新页面后重试。"
