"""Demo 揭榜挂帅 delivery for `flask seed-demo`: experts, panels, projects, integrity.

Built on what demo_funnel left: of the two contracted demo challenges, demo-c-01
gets a completed expert panel that scored its bids and becomes a running project
(first milestone accepted and paid under its contract, second pending, mid-term
check passed); demo-c-03 becomes a project that failed its final acceptance and
was granted exemption (容错免责). Eight experts of the demo universities and
institutes sit on the panels, never where their organisation owns, bids or
delivers. An integrity record restricts a demo agency that plays no other part.

The projects, their checks and panels go through the verbs, dated between the
contract's signing and today (the funnel signs them 8 to 17 days ago).
A piece already there (expert by e-mail, panel or project by challenge, record by
organisation and type) is skipped, so a second run adds nothing. The caller
commits. Texts and experts are in data/demo_delivery.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from marketplace.auth import services as accounts
from marketplace.clock import local_moment, local_today
from marketplace.demo.delivery_story import Story, completed_panel
from marketplace.experts import services as experts
from marketplace.extensions import db
from marketplace.integrity import services as integrity
from marketplace.models import (
    AcceptanceConclusion,
    AcceptanceKind,
    Challenge,
    Contract,
    ContractStatus,
    Deal,
    ExpertProfile,
    IntegrityRecord,
    Organisation,
    OrgKind,
    PanelPurpose,
    PanelScore,
    Proposal,
    ProposalStatus,
    ReviewPanel,
    User,
    UserRole,
)
from marketplace.panels.conflicts import (
    conflicted_org_ids,
    eligibility_problem,
    live_proposals,
    project_of,
)
from marketplace.reference import DATA_DIR

DATA = DATA_DIR / "demo_delivery.json"
RUNNING, FAILED = "demo-c-01", "demo-c-03"
MIN_SPAN_DAYS = 8  # the failed project's story needs a week after signing


@dataclass
class DeliverySeed:
    """What seed_delivery added."""

    experts: int = 0
    panels: int = 0
    projects: int = 0
    payments: int = 0
    records: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def added(self) -> int:
        """Rows of every kind added."""
        return self.experts + self.panels + self.projects + self.records


def texts() -> dict:
    """The demo's experts and texts (data/demo_delivery.json)."""
    return json.loads(DATA.read_text(encoding="utf-8"))


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _experts(text, orgs, password, domain, bureau, seeded) -> list[ExpertProfile]:
    profiles = []
    for spec in text["experts"]:
        email = f"{spec['login']}@{domain}"
        user = accounts.user_by_email(email)
        profile = experts.profile_of(user) if user is not None else None
        if profile is None:
            data = experts.ExpertData(
                title=spec["title"],
                field_codes=spec["fields"],
                specialities=spec["specialities"],
                contact_phone=spec["phone"],
                contact_email=email,
            )
            profile = experts.add_expert(
                bureau,
                email,
                data,
                name=spec["name"],
                org_text=orgs[spec["org"]].name,
                password=password,
            )
            seeded.experts += 1
        profiles.append(profile)
    first = text["experts"][0]
    seeded.logins.append(("评审专家", f"{first['login']}@{domain}", password))
    return profiles


class Pool:
    """The experts, and how many demo panels each already sits on."""

    def __init__(self, experts: list[ExpertProfile]):
        self.experts = experts
        self.busy: dict[int, int] = {}

    def pick(self, conflicts, code: str | None, n: int = 3, avoid=frozenset()) -> list:
        """The n least busy eligible experts: outside `avoid`, of the field first."""
        free = [
            e
            for e in self.experts
            if e.active and not eligibility_problem(e, conflicts)
        ]
        free.sort(
            key=lambda e: (
                e.org_id in avoid,
                code not in e.field_codes,
                self.busy.get(e.id, 0),
            )
        )
        chosen = free[:n]
        for expert in chosen:
            self.busy[expert.id] = self.busy.get(expert.id, 0) + 1
        return chosen if len(chosen) == n else []


def _bids(challenge: Challenge) -> list[Proposal]:
    """The live bids in the order they were made (ids: the demo backdates them)."""
    return sorted(live_proposals(challenge), key=lambda p: p.id)


def _proposal_panel(text, challenge, pool: Pool, bureau, seeded) -> None:
    """The completed panel that scored the bids before the award."""
    exists = select(ReviewPanel.id).where(
        ReviewPanel.challenge_id == challenge.id,
        ReviewPanel.purpose == PanelPurpose.PROPOSALS,
    )
    bids = _bids(challenge)
    if db.session.scalar(exists) or not bids or challenge.awarded_at is None:
        return
    code = challenge.field.code if challenge.field else None
    experts = pool.pick(conflicted_org_ids(challenge, PanelPurpose.PROPOSALS), code)
    if not experts:
        return
    awarded = _aware(challenge.awarded_at)
    last_bid = max(_aware(b.created_at) for b in bids)
    formed = max(last_bid + timedelta(hours=2), awarded - timedelta(days=3))
    done = formed + (awarded - formed) * 0.8
    panel = completed_panel(
        PanelPurpose.PROPOSALS, challenge, experts, formed, done, bureau
    )
    comments = text["score_comments"]
    for m, member in enumerate(panel.members):
        member.comment = text["panel_comment"]
        for b, bid in enumerate(bids):
            # The selected bid ranks first on every sheet, as the owner chose it.
            top = bid.status == ProposalStatus.SELECTED
            base = 88 - m if top else 78 - 3 * b
            member.scores.append(
                PanelScore(
                    proposal_id=bid.id,
                    merit=base,
                    feasibility=base - 2,
                    team=base + 1,
                    price=base - 4,
                    comment=comments[(m + b) % len(comments)],
                )
            )
    seeded.panels += 1


def _contract_of(challenge: Challenge, winner: Proposal) -> Contract | None:
    deals = select(Deal.id).where(Deal.proposal_id == winner.id)
    return db.session.scalar(
        select(Contract)
        .where(
            (Contract.challenge_id == challenge.id) | Contract.deal_id.in_(deals),
            Contract.buyer_org_id == challenge.org_id,
            Contract.seller_org_id == winner.org_id,
            Contract.status == ContractStatus.REGISTERED,
        )
        .order_by(Contract.id)
    )


@dataclass
class Cast:
    """Who acts: demo logins by organisation (none: no user row), and the bureau."""

    actors: dict[int, User]
    bureau: User
    pool: Pool


def _assess(story: Story, cast: Cast, purpose, when, verdicts, comment, **subject):
    """A panel of three experts free of conflict that completes; 1 (one formed)."""
    conflicts = story.conflicts(purpose)
    experts = cast.pool.pick(conflicts, story.field_code, avoid=story.bidders())
    story.assess(purpose, experts, when, verdicts, comment, **subject)
    return 1


def _run_running(text, story: Story, cast: Cast, seeded) -> None:
    """Milestone 1 accepted and paid, milestone 2 due in two months, mid-term passed."""
    t = text["running"]
    days_left = (local_today() - story.signed).days
    first, _ = story.plan(
        [(t["milestones"][0], 3, 40), (t["milestones"][1], days_left + 60, None)]
    )
    story.submit(first, 3, 1, t["submission"])
    check = story.schedule(AcceptanceKind.MIDTERM, 5)
    story.accept(first, 4)
    seeded.panels += _assess(
        story,
        cast,
        PanelPurpose.MIDTERM,
        (story.at(4, 2), story.at(5, 6)),
        ("passed", "passed", "rectify"),
        t["midterm_opinion"],
        acceptance=check,
    )
    story.conclude(check, 6, AcceptanceConclusion.PASSED, t["midterm_report"])


def _run_failed(text, story: Story, cast: Cast, seeded) -> None:
    """Milestone 1 accepted late, 2 returned; final failed; exemption granted."""
    t = text["failed"]
    first, second = story.plan(
        [(t["milestones"][0], 2, 30), (t["milestones"][1], 5, None)]
    )
    story.submit(first, 3, 1, t["submissions"][0])  # a day late
    story.accept(first, 4)
    check = story.schedule(AcceptanceKind.FINAL, 6)
    story.submit(second, 5, 0, t["submissions"][1])
    seeded.panels += _assess(
        story,
        cast,
        PanelPurpose.FINAL,
        (story.at(5, 2), story.at(6, 3)),
        ("failed", "failed", "rectify"),
        t["final_opinion"],
        acceptance=check,
    )
    story.give_back(second, 5, t["return_comment"])
    story.conclude(check, 6, AcceptanceConclusion.FAILED, t["final_report"])
    exemption = story.apply(t["diligence"], 7)
    seeded.panels += _assess(
        story,
        cast,
        PanelPurpose.EXEMPTION,
        (story.at(7, 1), story.at(7, 5)),
        ("grant",) * 3,
        t["exemption_opinion"],
        exemption=exemption,
    )
    story.decide(exemption, t["grant_reason"], 7)


def _integrity(text, orgs: dict[str, Organisation], bureau: User, seeded) -> None:
    spec = text["integrity"]
    org = orgs.get(spec["org"])
    if org is None:
        return
    exists = select(IntegrityRecord.id).where(
        IntegrityRecord.org_id == org.id,
        IntegrityRecord.misconduct_type == spec["type"],
    )
    if db.session.scalar(exists):
        return
    decided = local_today() - timedelta(days=spec["decided_days_ago"])
    data = integrity.RecordData(
        subject="org",
        org_text=org.name,
        email="",
        misconduct_type=spec["type"],
        facts=spec["facts"],
        decided_on=decided,
        restricted_until=decided + timedelta(days=365 * spec["years"]),
        source_document=spec["document"].format(year=decided.year),
    )
    integrity.record_misconduct(bureau, data, now=local_moment(decided, 2))
    seeded.records += 1


def seed_delivery(
    orgs: dict[str, Organisation], users: list[User], password: str, domain: str
) -> DeliverySeed:
    """Add the demo's experts, panels, projects and integrity record if missing."""
    text = texts()
    seeded = DeliverySeed()
    bureau = next(u for u in users if u.org.kind == OrgKind.BUREAU)
    actors: dict[int, User] = {}
    for user in sorted(users, key=lambda u: u.role != UserRole.ORG_ADMIN):
        actors.setdefault(user.org_id, user)
    pool = Pool(_experts(text, orgs, password, domain, bureau, seeded))
    cast = Cast(actors, bureau, pool)
    demo_orgs = [o.id for o in orgs.values()]
    challenges = {
        c.external_id: c
        for c in db.session.scalars(
            select(Challenge).where(
                Challenge.external_id.in_([RUNNING, FAILED]),
                Challenge.org_id.in_(demo_orgs),
            )
        )
    }
    if RUNNING in challenges:
        _proposal_panel(text, challenges[RUNNING], pool, bureau, seeded)
    for external_id, run in ((RUNNING, _run_running), (FAILED, _run_failed)):
        challenge = challenges.get(external_id)
        if challenge is None or project_of(challenge) is not None:
            continue
        winner = next(
            (b for b in _bids(challenge) if b.status == ProposalStatus.SELECTED), None
        )
        contract = _contract_of(challenge, winner) if winner else None
        if contract is None or contract.paid_fen >= contract.amount_fen:
            continue
        if (local_today() - contract.signed_on).days < MIN_SPAN_DAYS:
            continue
        story = Story(challenge, winner, contract, actors, bureau)
        run(text, story, cast, seeded)
        story.finish()
        seeded.projects += 1
        seeded.payments += story.payments
    _integrity(text, orgs, bureau, seeded)
    return seeded
