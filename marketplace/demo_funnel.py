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
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from marketplace import demo_trades as trades
from marketplace.challenges.services import close_bidding_early
from marketplace.contracts import services as contracts
from marketplace.contracts.services import Party
from marketplace.deals import services as deals
from marketplace.extensions import db
from marketplace.listings.states import local_today
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    ContractType,
    Deal,
    DealEvent,
    DealStage,
    Notification,
    Organisation,
    OrgKind,
    Proposal,
    ProposalKind,
    Result,
    User,
    UserRole,
    utcnow,
)
from marketplace.proposals import decisions
from marketplace.proposals import services as proposals
from marketplace.results import adoption

SEED = 20260103
LOCAL = ZoneInfo("Asia/Shanghai")
OFFICE = "411700"
# Registration serials from here on are the funnel's (demo_deals' stay below 100).
SERIAL_BASE = 500
# Bids per demo challenge demo-c-01..10; the awarded and contracted ones.
BID_COUNTS = (3, 2, 3, 0, 2, 2, 1, 0, 2, 0)
AWARDED = ("demo-c-01", "demo-c-03", "demo-c-06")
CONTRACTED = ("demo-c-01", "demo-c-03")
APPLIED_SHARE = 0.02  # of the demo results
MIN_APPLIED = 6
MIN_TRL = 3  # applications only to results past a review or discussion paper
MODE_TYPES = {"转让": ContractType.TRANSFER, "许可": ContractType.LICENSING,
              "作价投资": ContractType.TRANSFER,
              "合作开发": ContractType.DEVELOPMENT}  # fmt: skip
ROUTES = ("实验室小试—中试放大—企业现场验证三段推进，每段设量化验收指标。",
          "先做现状诊断和工艺对标，再联合企业技术人员开展配方与参数优化。",
          "依托已有专利技术和中试平台，结合企业产线条件进行适配改造。")  # fmt: skip
TEAMS = ("教授 1 名、副教授 2 名、博士研究生 3 名，另有企业驻点工程师 1 名。",
         "研究员领衔，高级工程师 2 名、工程师 4 名，具备同类项目实施经验。",
         "项目负责人为省级学术技术带头人，团队 8 人，含中试车间技术骨干。")  # fmt: skip
SCENARIOS = ("拟在现有生产线上应用该成果，替代现行工艺，降低单位能耗和不良率。",
             "计划新建一条示范线，先在一个车间试用，效果达标后全厂推广。",
             "用于企业新产品开发，配合县里的技改项目申报，一年内实现量产。",
             "拟与成果团队共建联合实验室，在本企业完成工程化验证。")  # fmt: skip
TERMS = ("一次性支付转让费，分三期付款，成果团队提供一年技术指导。",
         "普通许可使用，入门费加按销售额提成，许可期五年。",
         "先行支付部分费用开展中试，验证达标后签订正式合同。",
         "可接受独占许可，费用面议，希望成果方派员驻厂指导。")  # fmt: skip
DECLINE_REASONS = (
    "该成果已与其他企业洽谈独家许可，暂不接受新的申请。",
    "贵企业的应用场景与成果的技术条件差距较大，建议先开展小试。",
)
LOST_NOTE = "双方就许可费用和付款方式未能达成一致，暂停洽谈。"
CONTACT_NOTE = "成果团队已到企业现场调研，确认技术对接方案。"
NEGOTIATE_NOTE = "双方认可技术方案，进入合同条款和价格洽谈。"
PAYMENT_NOTE = "首付款"
_T = DealStage.CONTACTED
SIGNING_DAYS = 5  # from signing a challenge's contract to its registration


@dataclass(frozen=True)
class Desk:
    """A member acting for an organisation that has no demo login (no user row)."""

    org: Organisation
    id: None = None
    is_authenticated: bool = True
    is_sysadmin: bool = False
    role: UserRole = UserRole.ORG_ADMIN

    @property
    def org_id(self) -> int:
        """The organisation's id, as a user's."""
        return self.org.id


@dataclass
class FunnelSeed:
    """What seed_funnel added."""

    bids: int = 0
    applications: int = 0
    deals: int = 0
    contracts: int = 0
    payments: int = 0


class BidPlan(NamedTuple):
    """The bids on one challenge and how far it goes; days are before today."""

    external_id: str
    bidders: tuple[int, ...]  # organisation ids, the first one wins an award
    bid_days: tuple[int, ...]
    published_days: int
    awarded_days: int | None
    registered_days: int | None
    number: str | None
    prices: tuple[int, ...]  # 万元
    months: tuple[int, ...]
    texts: tuple[int, ...]


class AdoptPlan(NamedTuple):
    """One adoption application and what becomes of it; days are before today."""

    result_id: int
    applicant: int
    outcome: str  # pending, declined, accepted, lost, transferred
    days: tuple[int, ...]  # applied, decided, contacted, negotiating, signed, reg.
    number: str | None
    ratio: float
    texts: tuple[int, int]
    mode: str


def _at(day: date, hours: float = 0) -> datetime:
    """A local office-hours moment on a day (9:00 plus hours), in UTC."""
    moment = datetime.combine(day, time(9), LOCAL) + timedelta(hours=hours)
    return moment.astimezone(UTC)


def _when(day: date, hours: float) -> datetime:
    """A moment on a day, at the latest now (today's office hours may be ahead)."""
    return min(_at(day, hours), utcnow())


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL).date()


def _plan_bids(rng, today, challenges, bidders) -> list[BidPlan]:
    plans = []
    for k, count in enumerate(BID_COUNTS, start=1):
        external_id = f"demo-c-{k:02d}"
        challenge = challenges.get(external_id)
        code = challenge.field.code if challenge and challenge.field else None
        fit = [
            o
            for o in bidders
            if trades.researches(o.name, code) and o.kind != OrgKind.AGENCY
        ]
        chosen = rng.sample(fit, min(count, len(fit)))
        if count > len(chosen):  # an agency makes up the number
            chosen += [o for o in bidders if o.kind == OrgKind.AGENCY][:1]
        awarded = registered = None
        number = None
        if external_id in CONTRACTED:
            registered = rng.randint(3, 12)
            awarded = registered + rng.randint(35, 60)
            year = (today - timedelta(days=registered + SIGNING_DAYS)).year
            number = f"{year}{OFFICE}{SERIAL_BASE + k:06d}"
        elif external_id in AWARDED:
            awarded = rng.randint(5, 20)
        last_bid = (awarded + rng.randint(4, 8)) if awarded else rng.randint(0, 6)
        bid_days = tuple(last_bid + rng.randint(0, 20) for _ in chosen)
        published = max(bid_days, default=last_bid) + rng.randint(5, 15)
        base = int(challenge.bounty_fen or 0) // 1_000_000 if challenge else 0
        base = base or rng.choice((30, 50, 80))
        prices = tuple(max(5, round(base * rng.uniform(0.7, 1.1))) for _ in chosen)
        months = tuple(rng.choice((6, 9, 12, 18, 24)) for _ in chosen)
        texts = tuple(rng.randrange(3) for _ in chosen)
        plans.append(BidPlan(external_id, tuple(o.id for o in chosen), bid_days,
                             published, awarded, registered, number, prices, months,
                             texts))  # fmt: skip
    return plans


def _adopters(result, enterprises: list[Organisation]) -> list[Organisation]:
    """The enterprises whose trade the result is of."""
    return [
        e for e in enterprises if trades.adopts(e.name, result.discipline, result.title)
    ]


def _plan_adoptions(rng, today, results, enterprises) -> list[AdoptPlan]:
    # Only results past the desk (TRL 3 up: no review) of some enterprise's
    # trade; the share is of all results.
    share = max(MIN_APPLIED, round(len(results) * APPLIED_SHARE))
    results = [r for r in results if r.trl >= MIN_TRL and _adopters(r, enterprises)]
    count = min(len(results), share)
    picked = sorted(rng.sample(results, count), key=lambda r: r.external_id)
    transferred = max(2, count // 8)
    accepted = max(1, count // 5)
    lost = max(1, count // 20)
    declined = max(1, count // 6)
    outcomes = (["transferred"] * transferred + ["accepted"] * accepted
                + ["lost"] * lost + ["declined"] * declined)  # fmt: skip
    outcomes += ["pending"] * (count - len(outcomes))
    # The transfers go to the results published longest ago.
    by_age = sorted(picked, key=lambda r: (r.published_at, r.external_id))
    order = {r.id: i for i, r in enumerate(by_age)}
    rest = outcomes[transferred:]
    rng.shuffle(rest)
    plans, serial = [], SERIAL_BASE + 50
    for result in picked:
        published = (today - _local_date(result.published_at)).days
        outcome = "transferred" if order[result.id] < transferred else rest.pop()
        if outcome == "transferred":
            registered = rng.randint(5, 120)
            signed = registered + rng.randint(3, 15)
            negotiating = signed + rng.randint(10, 25)
            contacted = negotiating + rng.randint(5, 15)
            decided = contacted + rng.randint(3, 10)
            applied = decided + rng.randint(3, 20)
            days = (applied, decided, contacted, negotiating, signed, registered)
            if applied > published - 2:  # a recent result: a quicker story
                days = tuple(max(1, d * (published - 2) // applied) for d in days)
            if days[1] <= days[4]:  # too recent to be signed after the deal opened
                outcome = "accepted"
        else:
            # Applied after publication, each later step at least a day later and
            # a day before today; a story that does not fit stays pending.
            applied = max(0, published - rng.randint(3, 90))
            steps = [applied]
            for _ in range(3):
                steps.append(steps[-1] - rng.randint(2, 15))
            needs = {"declined": 1, "accepted": 2, "lost": 3}.get(outcome, 0)
            if needs and steps[needs] < 1:
                outcome = "pending"
            days = (*steps, 0, 0)
        number = None
        if outcome == "transferred":
            serial += 1
            year = (today - timedelta(days=days[4])).year
            number = f"{year}{OFFICE}{serial:06d}"
        modes = [m for m in result.transfer_modes if m in MODE_TYPES] or ["转让"]
        adopters = _adopters(result, enterprises)
        plans.append(AdoptPlan(result.id, rng.choice(adopters).id, outcome, days,
                               number, rng.uniform(0.75, 1.0),
                               (rng.randrange(4), rng.randrange(4)),
                               rng.choice(modes)))  # fmt: skip
    return plans


def _backdate_deal(deal: Deal, moments: list[datetime]) -> None:
    """Give the deal's events (oldest first) these moments, the last ones last."""
    db.session.flush()
    events = list(
        db.session.scalars(
            select(DealEvent).where(DealEvent.deal_id == deal.id).order_by(DealEvent.id)
        )
    )
    for event, moment in zip(events, moments, strict=False):
        event.created_at = moment
    deal.created_at = events[0].created_at
    deal.updated_at = events[-1].created_at


def _register(bureau: User, data: dict, number: str, signed: date, reg: datetime):
    """Record and register a deal's contract; a first payment if it is due."""
    contract = contracts.record_contract(bureau, data)
    contract = contracts.register_contract(contract, bureau, number)
    contract.created_at = min(_at(signed + timedelta(days=1), 1.5), reg)
    contract.registered_at = contract.updated_at = reg
    paid = 0
    received = signed + timedelta(days=20)
    if received <= local_today():
        amount = data["amount_fen"] * 3 // 10 // 10_000 * 10_000
        contracts.record_payment(contract, bureau, received, amount, PAYMENT_NOTE)
        paid = 1
    return contract, paid


class Context(NamedTuple):
    """Who acts: the organisations' users or stand-ins, and the bureau."""

    actors: dict[int, object]
    orgs: dict[int, Organisation]
    bureau: User

    def actor(self, org_id: int):
        """The organisation's demo administrator or member, else a stand-in."""
        return self.actors.get(org_id) or Desk(self.orgs[org_id])


def _backdate_challenge(plan: BidPlan, challenge: Challenge, bids, awarded) -> None:
    """Publish the challenge days before its bids, and date the bids and award."""
    today = local_today()
    db.session.flush()
    published = challenge.published_at
    if published.tzinfo is None:  # SQLite keeps no zone; the moments are UTC
        published = published.replace(tzinfo=UTC)
    shift = published - _at(today - timedelta(days=plan.published_days))
    for name in ("created_at", "submitted_at", "published_at", "updated_at"):
        if getattr(challenge, name) is not None:
            setattr(challenge, name, getattr(challenge, name) - shift)
    for i, bid in enumerate(bids):
        bid.created_at = bid.updated_at = _when(
            today - timedelta(days=plan.bid_days[i]), 1 + i
        )
        if awarded is not None:
            bid.decided_at = bid.updated_at = awarded
    if awarded is not None:
        challenge.awarded_at = challenge.updated_at = awarded


def _run_challenge(plan: BidPlan, challenge: Challenge, ctx: Context, seeded) -> None:
    today = local_today()
    bids = []
    for i, org_id in enumerate(plan.bidders):
        org = ctx.orgs[org_id]
        data = proposals.BidData(
            solution=f"针对“{challenge.title}”，{org.name}提出以下解决方案。",
            technical_route=ROUTES[plan.texts[i]],
            price_fen=plan.prices[i] * 1_000_000,
            duration_months=plan.months[i],
            team=TEAMS[plan.texts[i]],
        )
        bids.append(proposals.submit_bid(challenge, ctx.actor(org_id), data))
    seeded.bids += len(bids)
    if plan.awarded_days is None or not bids:
        _backdate_challenge(plan, challenge, bids, None)
        return
    owner = ctx.actor(challenge.org_id)
    awarded_on = today - timedelta(days=plan.awarded_days)
    close_bidding_early(challenge, owner)
    winner = bids[0]
    decisions.shortlist(winner, owner)
    deal = decisions.select_winner(winner, owner)
    moment = _at(awarded_on, 2)
    seeded.deals += 1
    moments = [moment]
    if plan.number is not None:
        supplier = ctx.actor(winner.org_id)
        reg_day = today - timedelta(days=plan.registered_days)
        signed = reg_day - timedelta(days=SIGNING_DAYS)
        steps = ((_T, CONTACT_NOTE, 30), (DealStage.NEGOTIATING, NEGOTIATE_NOTE, 15))
        for stage, note, back in steps:
            deals.move_stage(deal, supplier, stage, note)
            moments.append(_at(signed - timedelta(days=back), 3))
        amount = winner.price_fen
        registered = _at(reg_day, 1)
        data = _contract_data(
            challenge.title, ContractType.DEVELOPMENT, deal, amount, 90, signed
        )
        data["field_id"] = challenge.field_id
        _, paid = _register(ctx.bureau, data, plan.number, signed, registered)
        moments.append(registered)
        seeded.contracts += 1
        seeded.payments += paid
    _backdate_deal(deal, moments)
    _backdate_challenge(plan, challenge, bids, moment)


def _contract_data(title, kind, deal, amount_fen, tech_pct, signed) -> dict:
    def party(org_id: int) -> Party:
        return Party(org_id=org_id)

    tech = amount_fen * tech_pct // 100 // 10_000 * 10_000
    return {"title": f"{title[:80]}{kind.label}合同", "contract_type": kind,
            "buyer": party(deal.demand_org_id), "seller": party(deal.supply_org_id),
            "broker_org_id": deal.broker_org_id, "deal_id": deal.id,
            "signed_on": signed, "term_start": signed,
            "term_end": signed + timedelta(days=365),
            "amount_fen": amount_fen, "tech_amount_fen": tech}  # fmt: skip


def _run_adoption(plan: AdoptPlan, result: Result, ctx: Context, seeded) -> None:
    today = local_today()
    day = [today - timedelta(days=d) for d in plan.days]
    applicant = ctx.actor(plan.applicant)
    application = adoption.apply_to_adopt(
        result, applicant, SCENARIOS[plan.texts[0]], TERMS[plan.texts[1]]
    )
    application.created_at = application.updated_at = _when(day[0], 0.5)
    seeded.applications += 1
    if plan.outcome == "pending":
        return
    owner = ctx.actor(result.org_id)
    decided = _at(day[1], 1.5)
    if plan.outcome == "declined":
        adoption.decline_application(
            application, owner, DECLINE_REASONS[plan.texts[0] % 2]
        )
        application.decided_at = application.updated_at = decided
        return
    deal = adoption.accept_application(application, owner)
    application.decided_at = application.updated_at = decided
    seeded.deals += 1
    moments = [decided]
    if plan.outcome == "lost":
        deals.move_stage(deal, owner, DealStage.CONTACTED, CONTACT_NOTE)
        deals.move_stage(deal, owner, DealStage.LOST, LOST_NOTE)
        moments += [_at(day[2], 2.5), _at(day[3], 3.5)]
    elif plan.outcome == "accepted" and plan.texts[1] % 2:
        deals.move_stage(deal, owner, DealStage.CONTACTED, CONTACT_NOTE)
        moments.append(_at(day[2], 2.5))
    elif plan.outcome == "transferred":
        deals.move_stage(deal, owner, DealStage.CONTACTED, CONTACT_NOTE)
        deals.move_stage(deal, owner, DealStage.NEGOTIATING, NEGOTIATE_NOTE)
        moments += [_at(day[2], 2.5), _at(day[3], 3.5)]
        kind = MODE_TYPES[plan.mode]
        asked = result.price_fen or 30 * 1_000_000
        amount = max(100_000, round(asked * plan.ratio / 100_000) * 100_000)
        registered = _at(day[5], 4.5)
        data = _contract_data(result.title, kind, deal, amount, 100, day[4])
        data["field_id"] = result.field_id
        _, paid = _register(ctx.bureau, data, plan.number, day[4], registered)
        result.transferred_at = result.updated_at = registered
        moments.append(registered)
        seeded.contracts += 1
        seeded.payments += paid
    _backdate_deal(deal, moments)


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
