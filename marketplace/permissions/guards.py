"""Generic view/edit dispatch, `require` and the route decorators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from marketplace.models import (
    Challenge,
    Contract,
    Deal,
    IntegrityRecord,
    Organisation,
    Project,
    Proposal,
    Result,
)
from marketplace.permissions.delivery import (
    can_view_integrity_record,
    can_view_project,
)
from marketplace.permissions.objects import (
    can_edit_challenge,
    can_edit_org,
    can_edit_result,
    can_view_challenge,
    can_view_contract,
    can_view_deal,
    can_view_org,
    can_view_proposal,
    can_view_result,
)
from marketplace.permissions.roles import (
    is_bureau,
    is_sysadmin,
)

_VIEW_CHECKS: dict[type, Callable[[Any, Any], bool]] = {
    Organisation: can_view_org,
    Challenge: can_view_challenge,
    Result: can_view_result,
    Proposal: can_view_proposal,
    Deal: can_view_deal,
    Contract: can_view_contract,
    Project: can_view_project,
    IntegrityRecord: can_view_integrity_record,
}
_EDIT_CHECKS: dict[type, Callable[[Any, Any], bool]] = {
    Organisation: can_edit_org,
    Challenge: can_edit_challenge,
    Result: can_edit_result,
}


def can_view(user: Any, obj: Any) -> bool:
    """Object-level read check for any model the app shows."""
    check = _VIEW_CHECKS.get(type(obj))
    return bool(check and check(user, obj))


def can_edit(user: Any, obj: Any) -> bool:
    """Object-level write check for any model the app edits."""
    check = _EDIT_CHECKS.get(type(obj))
    return bool(check and check(user, obj))


def require(allowed: bool) -> None:
    """Abort with 403 (audited by the error handler) unless allowed."""
    if not allowed:
        abort(403)


# --- route decorators ---------------------------------------------------------


def _guard(predicate: Callable[[Any], bool]) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            require(predicate(current_user))
            return view(*args, **kwargs)

        return wrapped

    return decorator


bureau_required = _guard(is_bureau)
sysadmin_required = _guard(is_sysadmin)
