"""Demo registered contracts and payments, 2019 to today, for `flask seed-demo`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from marketplace import audit
from marketplace.clock import local_moment, utcnow
from marketplace.contracts import services as contracts
from marketplace.contracts.services import Party
from marketplace.demo import trades
from marketplace.demo.trades import TOPICS
from marketplace.extensions import db
from marketplace.models import (
    Contract,
    ContractStatus,
    ContractType,
    Deal,
    Payment,
    User,
)

FIRST_YEAR = 2019
# 万元 registered per full year (2020 just short of the 13,000 万元 target).
TURNOVER_WAN = {2019: 9_600, 2020: 12_600, 2021: 13_700, 2022: 15_000,
                2023: 16_300, 2024: 17_800, 2025: 19_400, 2026: 20_400}  # fmt: skip
OFFICE = "411700"  # the city's registration office, part of every number
FIRM_SELLER_BOOST = 5  # a firm selling its own subject, against research sellers
MONTH_WEIGHTS = (5, 4, 8, 8, 8, 9, 8, 7, 9, 9, 10, 15)  # the December rush
_C = ContractType
_SUBMITTED, _REGISTERED = ContractStatus.SUBMITTED, ContractStatus.REGISTERED
TYPE_WEIGHTS = {_C.DEVELOPMENT: 38, _C.SERVICE: 27, _C.TRANSFER: 14,
                _C.CONSULTING: 11, _C.LICENSING: 10}  # fmt: skip
TYPE_SCALE = {_C.DEVELOPMENT: 1.5, _C.TRANSFER: 1.3, _C.LICENSING: 1.0,
              _C.SERVICE: 0.6, _C.CONSULTING: 0.35}  # fmt: skip


class Side(NamedTuple):
    """A possible buyer or seller: a platform organisation or an outside name."""

    name: str
    region: str
    weight: float
    org_id: int | None = None


# Parties not on the platform: a firm in every county and zone, and 市外 ones;
# what each buys and sells is in demo_trades.
LOCAL_FIRMS = (
    Side("驻马店市天中建筑设计院有限公司", "411702", 2),
    Side("西平县华鑫机械制造有限公司", "411721", 2),
    Side("上蔡县金穗面业有限公司", "411722", 2),
    Side("平舆县蓝天防水材料有限公司", "411723", 2),
    Side("正阳县丰源种业有限公司", "411724", 2),
    Side("确山县铜山新型建材有限公司", "411725", 2),
    Side("泌阳县花菇产业发展有限公司", "411726", 2),
    Side("汝南县天中中药材种植有限公司", "411727", 2),
    Side("遂平县恒丰面粉机械有限公司", "411728", 2),
    Side("新蔡县绿源生态农业有限公司", "411729", 2),
    Side("驻马店中原智谷信息技术有限公司", "4117Z1", 2),
    Side("驻马店华通专用汽车有限公司", "4117Z2", 2),
    Side("驻马店豫康生物科技有限公司", "4117Z3", 2),
)
OUTSIDE_SELLERS = (
    Side("郑州中原工研技术有限公司", "000000", 3),
    Side("武汉光谷启明光电科技有限公司", "000000", 2),
    Side("北京中科智农技术研究院有限公司", "000000", 2),
    Side("西安秦川航空材料研究所有限公司", "000000", 1),
)
OUTSIDE_BUYERS = (
    Side("许昌远航电气设备有限公司", "000000", 1),
    Side("信阳茗香茶业有限公司", "000000", 1),
)
PAYMENT_NOTES = ("首付款", "进度款", "尾款")


@dataclass
class Slot:
    """One planned contract."""

    number: str
    signed_on: date
    kind: ContractType
    field: str
    topic: str
    buyer: Side
    seller: Side
    broker: int | None
    weight: float
    tech_pct: int  # 技术交易额 as a percentage of 合同成交额
    pays: tuple[int, float, float, tuple[int, int, int]]
    days: tuple[int, int]  # to registration, contract term in months
    amount_fen: int = 0
    payments: list[tuple[date, int]] = field(default_factory=list)

    @property
    def tech_fen(self) -> int:
        """技术交易额, rounded down to 0.01 万元 (never above the amount)."""
        return self.amount_fen * self.tech_pct // 1_000_000 * 10_000


def _pick(rng: random.Random, sides: list[Side]) -> Side:
    return rng.choices(sides, weights=[s.weight for s in sides])[0]


def _payments(slot: Slot, today: date) -> list[tuple[date, int]]:
    """Instalments received by today; their sum never exceeds the amount."""
    count, first, second, delays = slot.pays
    shares = [0.3 + 0.2 * first]
    shares += [shares[0] + (1 - shares[0]) * (0.4 + 0.4 * second), 1.0]
    done, day, out = 0, slot.signed_on, []
    for share, delay in list(zip(shares, delays, strict=True))[:count]:
        day += timedelta(days=delay)
        upto = int(slot.amount_fen * share) // 100 * 100
        if day <= today and upto > done:
            out.append((day, upto - done))
            done = upto
    return out


def _boost(side: Side) -> float:
    return FIRM_SELLER_BOOST if side.name in trades.TRADES else 1.0


def _plan_contracts(rng, today, buyers, sellers, agencies) -> dict[int, list[Slot]]:
    fields = list(TOPICS)
    broker_weights = [28 / len(agencies)] * len(agencies) + [72]  # 28 % brokered
    by_year: dict[int, list[Slot]] = {}
    for year in range(FIRST_YEAR, today.year + 1):
        slots = []
        for _ in range(16 + 3 * (year - FIRST_YEAR)):
            month = rng.choices(range(1, 13), weights=MONTH_WEIGHTS)[0]
            signed = date(year, month, rng.randint(1, 28))
            kind = rng.choices(list(TYPE_WEIGHTS), weights=TYPE_WEIGHTS.values())[0]
            code = rng.choices(fields, weights=[TOPICS[f][0] for f in fields])[0]
            topic = rng.choice(TOPICS[code][1])[0]
            # A buyer of the trade, then a seller of the subject other than it.
            buyer = _pick(rng, [b for b in buyers if trades.buys(b.name, topic)])
            # A firm that makes the technology it sells is its likeliest seller.
            fit = [s for s in sellers if s.name != buyer.name
                   and trades.sells(s.name, topic)]  # fmt: skip
            seller = rng.choices(fit, weights=[s.weight * _boost(s) for s in fit])[0]
            broker = rng.choices([*agencies, None], weights=broker_weights)[0]
            weight = min(rng.lognormvariate(0, 1.1), 6) * TYPE_SCALE[kind]
            spread = 0.15 if kind in (_C.CONSULTING, _C.SERVICE) else 0.4
            pays = (rng.choices(range(4), weights=(25, 20, 25, 30))[0], rng.random(),
                    rng.random(), (rng.randint(20, 90), rng.randint(60, 200),
                                   rng.randint(90, 300)))  # fmt: skip
            days = (rng.randint(3, 25), rng.choice((6, 12, 12, 18, 24, 36)))
            if broker == seller.org_id:
                broker = None
            ratio = round((1 - rng.random() * spread) * 100)  # percent
            slots.append(Slot("", signed, kind, code, topic, buyer, seller, broker,
                              weight, ratio, pays, days))  # fmt: skip
        total_wan = TURNOVER_WAN.get(year) or TURNOVER_WAN[2026] * 1.09 ** (year - 2026)
        weights = sum(s.weight for s in slots)
        slots.sort(key=lambda s: s.signed_on)  # serials follow the signing order
        for serial, slot in enumerate(slots, start=1):
            slot.number = f"{year}{OFFICE}{serial:06d}"
            tenths = max(20, round(total_wan * 10 * slot.weight / weights))
            slot.amount_fen = tenths * 100_000  # multiples of 0.1 万元
        # Contracts of this year not signed yet are left out (never an empty year).
        by_year[year] = [s for s in slots if s.signed_on <= today] or [slots[0]]
        by_year[year][0].signed_on = min(by_year[year][0].signed_on, today)
        for slot in by_year[year]:
            slot.payments = _payments(slot, today)
    return by_year


def _data(slot: Slot, fields: dict[str, int], deal: Deal | None) -> dict:
    """The contract form's values for a planned contract."""

    def party(side: Side) -> Party:
        return Party(side.org_id, side.name, side.region)

    return {"title": f"{slot.topic}{slot.kind.label}合同", "contract_type": slot.kind,
            "buyer": party(slot.buyer), "seller": party(slot.seller),
            "broker_org_id": deal.broker_org_id if deal else slot.broker,
            "deal_id": deal.id if deal else None, "field_id": fields.get(slot.field),
            "signed_on": slot.signed_on, "term_start": slot.signed_on,
            "term_end": slot.signed_on + timedelta(days=30 * slot.days[1]),
            "amount_fen": slot.amount_fen,
            "tech_amount_fen": slot.tech_fen}  # fmt: skip


def _stamp(contract: Contract, slot: Slot) -> None:
    # Submitted the day after signing and registered days later, often years ago:
    # the record carries those dates rather than the moment the demo was loaded.
    now = utcnow()
    contract.created_at = min(
        local_moment(slot.signed_on + timedelta(days=1), 1.5), now
    )
    contract.registered_at = contract.updated_at = min(
        contract.created_at + timedelta(days=slot.days[0], hours=2), now
    )


def _record(slot: Slot, bureau: User, fields: dict, deal: Deal) -> Contract:
    """A deal's contract through the verbs: registering it signs the deal."""
    contract = contracts.record_contract(bureau, _data(slot, fields, deal))
    contract = contracts.register_contract(contract, bureau, slot.number)
    _stamp(contract, slot)
    for k, (day, amount) in enumerate(slot.payments):
        contracts.record_payment(contract, bureau, day, amount, PAYMENT_NOTES[k])
    return contract


def _record_many(slots: list[Slot], bureau: User, fields: dict) -> int:
    """The other contracts, checked by build_contract and registered in one go.

    record_contract, register_contract and record_payment cost a savepoint, a row
    lock and notifications each: some 2.5 s for 200 contracts. The rows are set
    as those verbs set them, with the same audit events, and the paid_fen CHECK
    still holds the payments to the contract amount.
    """
    made = []
    with db.session.no_autoflush:
        for slot in slots:
            contract = contracts.build_contract(_data(slot, fields, None))
            contract.registration_no, contract.status = slot.number, _REGISTERED
            contract.recorded_by_id = contract.registered_by_id = bureau.id
            _stamp(contract, slot)
            contract.paid_fen = sum(amount for _, amount in slot.payments)
            contract.payments = [
                Payment(received_on=day, amount_fen=amount, note=PAYMENT_NOTES[k],
                        recorded_by_id=bureau.id, created_at=local_moment(day, 2))
                for k, (day, amount) in enumerate(slot.payments)
            ]  # fmt: skip
            db.session.add(contract)
            made.append(contract)
    db.session.flush()
    for c in made:
        audit.record("contract_recorded", obj=c, user=bureau, to_state=_SUBMITTED)
        audit.record("contract_registered", obj=c, user=bureau, note=c.registration_no,
                     from_state=_SUBMITTED, to_state=_REGISTERED)  # fmt: skip
        for paid in c.payments:
            audit.record(
                "payment_recorded", obj=c, user=bureau, note=str(paid.amount_fen)
            )
    return len(made)
