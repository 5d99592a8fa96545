"""A won bid and an accepted adoption open their deal through one verb."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.glossary import action_label
from marketplace.models import (
    AuditEvent,
    Deal,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalStatus,
    User,
)
from marketplace.proposals import decisions
from marketplace.results import adoption
from tests.factories import make_challenge, make_result


def _opening(db, deal: Deal) -> list[tuple[str, str | None, int | None]]:
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.to_state, AuditEvent.user_id).where(
            AuditEvent.object_type == "deals", AuditEvent.object_id == deal.id
        )
    )
    return [tuple(row) for row in rows]


def _shape(deal: Deal, proposal: Proposal, user: User) -> tuple:
    return (
        deal.stage,
        deal.proposal_id == proposal.id,
        deal.created_by_id == user.id,
        deal.broker_org_id,
        deal.broker_user_id,
        [(e.to_stage, e.user_id == user.id) for e in deal.events],
    )


def test_bid_and_adoption_open_the_same_kind_of_deal(db, factory):
    enterprise = factory.org(OrgKind.ENTERPRISE)
    institute = factory.org(OrgKind.INSTITUTE)
    firm_user = factory.user(enterprise)
    lab_user = factory.user(institute)

    # The bid path: the enterprise's challenge, won by the institute.
    challenge = make_challenge(
        enterprise.id, deadline=local_today() - timedelta(days=1)
    )
    bid = Proposal(
        kind=ProposalKind.BID,
        challenge_id=challenge.id,
        org_id=institute.id,
        submitted_by_id=lab_user.id,
        status=ProposalStatus.SHORTLISTED,
        solution="生物膜方案",
    )
    # The adoption path: the institute's result, adopted by the enterprise.
    result = make_result(institute.id)
    application = Proposal(
        kind=ProposalKind.ADOPTION,
        result_id=result.id,
        org_id=enterprise.id,
        submitted_by_id=firm_user.id,
        status=ProposalStatus.SUBMITTED,
        use_scenario="用于本厂废水站。",
        offered_terms="许可",
    )
    db.session.add_all([bid, application])
    db.session.commit()
    firm = db.session.get(User, firm_user.id)
    lab = db.session.get(User, lab_user.id)

    won = decisions.select_winner(bid, firm)
    db.session.commit()
    adopted = adoption.accept_application(application, lab)
    db.session.commit()

    assert (won.demand_org_id, won.supply_org_id) == (enterprise.id, institute.id)
    assert (won.challenge_id, won.result_id) == (challenge.id, None)
    assert won.title == challenge.title
    assert (adopted.demand_org_id, adopted.supply_org_id) == (
        enterprise.id,
        institute.id,
    )
    assert (adopted.challenge_id, adopted.result_id) == (None, result.id)
    assert adopted.title == result.title
    assert _shape(won, bid, firm) == _shape(adopted, application, lab)
    assert _opening(db, won) == [("deal_opened", "lead", firm.id)]
    assert _opening(db, adopted) == [("deal_opened", "lead", lab.id)]


def test_the_former_adoption_action_still_reads_in_words():
    assert action_label("deal_opened") == "开启撮合项目"
    assert action_label("deal_created") == "创建撮合项目"
