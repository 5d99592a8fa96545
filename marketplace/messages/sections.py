"""Message entry points other pages show: a thread box, a listing's questions."""

from __future__ import annotations

from typing import Any

from flask import url_for

from marketplace import permissions
from marketplace.messages import queries, services
from marketplace.models import (
    Challenge,
    Deal,
    MessageThread,
    Project,
    Result,
)


def object_thread(user: Any, obj: Deal | Project) -> dict | None:
    """A deal's or project's thread box: its link and unread count, or None.

    Bureau staff who are no party see only a link to the complaint review.
    """
    if isinstance(obj, Deal):
        thread = services.deal_thread(obj)
        allowed = permissions.can_use_deal_thread(user, obj)
        url = url_for("messages.deal", deal_id=obj.id)
    else:
        thread = services.project_thread(obj)
        allowed = permissions.can_use_project_thread(user, obj)
        url = url_for("messages.project", project_id=obj.id)
    if not allowed:
        return _review_box(user, thread)
    return {
        "thread": thread,
        "url": url_for("messages.thread", thread_id=thread.id) if thread else url,
        "unread": queries.unread_in(thread, user) if thread else 0,
        "count": len(thread.messages) if thread else 0,
    }


def _review_box(user: Any, thread: MessageThread | None) -> dict | None:
    if thread is None or not permissions.can_review_thread(user, thread):
        return None
    return {"review": url_for("messages.review", thread_id=thread.id)}


def listing_questions(user: Any, listing: Challenge | Result) -> dict:
    """A listing page's ask button, clarifications and (staff) review links."""
    kind = "challenge" if isinstance(listing, Challenge) else "result"
    reviews = []
    if permissions.is_bureau(user):
        reviews = [
            url_for("messages.review", thread_id=t.id)
            for t in queries.listing_threads(listing)
        ]
    return {
        "can_ask": permissions.can_ask_about(user, listing),
        "url": url_for(f"messages.ask_{kind}", **{f"{kind}_id": listing.id}),
        "clarifications": (
            services.clarifications(listing) if kind == "challenge" else []
        ),
        "reviews": reviews,
    }
