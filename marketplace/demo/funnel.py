"""Demo bids, awards, adoption applications and transfers for `flask seed-demo`.

The bureau's funnels follow a listing from publication to a registered contract:
a challenge receives bids, one is selected (which opens a deal) and the deal's
contract is registered; a result receives adoption applications, one is accepted
(a deal) and its contract registered transfers the result. Here seven demo
challenges receive bids from the demo universities, institutes and agencies,
three are awarded and two contracted, and some 2 % of the demo results receive an
application from a demo enterprise of the result's trade (demo_trades), of which
some are accepted and a few transferred. Everything goes through the service
verbs; an organisation without a demo login acts through a stand-in member that
has no user row. The moments are then moved back so that the timelines look
lived.

The plan is drawn from a fixed seed over every demo listing, whatever its state,
before anything is written; a listing that already has a proposal of the demo, is
no longer open, or is past its deadline is skipped, so a second run adds nothing.
The caller commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import func, select, update

from marketplace.clock import local_today, utcnow
from marketplace.demo.funnel_plan import SEED, _plan_adoptions, _plan_bids
from marketplace.demo.funnel_steps import Context, _run_adoption, _run_challenge
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    Notification,
    Organisation,
    OrgKind,
    Proposal,
    ProposalKind,
    Result,
    User,
    UserRole,
)
from marketplace.proposals import services as proposals
from marketplace.results import adoption


@dataclass
class FunnelSeed:
    """What seed_funnel added."""

    bids: int = 0
    applications: int = 0
    deals: int = 0
    contracts: int = 0
    payments: int = 0


def seed_funnel(
    orgs: dict[str, Organisation], users: list[User], result_owners: tuple[str, ...]
) -> FunnelSeed:
    """Add the demo's bids, awards, applications and transfers that are missing."""
    seeded = FunnelSeed()
    today = local_today()
    first_new_notice = (db.session.scalar(select(func.max(Notification.id))) or 0) + 1
    live = [o for o in orgs.values() if o.verified and o.kind != OrgKind.BUREAU]
    enterprises = [o for o in live if o.kind == OrgKind.ENTERPRISE]
    bidders = [
        o
        for o in live
        if o.kind in (OrgKind.UNIVERSITY, OrgKind.INSTITUTE, OrgKind.AGENCY)
    ]
    actors: dict[int, object] = {}
    for user in sorted(users, key=lambda u: u.role != UserRole.ORG_ADMIN):
        actors.setdefault(user.org_id, user)
    bureau = next(u for u in users if u.org.kind == OrgKind.BUREAU)
    ctx = Context(actors, {o.id: o for o in orgs.values()}, bureau)

    challenges = {
        c.external_id: c
        for c in db.session.scalars(
            select(Challenge).where(
                Challenge.external_id.like("demo-c-%"),
                Challenge.org_id.in_([e.id for e in enterprises]),
            )
        )
    }
    owners = [orgs[name].id for name in result_owners]
    # The plan needs a few columns of every demo result, the run only its picks.
    columns = (Result.id, Result.external_id, Result.published_at, Result.discipline)
    results = db.session.execute(
        select(*columns, Result.title, Result.trl, Result.transfer_modes)
        .where(Result.org_id.in_(owners), Result.external_id.is_not(None))
        .order_by(Result.external_id, Result.id)
    ).all()
    bid_plans = _plan_bids(random.Random(SEED), today, challenges, bidders)
    adopt_plans = _plan_adoptions(random.Random(SEED + 1), today, results, enterprises)

    demo_orgs = [o.id for o in live]
    bid_on = set(
        db.session.scalars(
            select(Proposal.challenge_id).where(
                Proposal.kind == ProposalKind.BID, Proposal.org_id.in_(demo_orgs)
            )
        )
    )
    applied_to = set(
        db.session.scalars(
            select(Proposal.result_id).where(
                Proposal.kind == ProposalKind.ADOPTION, Proposal.org_id.in_(demo_orgs)
            )
        )
    )
    numbers = set(db.session.scalars(select(Contract.registration_no)))
    for plan in bid_plans:
        challenge = challenges.get(plan.external_id)
        if (
            challenge is None
            or challenge.id in bid_on
            or plan.number in numbers
            or challenge.status != ChallengeStatus.OPEN
            or not proposals.bidding_open(challenge)
        ):
            continue
        _run_challenge(plan, challenge, ctx, seeded)
    picked = [p.result_id for p in adopt_plans]
    by_id = {
        r.id: r for r in db.session.scalars(select(Result).where(Result.id.in_(picked)))
    }
    for plan in adopt_plans:
        result = by_id[plan.result_id]
        if (
            result.id in applied_to
            or plan.number in numbers
            or not adoption.accepts_applications(result)
        ):
            continue
        _run_adoption(plan, result, ctx, seeded)

    # Notices about the demo's own history are not news to anyone: mark them read.
    db.session.flush()
    db.session.execute(
        update(Notification)
        .where(Notification.id >= first_new_notice, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return seeded
