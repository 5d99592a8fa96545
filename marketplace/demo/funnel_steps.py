"""Acting out a planned challenge or adoption through the service verbs, backdated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select

from marketplace.challenges.services import close_bidding_early
from marketplace.clock import local_moment, local_today, utcnow
from marketplace.contracts import services as contracts
from marketplace.contracts.services import Party
from marketplace.deals import services as deals
from marketplace.demo.funnel_plan import (
    MODE_TYPES,
    SIGNING_DAYS,
    AdoptPlan,
    BidPlan,
)
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ContractType,
    Deal,
    DealEvent,
    DealStage,
    Organisation,
    Result,
    User,
    UserRole,
)
from marketplace.proposals import decisions
from marketplace.proposals import services as proposals
from marketplace.results import adoption

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


def _when(day: date, hours: float) -> datetime:
    """A moment on a day, at the latest now (today's office hours may be ahead)."""
    return min(local_moment(day, hours), utcnow())


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
    contract.created_at = min(local_moment(signed + timedelta(days=1), 1.5), reg)
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
    shift = published - local_moment(today - timedelta(days=plan.published_days))
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
    deal = decisions.select_winner(winner, owner, "other", "综合评分低于中选方案")
    moment = local_moment(awarded_on, 2)
    seeded.deals += 1
    moments = [moment]
    if plan.number is not None:
        supplier = ctx.actor(winner.org_id)
        reg_day = today - timedelta(days=plan.registered_days)
        signed = reg_day - timedelta(days=SIGNING_DAYS)
        steps = ((_T, CONTACT_NOTE, 30), (DealStage.NEGOTIATING, NEGOTIATE_NOTE, 15))
        for stage, note, back in steps:
            deals.move_stage(deal, supplier, stage, note)
            moments.append(local_moment(signed - timedelta(days=back), 3))
        amount = winner.price_fen
        registered = local_moment(reg_day, 1)
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
    decided = local_moment(day[1], 1.5)
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
        moments += [local_moment(day[2], 2.5), local_moment(day[3], 3.5)]
    elif plan.outcome == "accepted" and plan.texts[1] % 2:
        deals.move_stage(deal, owner, DealStage.CONTACTED, CONTACT_NOTE)
        moments.append(local_moment(day[2], 2.5))
    elif plan.outcome == "transferred":
        deals.move_stage(deal, owner, DealStage.CONTACTED, CONTACT_NOTE)
        deals.move_stage(deal, owner, DealStage.NEGOTIATING, NEGOTIATE_NOTE)
        moments += [local_moment(day[2], 2.5), local_moment(day[3], 3.5)]
        kind = MODE_TYPES[plan.mode]
        asked = result.price_fen or 30 * 1_000_000
        amount = max(100_000, round(asked * plan.ratio / 100_000) * 100_000)
        registered = local_moment(day[5], 4.5)
        data = _contract_data(result.title, kind, deal, amount, 100, day[4])
        data["field_id"] = result.field_id
        _, paid = _register(ctx.bureau, data, plan.number, day[4], registered)
        result.transferred_at = result.updated_at = registered
        moments.append(registered)
        seeded.contracts += 1
        seeded.payments += paid
    _backdate_deal(deal, moments)
