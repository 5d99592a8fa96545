"""Small helpers shared by the thin views of every blueprint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash

from marketplace.exceptions import ServiceError
from marketplace.extensions import db


def perform(verb: Callable[..., Any], *args: Any, success: str, **kwargs: Any) -> bool:
    """Run a service verb: commit and flash success, or roll back and flash why."""
    try:
        verb(*args, **kwargs)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def form_problem(form: Any) -> str:
    """Every error of a form that failed validation, as one line."""
    messages = [*getattr(form, "form_errors", [])]
    messages += [
        m for errors in form.errors.values() for m in errors if m not in messages
    ]
    return "；".join(str(m) for m in messages) or "表单无效，请刷新页面后重试。"
