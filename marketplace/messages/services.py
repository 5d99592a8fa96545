"""Message verbs: open a thread, post, mark read, publish a clarification, review.

Services take plain arguments, check the rule again and leave the commit to the
caller. Notifications go to every other participant; the author's own place
in the thread moves to their message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from marketplace import audit, glossary, permissions
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    Clarification,
    Deal,
    Message,
    MessageAttachment,
    MessageThread,
    Organisation,
    OrgKind,
    Project,
    Result,
    ThreadKind,
    ThreadRead,
    User,
)
from marketplace.proposals import attachments

BODY_MAX = 5000
MAX_ATTACHMENTS = 5
REASON_MAX = 1000


class MessageAction(glossary.Action):
    """What the message verbs record."""

    CLARIFICATION_PUBLISHED = "clarification_published", "发布澄清"
    THREAD_REVIEW = "thread_review", "投诉审查查阅消息"


ACTION_LABELS = glossary.labels(MessageAction)
glossary.register_actions(MessageAction)


def thread_link(thread: MessageThread) -> str:
    """The thread's page."""
    return f"/messages/{thread.id}"


def thread_subject(thread: MessageThread) -> str:
    """What the thread is about, in a few words (its kind's label and title)."""
    target = thread.challenge or thread.result or thread.deal
    if thread.project is not None:
        target = thread.project.challenge
    title = getattr(target, "title", "") or ""
    return f"{ThreadKind(thread.kind).label}：{title[:80]}"


# --- finding or opening threads -----------------------------------------------


def listing_thread(listing: Challenge | Result, org_id: int) -> MessageThread | None:
    """The thread an organisation has with a listing's owner, if any."""
    column = (
        MessageThread.challenge_id
        if isinstance(listing, Challenge)
        else MessageThread.result_id
    )
    return db.session.scalar(
        select(MessageThread).where(
            column == listing.id, MessageThread.asker_org_id == org_id
        )
    )


def deal_thread(deal: Deal) -> MessageThread | None:
    """The deal's thread, if anyone wrote in it yet."""
    return db.session.scalar(
        select(MessageThread).where(MessageThread.deal_id == deal.id)
    )


def project_thread(project: Project) -> MessageThread | None:
    """The project's thread, if anyone wrote in it yet."""
    return db.session.scalar(
        select(MessageThread).where(MessageThread.project_id == project.id)
    )


def _new_thread(user: Any, **target: Any) -> MessageThread:
    thread = MessageThread(created_by_id=user.id, **target)
    db.session.add(thread)
    db.session.flush()
    return thread


def ask(
    listing: Challenge | Result, user: Any, body: str, files: Iterable[Any] = ()
) -> MessageThread:
    """Ask a listing's owner a question: the asker's thread, opened on first use."""
    if not permissions.can_ask_about(user, listing):
        raise ServiceError("只有其他已审核机构的成员可以向发布方提问。")
    thread = listing_thread(listing, user.org_id)
    if thread is None:
        key = "challenge_id" if isinstance(listing, Challenge) else "result_id"
        thread = _new_thread(
            user,
            kind=ThreadKind.LISTING,
            asker_org_id=user.org_id,
            **{key: listing.id},
        )
    post(thread, user, body, files)
    return thread


def post_about(
    obj: Deal | Project, user: Any, body: str, files: Iterable[Any] = ()
) -> MessageThread:
    """Write in a deal's or a project's thread, opening it on the first message."""
    if isinstance(obj, Deal):
        allowed = permissions.can_use_deal_thread(user, obj)
        thread = deal_thread(obj)
        target = {"kind": ThreadKind.DEAL, "deal_id": obj.id}
    else:
        allowed = permissions.can_use_project_thread(user, obj)
        thread = project_thread(obj)
        target = {"kind": ThreadKind.PROJECT, "project_id": obj.id}
    if not allowed:
        raise ServiceError("只有该项目的各方可以发送消息。")
    if thread is None:
        thread = _new_thread(user, **target)
    post(thread, user, body, files)
    return thread


# --- posting and reading -----------------------------------------------------


def participants(thread: MessageThread) -> list[User]:
    """Every active user taking part in the thread, whoever wrote last."""
    orgs = permissions.thread_party_org_ids(thread)
    query = select(User).where(User.active.is_(True))
    if permissions.bureau_is_party(thread):
        bureau = select(Organisation.id).where(Organisation.kind == OrgKind.BUREAU)
        query = query.where(User.org_id.in_(orgs) | User.org_id.in_(bureau))
    else:
        query = query.where(User.org_id.in_(orgs))
    return list(db.session.scalars(query.order_by(User.id)))


def _uploads(files: Iterable[Any] | None) -> list[Any]:
    return [f for f in files or [] if f and getattr(f, "filename", "")]


def _clean(text: str | None, limit: int, field: str, missing: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ServiceError(missing, field)
    if len(text) > limit:
        raise ServiceError(f"不能超过 {limit} 个字。", field)
    return text


def post(
    thread: MessageThread, user: Any, body: str, files: Iterable[Any] = ()
) -> Message:
    """A participant writes a message; every other participant is notified."""
    if not permissions.can_post_in_thread(user, thread):
        raise ServiceError("只有会话的参与方可以发送消息。")
    body = _clean(body, BODY_MAX, "body", "请填写消息内容。")
    uploads = _uploads(files)
    if len(uploads) > MAX_ATTACHMENTS:
        raise ServiceError(f"附件最多 {MAX_ATTACHMENTS} 个。", "attachments")
    message = Message(thread_id=thread.id, author_id=user.id, org_id=user.org_id)
    message.body = body
    # Files are checked (and written) last, once nothing else can refuse.
    for item in attachments.store_all(uploads):
        message.attachments.append(
            MessageAttachment(**asdict(item), uploaded_by_id=user.id)
        )
    db.session.add(message)
    db.session.flush()
    thread.last_message_at = message.created_at or utcnow()
    others = [u for u in participants(thread) if u.id != user.id]
    _count_unread(thread, user, message, others)
    challenge = permissions.thread_challenge(thread)
    for other in others:
        # Each reader is told the author's name as they may see it (匿名发布).
        author = permissions.org_name_for(other, user.org, challenge)
        audit.notify(
            [other],
            f"{author} 在“{thread_subject(thread)[:120]}”中发来新消息",
            thread_link(thread),
        )
    return message


def _reads(thread: MessageThread) -> dict[int, ThreadRead]:
    rows = db.session.scalars(
        select(ThreadRead).where(ThreadRead.thread_id == thread.id)
    )
    return {row.user_id: row for row in rows}


def _count_unread(
    thread: MessageThread, author: Any, message: Message, others: list[User]
) -> None:
    reads = _reads(thread)
    for other in others:
        row = reads.get(other.id)
        if row is None:
            row = ThreadRead(thread_id=thread.id, user_id=other.id, unread_count=0)
            db.session.add(row)
        row.unread_count = (row.unread_count or 0) + 1
    _seen(thread, author, message.id, reads)


def _seen(
    thread: MessageThread, user: Any, message_id: int, reads: dict[int, ThreadRead]
) -> None:
    row = reads.get(user.id)
    if row is None:
        row = ThreadRead(thread_id=thread.id, user_id=user.id)
        db.session.add(row)
    row.last_read_message_id = message_id
    row.unread_count = 0
    row.read_at = utcnow()


def behind(thread: MessageThread, user: Any) -> bool:
    """Whether a participant's read receipt is short of the thread's last message."""
    if not permissions.can_read_thread(user, thread) or not thread.messages:
        return False
    row = _reads(thread).get(user.id)
    last = thread.messages[-1].id
    return row is None or row.last_read_message_id != last or bool(row.unread_count)


def mark_read(thread: MessageThread, user: Any) -> bool:
    """A participant has seen the thread up to its last message (the read receipt).

    Returns whether anything changed, so an unchanged page writes nothing.
    """
    if not behind(thread, user):
        return False
    _seen(thread, user, thread.messages[-1].id, _reads(thread))
    return True


def receipts(thread: MessageThread, viewer: Any) -> dict[int, list[User]]:
    """For each message, the other participants who have read it (read receipts)."""
    reads = [r for r in _reads(thread).values() if r.user_id != viewer.id]
    if not reads:
        return {}
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_([r.user_id for r in reads]))
        )
    }
    seen: dict[int, list[User]] = {}
    for message in thread.messages:
        seen[message.id] = [
            users[r.user_id]
            for r in reads
            if r.user_id in users
            and r.user_id != message.author_id
            and (r.last_read_message_id or 0) >= message.id
        ]
    return seen


# --- clarifications and reviews ---------------------------------------------


def publish_clarification(
    thread: MessageThread, user: Any, question: str, answer: str
) -> Clarification:
    """The challenge owner publishes a question and answer to every bidder.

    The asker is never named: the owner words the question for everyone.
    """
    if not permissions.can_publish_clarification(user, thread):
        raise ServiceError("只有需求发布方可以发布澄清。")
    question = _clean(question, BODY_MAX, "question", "请填写问题。")
    answer = _clean(answer, BODY_MAX, "answer", "请填写答复。")
    challenge = thread.challenge
    clarification = Clarification(
        challenge_id=challenge.id,
        thread_id=thread.id,
        question=question,
        answer=answer,
        published_by_id=user.id,
    )
    db.session.add(clarification)
    db.session.flush()
    audit.record("clarification_published", obj=challenge, note=question[:200])
    # Bidders and the consortium members they named, as for a later deadline.
    audience = permissions.challenge_audience_org_ids(challenge)
    told = (audience | {thread.asker_org_id}) - {challenge.org_id, None}
    for org_id in sorted(told):
        audit.notify_org(
            org_id,
            f"榜单“{challenge.title[:80]}”发布了新的澄清",
            f"/challenges/{challenge.id}#clarifications",
        )
    return clarification


def clarifications(challenge: Challenge) -> list[Clarification]:
    """The challenge's published clarifications, oldest first."""
    return list(
        db.session.scalars(
            select(Clarification)
            .where(Clarification.challenge_id == challenge.id)
            .order_by(Clarification.id)
        )
    )


def record_review(
    thread: MessageThread, user: Any, reason: str, complaint: str | None = ""
) -> str:
    """Bureau staff open a thread in a complaint review: the reason is audited.

    Returns the audited note (the complaint's reference and the reason).
    """
    if not permissions.can_review_thread(user, thread):
        raise ServiceError("只有科技局工作人员可以在投诉审查中查阅会话。")
    reason = _clean(reason, REASON_MAX, "reason", "请说明查阅事由。")
    complaint = (complaint or "").strip()[:100]
    note = f"投诉：{complaint}；事由：{reason}" if complaint else reason
    audit.record("thread_review", obj=thread, note=note)
    return note
