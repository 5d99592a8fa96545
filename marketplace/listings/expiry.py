"""Deadlines and valid-until dates: move overdue listings on, remind owners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from sqlalchemy import and_, case, exists, inspect, literal, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from marketplace import audit
from marketplace.clock import local_today, utcnow
from marketplace.extensions import db
from marketplace.listings.review import listing_link
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Proposal,
    ProposalStatus,
    Result,
    ResultStatus,
)
from marketplace.search import outbox
from marketplace.workflow import PENDING_MOVE

REMINDER_DAYS = 7


@dataclass
class ExpiryReport:
    """What one expiry run changed."""

    evaluating: int = 0
    expired_challenges: int = 0
    expired_results: int = 0
    reminders: int = 0


def _has_live_bids():
    return exists().where(
        and_(
            Proposal.challenge_id == Challenge.id,
            Proposal.status != ProposalStatus.WITHDRAWN,
        )
    )


def _move_challenges(ids: list[int] | None, today: date, report: ExpiryReport):
    # A conditional UPDATE decides, so two requests expiring the same listing
    # at once change it (and audit it) only once.
    for target, with_bids in (
        (ChallengeStatus.EVALUATING, True),
        (ChallengeStatus.EXPIRED, False),
    ):
        condition = [
            Challenge.status == ChallengeStatus.OPEN,
            Challenge.deadline < today,
            _has_live_bids() if with_bids else ~_has_live_bids(),
        ]
        if ids is not None:
            condition.append(Challenge.id.in_(ids))
        moved = db.session.execute(
            update(Challenge)
            .where(*condition)
            .values(status=target, updated_at=utcnow())
            .returning(Challenge.id, Challenge.org_id, Challenge.title)
            .execution_options(synchronize_session=False)
        ).all()
        outbox.enqueue(db.session, "challenge", [row.id for row in moved])
        for row in moved:
            audit.record(
                "challenge_deadline_passed",
                org_id=row.org_id,
                object_type="challenges",
                object_id=row.id,
                from_state=ChallengeStatus.OPEN,
                to_state=target,
            )
            message = (
                "揭榜已截止，请评审申报方案" if with_bids else "揭榜已截止，无人申报"
            )
            audit.notify_org(
                row.org_id, f"{message}：{row.title[:80]}", f"/challenges/{row.id}"
            )
        if with_bids:
            report.evaluating += len(moved)
        else:
            report.expired_challenges += len(moved)


def _move_results(ids: list[int] | None, today: date, report: ExpiryReport):
    condition = [Result.status == ResultStatus.PUBLISHED, Result.valid_until < today]
    if ids is not None:
        condition.append(Result.id.in_(ids))
    moved = db.session.execute(
        update(Result)
        .where(*condition)
        .values(status=ResultStatus.EXPIRED, updated_at=utcnow())
        .returning(Result.id, Result.org_id, Result.title)
        .execution_options(synchronize_session=False)
    ).all()
    outbox.enqueue(db.session, "result", [row.id for row in moved])
    for row in moved:
        audit.record(
            "result_expired",
            org_id=row.org_id,
            object_type="results",
            object_id=row.id,
            from_state=ResultStatus.PUBLISHED,
            to_state=ResultStatus.EXPIRED,
        )
        audit.notify_org(
            row.org_id,
            f"成果已过有效期，可续期：{row.title[:80]}",
            f"/results/{row.id}",
        )
    report.expired_results += len(moved)


def _remind(today: date, report: ExpiryReport) -> None:
    soon = today + timedelta(days=REMINDER_DAYS)
    due = [
        *db.session.scalars(
            select(Challenge).where(
                Challenge.status == ChallengeStatus.OPEN,
                Challenge.deadline.between(today, soon),
                Challenge.reminded_at.is_(None),
            )
        ),
        *db.session.scalars(
            select(Result).where(
                Result.status == ResultStatus.PUBLISHED,
                Result.valid_until.between(today, soon),
                Result.reminded_at.is_(None),
            )
        ),
    ]
    for listing in due:
        when = (
            listing.deadline if isinstance(listing, Challenge) else listing.valid_until
        )
        what = "揭榜截止" if isinstance(listing, Challenge) else "有效期届满"
        audit.notify_org(
            listing.org_id,
            f"{when:%Y-%m-%d} {what}：{listing.title[:80]}",
            listing_link(listing),
        )
        listing.reminded_at = utcnow()
    report.reminders += len(due)


def expire_overdue(today: date | None = None) -> ExpiryReport:
    """Move every overdue listing on and send due reminders; the caller commits."""
    today = today or local_today()
    report = ExpiryReport()
    _move_challenges(None, today, report)
    _move_results(None, today, report)
    _remind(today, report)
    return report


def effective_status(
    listing: Challenge | Result, today: date | None = None
) -> ChallengeStatus | ResultStatus:
    """The state a listing shows and acts in: overdue ones as expiry would move them."""
    today = today or local_today()
    if isinstance(listing, Challenge):
        if (
            listing.status != ChallengeStatus.OPEN
            or listing.deadline is None
            or listing.deadline >= today
        ):
            return listing.status
        live = db.session.scalar(
            select(
                exists().where(
                    Proposal.challenge_id == listing.id,
                    Proposal.status != ProposalStatus.WITHDRAWN,
                )
            )
        )
        return ChallengeStatus.EVALUATING if live else ChallengeStatus.EXPIRED
    if (
        listing.status == ResultStatus.PUBLISHED
        and listing.valid_until is not None
        and listing.valid_until < today
    ):
        return ResultStatus.EXPIRED
    return listing.status


def challenge_status_expr(today: date | None = None):
    """effective_status as SQL, for queries that filter or list by state."""
    today = today or local_today()
    overdue = and_(Challenge.status == ChallengeStatus.OPEN, Challenge.deadline < today)
    status_type = Challenge.__table__.c.status.type
    return case(
        (
            and_(overdue, _has_live_bids()),
            literal(ChallengeStatus.EVALUATING, status_type),
        ),
        (overdue, literal(ChallengeStatus.EXPIRED, status_type)),
        else_=Challenge.status,
    )


def show(listing: Challenge | Result, today: date | None = None) -> bool:
    """Show an overdue listing in its effective state without writing anything.

    The loaded object takes the effective state as if it were stored, without
    becoming dirty; `flask listings expire` writes the move. A state move on the
    listing (workflow.move) writes it first, in the caller's transaction, so the
    audit trail and the owner's notice stay as if the listing had been moved.
    """
    today = today or local_today()
    target = effective_status(listing, today)
    if target == listing.status:
        return False
    set_committed_value(listing, "status", target)
    inspect(listing).info[PENDING_MOVE] = partial(_settle, listing, target, today)
    return True


def _settle(listing: Challenge | Result, target, today: date) -> None:
    # The conditional UPDATE moves it only if nobody (cron, another request) did.
    report = ExpiryReport()
    if isinstance(listing, Challenge):
        _move_challenges([listing.id], today, report)
    else:
        _move_results([listing.id], today, report)
    set_committed_value(listing, "status", target)


def open_by_date(today: date | None = None):
    """SQL: an open challenge whose deadline has not passed (effectively open)."""
    today = today or local_today()
    return and_(
        Challenge.status == ChallengeStatus.OPEN,
        or_(Challenge.deadline.is_(None), Challenge.deadline >= today),
    )


def published_by_date(today: date | None = None):
    """SQL: a published result still within its valid-until date."""
    today = today or local_today()
    return and_(
        Result.status == ResultStatus.PUBLISHED,
        or_(Result.valid_until.is_(None), Result.valid_until >= today),
    )
