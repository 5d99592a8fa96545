"""What the message pages show: the inbox rows, names, subjects and links."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import Select, select

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import (
    Deal,
    MessageThread,
    Organisation,
    Project,
    ThreadKind,
    ThreadRead,
    User,
)


def inbox(user: Any) -> Select:
    """The user's threads, most recently active first."""
    return permissions.visible_threads(user).order_by(
        MessageThread.last_message_at.desc(), MessageThread.id.desc()
    )


def listing_threads(listing: Any) -> list[MessageThread]:
    """A listing's question threads (for the bureau's complaint review links)."""
    column = (
        MessageThread.result_id
        if getattr(listing, "__tablename__", "") == "results"
        else MessageThread.challenge_id
    )
    return list(
        db.session.scalars(
            select(MessageThread).where(column == listing.id).order_by(MessageThread.id)
        )
    )


def unread_counts(threads: list[MessageThread], user: Any) -> dict[int, int]:
    """The user's unread count in each of these threads (one query)."""
    if not threads:
        return {}
    rows = db.session.execute(
        select(ThreadRead.thread_id, ThreadRead.unread_count).where(
            ThreadRead.user_id == user.id,
            ThreadRead.thread_id.in_([t.id for t in threads]),
        )
    )
    return dict(rows.all())


def unread_in(thread: MessageThread, user: Any) -> int:
    """How many messages of the thread the user has not read."""
    return (
        db.session.scalar(
            select(ThreadRead.unread_count).where(
                ThreadRead.thread_id == thread.id, ThreadRead.user_id == user.id
            )
        )
        or 0
    )


def _org_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    )
    return dict(rows.all())


def author_names(thread: MessageThread, viewer: Any) -> dict[int, str]:
    """Each author's and reader's name with their organisation, by user id.

    The poster of an anonymous challenge reads as 发布方（某企业…） to viewers who
    may not learn it.
    """
    ids = {m.author_id for m in thread.messages if m.author_id is not None}
    ids |= set(
        db.session.scalars(
            select(ThreadRead.user_id).where(ThreadRead.thread_id == thread.id)
        )
    )
    if not ids:
        return {}
    challenge = permissions.thread_challenge(thread)
    people = db.session.scalars(select(User).where(User.id.in_(ids)))
    return {u.id: permissions.person_for(viewer, u, challenge) for u in people}


def _shown_names(ids: set[int], viewer: Any, challenge: Any) -> list[str]:
    """Organisations' names, the hidden poster's as its anonymous name."""
    names = _org_names(ids)
    if challenge is not None and challenge.org_id in names:
        names[challenge.org_id] = permissions.org_name_for(
            viewer, challenge.org, challenge
        )
    return sorted(names.values())


def party_names(
    thread: MessageThread | None, target: Any = None, viewer: Any = None
) -> list[str]:
    """The organisations taking part, by name (and the bureau where it is one)."""
    challenge = permissions.thread_challenge(thread)
    if thread is not None:
        ids = permissions.thread_party_org_ids(thread)
        bureau = permissions.bureau_is_party(thread)
    elif isinstance(target, Deal):
        ids, bureau = permissions.deal_party_org_ids(target), False
    elif isinstance(target, Project):
        ids, bureau = {target.owner_org_id, target.winner_org_id}, True
    else:
        ids, bureau = set(), False
    names = _shown_names(ids, viewer, challenge)
    return [*names, "科技局"] if bureau else names


def subject(target: Any) -> str:
    """A deal's or project's thread subject before its first message."""
    if isinstance(target, Deal):
        return f"{ThreadKind.DEAL.label}：{target.title[:80]}"
    if isinstance(target, Project):
        return f"{ThreadKind.PROJECT.label}：{target.challenge.title[:80]}"
    return ""


def back_link(thread: MessageThread | None, target: Any = None) -> tuple[str, str]:
    """Where the thread's object is shown, and its link text."""
    obj = target
    if thread is not None:
        obj = thread.deal or thread.project or thread.challenge or thread.result
    if isinstance(obj, Deal) and permissions.can_view_deal(current_user, obj):
        return f"/deals/{obj.id}", "返回撮合项目"
    if isinstance(obj, Project):
        return f"/projects/{obj.id}", "返回揭榜项目"
    if thread is not None and thread.challenge_id:
        return f"/challenges/{thread.challenge_id}", "查看技术需求"
    if thread is not None and thread.result_id:
        return f"/results/{thread.result_id}", "查看科技成果"
    return "/messages/", "返回我的消息"


def counterpart(thread: MessageThread, user: Any) -> str:
    """Who the user talks to in the thread: the other organisations, by name."""
    ids = permissions.thread_party_org_ids(thread) - {user.org_id}
    names = _shown_names(ids, user, permissions.thread_challenge(thread))
    if permissions.bureau_is_party(thread) and not permissions.is_bureau(user):
        names.append("科技局")
    return "、".join(names)
