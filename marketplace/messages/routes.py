"""Thin views over the message verbs: inbox, threads, questions, reviews."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.database import page_write
from marketplace.extensions import db
from marketplace.messages import bp, queries, services
from marketplace.messages.forms import ClarificationForm, MessageForm, ReviewForm
from marketplace.models import (
    Challenge,
    Deal,
    MessageAttachment,
    MessageThread,
    Project,
    Result,
)
from marketplace.proposals import attachments
from marketplace.views import submit

INBOX_PAGE = 30


# --- loading with the rule ------------------------------------------------------


def _thread(thread_id: int) -> MessageThread:
    thread = db.session.get(MessageThread, thread_id)
    if thread is None:
        abort(404)
    if not permissions.can_read_thread(current_user, thread):
        # Staff learn the thread exists (they may review it); others do not.
        abort(403 if permissions.is_bureau(current_user) else 404)
    return thread


def _render(
    thread: MessageThread | None,
    form: MessageForm | None = None,
    *,
    target: Deal | Project | None = None,
    post_url: str = "",
    review: str = "",
    clarify: ClarificationForm | None = None,
    status: int = 200,
):
    user = current_user
    readable = thread is not None and not review
    can_post = (
        permissions.can_post_in_thread(user, thread)
        if readable
        else bool(post_url and permissions.org_is_verified(user))
    )
    can_clarify = readable and permissions.can_publish_clarification(user, thread)
    return render_template(
        "messages/thread.html",
        thread=thread,
        subject=services.thread_subject(thread) if thread else queries.subject(target),
        messages=thread.messages if thread else [],
        names=queries.author_names(thread, user) if thread else {},
        parties=queries.party_names(thread, target, user),
        receipts=services.receipts(thread, user) if thread else {},
        form=form or MessageForm(),
        can_post=can_post and not review,
        post_url=post_url or (url_for("messages.thread", thread_id=thread.id)),
        clarify=clarify or (_clarify_form(thread) if can_clarify else None),
        review=review,
        back=queries.back_link(thread, target),
    ), status


def _clarify_form(thread: MessageThread) -> ClarificationForm:
    """The owner's form, its question drafted from the asker's last message."""
    form = ClarificationForm()
    asked = [m for m in thread.messages if m.org_id == thread.asker_org_id]
    if asked and not form.question.data:
        form.question.data = asked[-1].body
    return form


def _run(form: Any, verb, *args) -> Any:
    """Run a verb for a valid form and commit; None (the form says why) if refused."""
    if not form.validate_on_submit():
        return None
    done, out = submit(form, verb, *args, success=None)
    if not done:
        return None
    return out if out is not None else True


def _post(thread: MessageThread | None, verb, *args) -> tuple[Any, MessageForm]:
    """Run a posting verb on a valid form; the thread or None and the form."""
    form = MessageForm()
    data = (form.body.data, form.attachments.data)
    thread = _run(form, verb, *args, current_user, *data)
    if thread is not None:
        flash("消息已发送。", "success")
    return thread, form


# --- the inbox and a thread ----------------------------------------------------


@bp.route("/")
@login_required
def inbox():
    """My threads, most recently active first, each with its unread count."""
    page = db.paginate(
        queries.inbox(current_user), per_page=INBOX_PAGE, error_out=False
    )
    threads = list(page.items)
    return render_template(
        "messages/inbox.html",
        threads=threads,
        page=page,
        unread=queries.unread_counts(threads, current_user),
        subjects={t.id: services.thread_subject(t) for t in threads},
        counterparts={t.id: queries.counterpart(t, current_user) for t in threads},
    )


@bp.route("/<int:thread_id>", methods=["GET", "POST"])
@login_required
def thread(thread_id: int):
    """A thread for its participants; reading it moves the read receipt."""
    item = _thread(thread_id)
    form = None
    if _is_post():
        permissions.require(permissions.can_post_in_thread(current_user, item))
        posted, form = _post(item, services.post, item)
        if posted is not None:
            return redirect(url_for("messages.thread", thread_id=item.id))
        return _render(item, form, status=400)
    if services.behind(item, current_user):
        with page_write(db.session):
            services.mark_read(item, current_user)
    return _render(item, form)


def _is_post() -> bool:
    return request.method == "POST"


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    """A message's attachment, for the thread's participants."""
    item = db.session.get(MessageAttachment, attachment_id)
    if item is None or not permissions.can_read_thread(
        current_user, item.message.thread
    ):
        abort(404)
    return attachments.send_stored(item)


@bp.route("/<int:thread_id>/clarifications", methods=["POST"])
@login_required
def clarify(thread_id: int):
    """The challenge owner publishes a question and answer to every bidder."""
    item = _thread(thread_id)
    permissions.require(permissions.can_publish_clarification(current_user, item))
    form = ClarificationForm()
    data = (form.question.data, form.answer.data)
    if _run(form, services.publish_clarification, item, current_user, *data):
        flash("澄清已发布，所有揭榜方可在需求页面查看。", "success")
        return redirect(url_for("messages.thread", thread_id=item.id))
    return _render(item, clarify=form, status=400)


@bp.route("/<int:thread_id>/review", methods=["GET", "POST"])
@login_required
def review(thread_id: int):
    """Bureau staff read a thread they are no party to, for a complaint, audited."""
    item = db.session.get(MessageThread, thread_id)
    if item is None or not permissions.is_bureau(current_user):
        abort(404)
    if permissions.can_read_thread(current_user, item):
        return redirect(url_for("messages.thread", thread_id=item.id))
    permissions.require(permissions.can_review_thread(current_user, item))
    form = ReviewForm()
    data = (form.reason.data, form.complaint.data)
    if note := _run(form, services.record_review, item, current_user, *data):
        # The page is shown in this answer only: every reading is audited.
        return _render(item, review=note)
    return render_template(
        "messages/review.html",
        thread=item,
        form=form,
        subject=services.thread_subject(item),
    ), (400 if form.errors else 200)


# --- asking a listing's owner ---------------------------------------------------


def _visible(model: type, obj_id: int, can_view) -> Any:
    """The object if the user may see it; 404 alike for missing and hidden."""
    obj = db.session.get(model, obj_id)
    if obj is None or not can_view(current_user, obj):
        abort(404)
    return obj


def _ask(listing: Challenge | Result):
    permissions.require(permissions.can_ask_about(current_user, listing))
    existing = services.listing_thread(listing, current_user.org_id)
    if existing is not None and not _is_post():
        return redirect(url_for("messages.thread", thread_id=existing.id))
    thread, form = _post(None, services.ask, listing) if _is_post() else (None, None)
    if thread is not None:
        return redirect(url_for("messages.thread", thread_id=thread.id))
    return render_template(
        "messages/ask.html",
        listing=listing,
        owner_name=_owner_name(listing),
        form=form or MessageForm(),
    ), (400 if form is not None else 200)


def _owner_name(listing: Challenge | Result) -> str:
    """The listing's owner as the asker may see it (an anonymous challenge's not)."""
    if isinstance(listing, Challenge):
        return permissions.seeker_name(current_user, listing)
    return listing.org.name


@bp.route("/challenge/<int:challenge_id>/ask", methods=["GET", "POST"])
@login_required
def ask_challenge(challenge_id: int):
    """Ask a challenge's owner (an institute before bidding, say)."""
    return _ask(_visible(Challenge, challenge_id, permissions.can_view_challenge))


@bp.route("/result/<int:result_id>/ask", methods=["GET", "POST"])
@login_required
def ask_result(result_id: int):
    """Ask a result's owner (a firm about a university's result, say)."""
    return _ask(_visible(Result, result_id, permissions.can_view_result))


# --- a deal's and a project's thread ---------------------------------------------


def _object_thread(obj: Deal | Project, allowed: bool, found, post_url: str):
    permissions.require(allowed)
    existing = found(obj)
    if existing is not None and not _is_post():
        return redirect(url_for("messages.thread", thread_id=existing.id))
    if _is_post():
        thread, form = _post(existing, services.post_about, obj)
        if thread is not None:
            return redirect(url_for("messages.thread", thread_id=thread.id))
        return _render(existing, form, target=obj, post_url=post_url, status=400)
    return _render(None, target=obj, post_url=post_url)


def _deal_or_its_thread(user: Any, deal: Deal) -> bool:
    return permissions.can_view_deal(user, deal) or permissions.can_use_deal_thread(
        user, deal
    )


@bp.route("/deal/<int:deal_id>", methods=["GET", "POST"])
@login_required
def deal(deal_id: int):
    """The deal's thread: its parties, broker and consortium members."""
    # Consortium members do not see the deal's page, yet take part in its thread.
    item = _visible(Deal, deal_id, _deal_or_its_thread)
    allowed = permissions.can_use_deal_thread(current_user, item)
    url = url_for("messages.deal", deal_id=item.id)
    return _object_thread(item, allowed, services.deal_thread, url)


@bp.route("/project/<int:project_id>", methods=["GET", "POST"])
@login_required
def project(project_id: int):
    """The project's thread: its owner, its winner and the bureau."""
    item = _visible(Project, project_id, permissions.can_view_project)
    allowed = permissions.can_use_project_thread(current_user, item)
    url = url_for("messages.project", project_id=item.id)
    return _object_thread(item, allowed, services.project_thread, url)
