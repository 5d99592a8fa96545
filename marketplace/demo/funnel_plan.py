"""The demo funnel's plan from a fixed seed: who bids and applies, when, how far."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from marketplace.clock import local_date
from marketplace.demo import trades
from marketplace.models import ContractType, Organisation, OrgKind

SEED = 20260103
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
SIGNING_DAYS = 5  # from signing a challenge's contract to its registration


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
        published = (today - local_date(result.published_at)).days
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
