"""What pages show of listing changes: the history, the queue, the rows."""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.extensions import db
from marketplace.listings.review import listing_link
from marketplace.models import Challenge, ChangeStatus, ListingChange, Result
from marketplace.revisions.fields import LABELS, shown

SHOWN_CHANGES = 100
# Changes that never took effect: shown greyed out.
REFUSED = frozenset({ChangeStatus.REJECTED, ChangeStatus.WITHDRAWN})


def change_rows(change: ListingChange | None) -> list[tuple[str, str, str]]:
    """(field label, old value, new value) rows of a change, as pages show them."""
    if change is None:
        return []
    return [
        (LABELS.get(name, name), shown(name, old), shown(name, new))
        for name, (old, new) in change.changes.items()
    ]


def change_history(user: Any, listing: Challenge | Result) -> list[dict]:
    """The listing's changes this user may see, newest first, with their rows."""
    query = permissions.visible_changes(user, listing)
    return [
        {
            "change": change,
            "rows": change_rows(change),
            "pending": change.status == ChangeStatus.PENDING,
            "rejected": change.status == ChangeStatus.REJECTED,
            "refused": change.status in REFUSED,
            "may_withdraw": permissions.can_withdraw_change(user, change),
        }
        for change in db.session.scalars(query.limit(SHOWN_CHANGES))
    ]


def change_queue(changes: list[ListingChange]) -> list[dict]:
    """The bureau's queue entries: each change with its rows and listing's link."""
    return [
        {
            "change": change,
            "rows": change_rows(change),
            "link": listing_link(change.listing),
        }
        for change in changes
    ]
