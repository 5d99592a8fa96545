"""Demo deals, registered contracts, payments and targets for `flask seed-demo`.

40 deals in every stage, mostly brokered by the demo agency, and about 200
contracts registered from 2019 to today across the counties, fields and contract
types, so that the bureau's dashboard has a history to show. Each buyer and
seller is one whose trade has the subject (demo_trades). The plan is drawn
from a fixed seed before the database is read; existing deals (by title) and
contracts (by registration number) are skipped; the contracts' plan is in
demo_contracts. The caller commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select, update

from marketplace import permissions
from marketplace.clock import local_moment, local_today, utcnow
from marketplace.deals import services as deals
from marketplace.demo import trades
from marketplace.demo.contracts import (
    FIRM_SELLER_BOOST,
    FIRST_YEAR,
    LOCAL_FIRMS,
    MONTH_WEIGHTS,
    OFFICE,
    OUTSIDE_BUYERS,
    OUTSIDE_SELLERS,
    PAYMENT_NOTES,
    TURNOVER_WAN,
    TYPE_SCALE,
    TYPE_WEIGHTS,
    Side,
    Slot,
    _plan_contracts,
    _record,
    _record_many,
)
from marketplace.demo.trades import TOPICS
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    Contract,
    Deal,
    DealEvent,
    DealStage,
    Notification,
    Organisation,
    OrgKind,
    TechField,
    User,
    UserRole,
    YearlyTarget,
)
from marketplace.stats.services import ensure_default_targets

SEED = 20260102

# The contracts' plan lives in demo_contracts; its names stay importable here.
__all__ = [
    "CHALLENGE_STAGES",
    "DEAL_STAGES",
    "DRAFT_NOTE",
    "FIRM_SELLER_BOOST",
    "FIRST_YEAR",
    "LOCAL_FIRMS",
    "LOST_NOTES",
    "MONTH_WEIGHTS",
    "NOTES",
    "OFFICE",
    "OUTSIDE_BUYERS",
    "OUTSIDE_SELLERS",
    "PAYMENT_NOTES",
    "SEED",
    "SIGNED_YEARS",
    "TURNOVER_WAN",
    "TYPE_SCALE",
    "TYPE_WEIGHTS",
    "DealPlan",
    "DealSeed",
    "Side",
    "Slot",
    "seed_deals",
]

# (stage, how many) of the deals not tied to a demo challenge, then the stages
# of the deals on demo challenges demo-c-01..10 (posted today: no history).
DEAL_STAGES = ((DealStage.SIGNED, 14), (DealStage.LEAD, 3), (DealStage.CONTACTED, 4),
               (DealStage.NEGOTIATING, 4), (DealStage.LOST, 5))  # fmt: skip
# When the signed deals' contracts were signed: past years only, so which planned
# contract each one takes does not depend on today.
SIGNED_YEARS = (2019, 2020, 2020, 2021, 2021, 2022, 2022, 2023, 2023, 2024, 2024,
                2025, 2025, 2025)  # fmt: skip
_L, _T, _N = DealStage.LEAD, DealStage.CONTACTED, DealStage.NEGOTIATING
CHALLENGE_STAGES = (_L, _T, _N, _L, _T, _N, _N, _T, _L, DealStage.LOST)
NOTES = {
    DealStage.CONTACTED: "已联系双方，安排技术负责人首次交流。",
    DealStage.NEGOTIATING: "双方认可技术路线，进入合同条款和价格洽谈。",
}
LOST_NOTES = ("企业年度预算调整，项目暂缓。", "技术指标未达成一致，双方终止洽谈。",
              "企业选择自主研发，不再引进。")  # fmt: skip
DRAFT_NOTE = "已提交合同草案，等待双方法务确认。"


@dataclass
class DealSeed:
    """What seed_deals added."""

    deals: int = 0
    contracts: int = 0
    payments: int = 0
    targets: int = 0


class DealPlan(NamedTuple):
    """One planned deal; a challenge deal gets its parties from the challenge."""

    title: str
    demand: Side | None
    supply: Side | None
    path: tuple[DealStage, ...]  # moves after the lead; signed comes by contract
    mode: str  # who opens it: "agency", or a party ("other" agency, or "none")
    end_days: int  # the last event, days before today (not for signed deals)
    gaps: tuple[tuple[int, float], ...]  # (days before, hour of the day) per event
    slot: Slot | None = None
    note: str = ""  # why it was lost
    challenge: str | None = None
    draw: float = 0.0


def _path(rng: random.Random, stage: DealStage) -> tuple[DealStage, ...]:
    if stage == DealStage.LOST:
        return (_T, _N, stage) if rng.random() < 0.5 else (_T, stage)
    return {_L: (), _T: (_T,)}.get(stage, (_T, _N))


def _plan_deals(rng, enterprises, research, by_year) -> list[DealPlan]:
    stages = [stage for stage, count in DEAL_STAGES for _ in range(count)]
    # Only subjects some platform enterprise buys: it is the demand side.
    subjects = [
        (code, t)
        for code, (_, topics) in TOPICS.items()
        for t, _ in topics
        if any(trades.buys(e.name, t) for e in enterprises)
    ]
    taken: set[str] = set()
    plans = []
    for i, (stage, (code, topic)) in enumerate(
        zip(stages, rng.sample(subjects, len(stages)), strict=True)
    ):
        demand = rng.choice([e for e in enterprises if trades.buys(e.name, topic)])
        supply = rng.choice([o for o in research if trades.sells(o.name, topic)])
        mode = rng.choices(("agency", "other", "none"), weights=(65, 15, 20))[0]
        gaps = tuple((rng.randint(4, 35), rng.uniform(0, 8)) for _ in range(5))
        end = rng.randint(60, 900) if stage == DealStage.LOST else rng.randint(1, 40)
        slot = None
        if stage == DealStage.SIGNED:
            free = [s for s in by_year[SIGNED_YEARS[i]] if s.number not in taken]
            slot = rng.choice(free)
            taken.add(slot.number)
            slot.field, slot.topic = code, topic
            slot.buyer, slot.seller = demand, supply
        plans.append(DealPlan(f"{topic}（{demand.name}）", demand, supply,
                              _path(rng, stage), mode, end, gaps, slot,
                              rng.choice(LOST_NOTES)))  # fmt: skip
    for k, stage in enumerate(CHALLENGE_STAGES, start=1):
        plans.append(DealPlan("", None, None, _path(rng, stage), "agency", 0, (),
                              note=LOST_NOTES[1], challenge=f"demo-c-{k:02d}",
                              draw=rng.random()))  # fmt: skip
    return plans


def _backdate(deal: Deal, end: date, gaps, last: datetime | None = None) -> None:
    """Spread the deal's timeline back from the day `end` (`last`: the signing)."""
    db.session.flush()
    query = select(DealEvent).where(DealEvent.deal_id == deal.id)
    events = list(db.session.scalars(query.order_by(DealEvent.id)))
    if last is not None:
        events.pop().created_at = last
    day, latest = end, local_moment(end, 5)
    for event, (days, hours) in zip(reversed(events), ((0, 5), *gaps), strict=False):
        day -= timedelta(days=days)
        event.created_at = local_moment(day, hours)
    deal.created_at, deal.updated_at = events[0].created_at, last or latest


def _run_deal(
    plan: DealPlan, actors: dict[int, User], agencies: list[Side], challenge=None
) -> Deal:
    """Open the deal as the agency or a party and walk it along its path."""
    demand = db.session.get(Organisation, plan.demand.org_id)
    supply = db.session.get(Organisation, plan.supply.org_id)
    party = actors.get(demand.id) or actors.get(supply.id)
    agent = actors[agencies[0].org_id]
    actor = agent if plan.mode == "agency" or party is None else party
    deal = deals.create_deal(actor, demand, supply, plan.title, challenge=challenge)
    other = db.session.get(Organisation, agencies[1].org_id)
    # On a run after demo_delivery restricted that agency, it brokers nothing new.
    if (
        actor is party
        and plan.mode == "other"
        and not permissions.org_restricted(other.id)
    ):
        deals.set_broker(deal, actor, other)
    for stage in plan.path:
        deals.move_stage(deal, actor, stage, NOTES.get(stage) or plan.note)
        if stage == _N:
            deals.add_note(deal, actor, DRAFT_NOTE)
    return deal


def _side(org: Organisation, weight: float) -> Side:
    return Side(org.name, org.region_code, weight, org.id)


def seed_deals(orgs: dict[str, Organisation], users: list[User]) -> DealSeed:
    """Add the demo deals, contracts, payments and default targets that are missing."""
    seeded = DealSeed()
    today, now = local_today(), utcnow()
    first_new_notice = (db.session.scalar(select(func.max(Notification.id))) or 0) + 1
    live = [o for o in orgs.values() if o.verified and o.kind != OrgKind.BUREAU]
    enterprises = [_side(o, 3) for o in live if o.kind == OrgKind.ENTERPRISE]
    research = [
        _side(o, 3) for o in live if o.kind in (OrgKind.UNIVERSITY, OrgKind.INSTITUTE)
    ]
    agencies = [_side(o, 0.5) for o in live if o.kind == OrgKind.AGENCY]
    sellers = [*research, *(s._replace(weight=0.6) for s in enterprises), *agencies,
               *LOCAL_FIRMS, *OUTSIDE_SELLERS]  # fmt: skip
    buyers = [*enterprises, *LOCAL_FIRMS, *OUTSIDE_BUYERS]
    brokers = [a.org_id for a in agencies]
    by_year = _plan_contracts(random.Random(SEED), today, buyers, sellers, brokers)
    plans = _plan_deals(random.Random(SEED + 1), enterprises, research, by_year)

    # The acting user of each organisation: its administrator where it has one.
    actors: dict[int, User] = {}
    for user in sorted(users, key=lambda u: u.role != UserRole.ORG_ADMIN):
        actors.setdefault(user.org_id, user)
    bureau = next(u for u in users if u.org.kind == OrgKind.BUREAU)
    fields = dict(db.session.execute(select(TechField.code, TechField.id)).all())
    titles = set(db.session.scalars(select(Deal.title)))
    numbers = set(db.session.scalars(select(Contract.registration_no)))
    challenges = {
        c.external_id: c
        for c in db.session.scalars(
            select(Challenge).where(
                Challenge.external_id.in_([p.challenge for p in plans if p.challenge]),
                Challenge.org_id.in_([e.org_id for e in enterprises]),
            )
        )
    }
    for plan in plans:
        challenge = challenges.get(plan.challenge) if plan.challenge else None
        if challenge is not None:
            code = challenge.field.code if challenge.field else None
            fit = [o for o in research if trades.researches(o.name, code)]
            supply = fit[int(plan.draw * len(fit))]
            demand = next(e for e in enterprises if e.org_id == challenge.org_id)
            plan = plan._replace(
                title=f"{challenge.title}（揭榜对接）", demand=demand, supply=supply
            )
        if plan.demand is None or plan.title in titles:
            continue
        deal = _run_deal(plan, actors, agencies, challenge)
        seeded.deals += 1
        slot = plan.slot
        if slot is not None and slot.number not in numbers:
            contract = _record(slot, bureau, fields, deal)
            seeded.contracts += 1
            seeded.payments += len(slot.payments)
            end = slot.signed_on - timedelta(days=1)
            _backdate(deal, end, plan.gaps, contract.registered_at)
        elif challenge is None:  # challenges were posted today: no history
            _backdate(deal, today - timedelta(days=plan.end_days), plan.gaps)

    reserved = {p.slot.number for p in plans if p.slot}
    rest = [s for year in by_year.values() for s in year if s.number not in numbers]
    rest = [s for s in rest if s.number not in reserved]
    seeded.contracts += _record_many(rest, bureau, fields)
    seeded.payments += sum(len(s.payments) for s in rest)

    targets = db.session.scalar(select(func.count(YearlyTarget.id)))
    ensure_default_targets()
    seeded.targets = db.session.scalar(select(func.count(YearlyTarget.id))) - targets
    # Notices about the demo's own history are not news to anyone: mark them read.
    db.session.flush()
    db.session.execute(
        update(Notification)
        .where(Notification.id >= first_new_notice, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return seeded
