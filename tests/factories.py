"""Factories that create committed rows and hand them back detached."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from marketplace.auth.services import create_organisation, create_user
from marketplace.clock import local_today, utcnow
from marketplace.creditcode import make_credit_code
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    ContractStatus,
    Deal,
    DealStage,
    Organisation,
    OrgKind,
    Project,
    Proposal,
    ProposalKind,
    ProposalStatus,
    UserRole,
)

_serial = itertools.count(1)


class Factory:
    """Create organisations and users through the real service verbs."""

    def __init__(self, app, password: str):
        self.app = app
        self.password = password

    @staticmethod
    def _release_outer_session():
        # The factory commits in a context of its own; the test's open read
        # transaction would keep an older snapshot, so end it first, as the test
        # client does, and the test reads the new rows.
        from flask import has_app_context

        if has_app_context():
            db.session.rollback()

    def _detach(self, obj):
        db.session.refresh(obj)
        db.session.expunge(obj)
        return obj

    def org(
        self,
        kind: OrgKind | str = OrgKind.ENTERPRISE,
        verified: bool = True,
        region_code: str = "411702",
        name: str | None = None,
    ):
        """An organisation of the given kind."""
        number = next(_serial)
        self._release_outer_session()
        with self.app.app_context():
            org = create_organisation(
                name=name or f"测试{OrgKind(kind).label}{number}",
                kind=kind,
                region_code=region_code,
                credit_code=make_credit_code(region_code, number),
                verified=verified,
            )
            db.session.commit()
            return self._detach(org)

    def user(
        self,
        org,
        role: UserRole | str = UserRole.MEMBER,
        is_sysadmin: bool = False,
        email: str | None = None,
        password: str | None = None,
    ):
        """A user of the organisation, with the shared test password by default."""
        self._release_outer_session()
        with self.app.app_context():
            org = db.session.merge(org, load=True)
            user = create_user(
                org=org,
                email=email or f"user{next(_serial)}@example.cn",
                password=password or self.password,
                name="测试用户",
                role=role,
                is_sysadmin=is_sysadmin,
            )
            db.session.commit()
            return self._detach(user)


def make_challenge(org_id: int, **fields):
    """An open challenge (by default) with sensible content; needs an app context."""
    from datetime import timedelta

    from sqlalchemy import select

    from marketplace.clock import local_today, utcnow
    from marketplace.models import Challenge, ChallengeStatus, TechField

    values = {
        "title": "食品加工废水高效处理技术",
        "description": "现有废水处理工艺能耗高，需要低能耗的生物处理方案。",
        "public_summary": "寻求低能耗废水处理方案。",
        "confidential_detail": "现有工艺参数：COD 3000mg/L，日处理量 500 吨。",
        "technical_targets": "COD 去除率 ≥ 95%",
        "keywords": ["废水处理", "生物处理"],
        "field_id": db.session.scalar(
            select(TechField.id).where(TechField.code == "environment")
        ),
        "region_code": "411702",
        "bounty_fen": 50_000_000,
        "deadline": local_today() + timedelta(days=30),
        "allowed_bidder_kinds": ["university", "institute", "enterprise", "agency"],
        "consortium_allowed": True,
        "status": ChallengeStatus.OPEN,
        "published_at": utcnow(),
    }
    values.update(fields)
    challenge = Challenge(org_id=org_id, **values)
    db.session.add(challenge)
    db.session.commit()
    return challenge


def make_result(org_id: int, **fields):
    """A published result (by default) with sensible content; needs an app context."""
    from datetime import timedelta

    from sqlalchemy import select

    from marketplace.clock import local_today, utcnow
    from marketplace.models import Result, ResultStatus, TechField

    values = {
        "title": "高效低耗生物膜废水处理工艺",
        "abstract": "一种适用于食品加工废水的生物膜处理工艺，COD 去除率达 96%。",
        "keywords": ["生物膜", "废水处理"],
        "field_id": db.session.scalar(
            select(TechField.id).where(TechField.code == "environment")
        ),
        "discipline": "环境科学与工程",
        "trl": 6,
        "ip_type": "发明专利",
        "transfer_modes": ["转让", "许可"],
        "price_fen": 30_000_000,
        "valid_until": local_today() + timedelta(days=365),
        "status": ResultStatus.PUBLISHED,
        "published_at": utcnow(),
    }
    values.update(fields)
    result = Result(org_id=org_id, **values)
    db.session.add(result)
    db.session.commit()
    return result


def make_expert(user, **fields):
    """An active expert profile for a user, at the user's organisation by default."""
    from marketplace.models import ExpertProfile

    values = {
        "org_id": user.org_id,
        "title": "研究员",
        "field_codes": ["environment"],
        "specialities": "废水处理、生物膜工艺",
    }
    values.update(fields)
    expert = ExpertProfile(user_id=user.id, **values)
    db.session.add(expert)
    db.session.commit()
    return expert


def make_completed_panel(factory, challenge_id: int, experts: int = 3):
    """A completed proposals panel of outside experts who scored every live bid."""
    from datetime import timedelta

    from sqlalchemy import select

    from marketplace.clock import utcnow
    from marketplace.models import (
        Challenge,
        PanelMember,
        PanelPurpose,
        PanelScore,
        PanelStatus,
        Proposal,
        ProposalStatus,
        ReviewPanel,
    )

    people = []
    for _ in range(experts):
        org = factory.org(kind=OrgKind.UNIVERSITY)
        people.append(factory.user(org))
    profiles = [make_expert(user) for user in people]
    challenge = db.session.get(Challenge, challenge_id)
    bids = db.session.scalars(
        select(Proposal)
        .where(
            Proposal.challenge_id == challenge_id,
            Proposal.status != ProposalStatus.WITHDRAWN,
        )
        .order_by(Proposal.id)
    ).all()
    done = utcnow()
    panel = ReviewPanel(
        purpose=PanelPurpose.PROPOSALS,
        challenge_id=challenge.id,
        status=PanelStatus.COMPLETED,
        completed_at=done,
    )
    for number, expert in enumerate(profiles):
        member = PanelMember(
            expert_id=expert.id,
            comment="方案总体可行。",
            submitted_at=done - timedelta(minutes=experts - number),
        )
        for place, bid in enumerate(bids):
            value = max(0, 90 - 10 * place - number)
            member.scores.append(
                PanelScore(
                    proposal_id=bid.id,
                    merit=value,
                    feasibility=value,
                    team=value,
                    price=value,
                )
            )
        panel.members.append(member)
    db.session.add(panel)
    db.session.commit()
    return panel


# --- award → contract → project -------------------------------------------------------


def make_bid(challenge_id: int, org_id: int, **fields) -> int:
    """A submitted bid (by default) on the challenge; its id. Needs an app context."""
    values = {
        "kind": ProposalKind.BID,
        "status": ProposalStatus.SUBMITTED,
        "solution": "生物膜工艺",
        "technical_route": "小试 → 中试",
        "price_fen": 45_000_000,
        "duration_months": 12,
        "team": "张教授团队",
    }
    values.update(fields)
    proposal = Proposal(challenge_id=challenge_id, org_id=org_id, **values)
    db.session.add(proposal)
    db.session.commit()
    return proposal.id


def awarded_challenge(
    owner_org_id: int, winner_org_id: int, bid: dict | None = None, **fields
) -> tuple[int, int]:
    """A challenge past its deadline, awarded to the winner's selected bid.

    Returns (challenge id, bid id); `fields` override the challenge's columns and
    `bid` the bid's. Needs an app context.
    """
    values = {
        "status": ChallengeStatus.AWARDED,
        "deadline": local_today() - timedelta(days=5),
        "awarded_at": utcnow(),
    }
    values.update(fields)
    challenge = make_challenge(owner_org_id, **values)
    bid_fields = {"status": ProposalStatus.SELECTED, **(bid or {})}
    bid_id = make_bid(challenge.id, winner_org_id, **bid_fields)
    return challenge.id, bid_id


def deal_for(challenge_id: int, proposal_id: int, **fields) -> int:
    """The deal of an awarded bid, between the owner and the bidder; its id."""
    challenge = db.session.get(Challenge, challenge_id)
    proposal = db.session.get(Proposal, proposal_id)
    values = {"title": challenge.title, "stage": DealStage.LEAD}
    values.update(fields)
    deal = Deal(
        demand_org_id=challenge.org_id,
        supply_org_id=proposal.org_id,
        challenge_id=challenge_id,
        proposal_id=proposal_id,
        **values,
    )
    db.session.add(deal)
    db.session.commit()
    return deal.id


def contract_between(
    buyer_org_id: int, seller_org_id: int, deal_id: int | None = None, **fields
) -> int:
    """A submitted 60 万元 development contract, the parties' names copied in."""
    buyer = db.session.get(Organisation, buyer_org_id)
    seller = db.session.get(Organisation, seller_org_id)
    values = {
        "title": "废水处理技术开发合同",
        "contract_type": "development",
        "buyer_name": buyer.name,
        "buyer_region_code": buyer.region_code,
        "seller_name": seller.name,
        "seller_region_code": seller.region_code,
        "signed_on": local_today() - timedelta(days=2),
        "amount_fen": 60_000_000,
        "tech_amount_fen": 60_000_000,
        "paid_fen": 0,
        "status": ContractStatus.SUBMITTED,
    }
    values.update(fields)
    contract = Contract(
        buyer_org_id=buyer_org_id,
        seller_org_id=seller_org_id,
        deal_id=deal_id,
        **values,
    )
    db.session.add(contract)
    db.session.commit()
    return contract.id


def project_for(
    challenge_id: int, contract_id: int, proposal_id: int | None = None, **fields
) -> int:
    """A project (planning by default) on the challenge's selected bid; its id.

    The budget defaults to the challenge's bounty; `fields` override any column.
    """
    challenge = db.session.get(Challenge, challenge_id)
    if proposal_id is None:
        proposal_id = db.session.scalar(
            select(Proposal.id).where(
                Proposal.challenge_id == challenge_id,
                Proposal.status == ProposalStatus.SELECTED,
            )
        )
    values = {
        "owner_org_id": challenge.org_id,
        "winner_org_id": db.session.get(Proposal, proposal_id).org_id,
        "budget_fen": challenge.bounty_fen,
        "released_fen": 0,
    }
    values.update(fields)
    project = Project(
        challenge_id=challenge_id,
        proposal_id=proposal_id,
        contract_id=contract_id,
        **values,
    )
    db.session.add(project)
    db.session.commit()
    return project.id
