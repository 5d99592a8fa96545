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


def author_names(thread: MessageThread) -> dict[int, str]:
    """Each author's name with their organisation, by user id."""
    ids = {m.author_id for m in thread.messages if m.author_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.name, User.email, Organisation.name)
        .join(Organisation, Organisation.id == User.org_id)
        .where(User.id.in_(ids))
    )
    return {uid: f"{name or email}（{org}）" for uid, name, email, org in rows}


def party_names(thread: MessageThread | None, target: Any = None) -> list[str]:
    """The organisations taking part, by name (and the bureau where it is one)."""
    if thread is not None:
        ids = permissions.thread_party_org_ids(thread)
        bureau = permissions.bureau_is_party(thread)
    elif isinstance(target, Deal):
        ids, bureau = permissions.deal_party_org_ids(target), False
    elif isinstance(target, Project):
        ids, bureau = {target.owner_org_id, target.winner_org_id}, True
    else:
        ids, bureau = set(), False
    names = sorted(_org_names(ids).values())
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
    names = sorted(_org_names(ids).values())
    if permissions.bureau_is_party(thread) and not permissions.is_bureau(user):
        names.append("科技局")
    return "、".join(names)
