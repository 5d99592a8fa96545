"""State machines: one checked move, with its audit event, for every stateful model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import inspect

from marketplace import audit
from marketplace.exceptions import StateError
from marketplace.models import AuditEvent

Transitions = Mapping[StrEnum, frozenset[StrEnum]]
# Where a move that must be written before the next one waits in an object's
# instance state: expiry shows an overdue listing moved without writing it.
PENDING_MOVE = "workflow_pending_move"


def move(
    obj: Any,
    to: StrEnum,
    transitions: Transitions,
    *,
    action: str,
    note: str = "",
    reason_code: str | None = None,
    user: Any = None,
    refusal: str = "当前状态下不能执行此操作。",
    at: datetime | None = None,
) -> AuditEvent:
    """Move obj.status to `to` if the machine allows it; the audit event of the move."""
    pending = inspect(obj).info.pop(PENDING_MOVE, None)
    if pending is not None:
        pending()
    current = obj.status
    if to not in transitions.get(current, frozenset()):
        raise StateError(refusal)
    obj.status = to
    return audit.record(
        action,
        obj=obj,
        user=user,
        from_state=current,
        to_state=to,
        note=note,
        reason_code=reason_code,
        at=at,
    )
