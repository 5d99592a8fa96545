"""Adoption applications (揭榜转化): apply, withdraw, accept into a deal, decline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import audit, permissions
from marketplace.clock import local_today, utcnow
from marketplace.deals import services as deals
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Deal,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Result,
    ResultStatus,
)
from marketplace.workflow import move

P = ProposalStatus
# Adoption applications know no shortlist: the owner accepts or declines.
ADOPTION_TRANSITIONS = {
    P.SUBMITTED: frozenset({P.SELECTED, P.DECLINED, P.WITHDRAWN}),
    P.SHORTLISTED: frozenset(),
    P.SELECTED: frozenset(),
    P.DECLINED: frozenset(),
    P.WITHDRAWN: frozenset(),
}


def accepts_applications(result: Result) -> bool:
    """Published and still within its valid-until date."""
    return result.status == ResultStatus.PUBLISHED and (
        result.valid_until is None or result.valid_until >= local_today()
    )


def _link(result: Result) -> str:
    return f"/results/{result.id}"


def _text(value: str, name: str, label: str, limit: int = 5000) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(f"请填写{label}。", name)
    if len(value) > limit:
        raise ServiceError(f"{label}不能超过 {limit} 字。", name)
    return value


def apply_to_adopt(
    result: Result, user: Any, use_scenario: str, offered_terms: str
) -> Proposal:
    """A verified enterprise applies to adopt a published result."""
    # Before the generic refusal, so a restricted party learns the real reason.
    notice = permissions.restriction_notice(user)
    if notice:
        raise StateError(notice)
    if not permissions.can_adopt(user, result):
        raise StateError("只有已认证的企业可以申请转化其他机构的成果。")
    if not accepts_applications(result):
        raise StateError("该成果当前不接受转化申请。")
    proposal = Proposal(
        kind=ProposalKind.ADOPTION,
        result_id=result.id,
        org_id=user.org_id,
        submitted_by_id=user.id,
        status=ProposalStatus.SUBMITTED,
        use_scenario=_text(use_scenario, "use_scenario", "应用场景"),
        offered_terms=_text(offered_terms, "offered_terms", "合作条件"),
    )
    # The partial unique index decides, also when two requests race.
    savepoint = db.session.begin_nested()
    try:
        db.session.add(proposal)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise ServiceError("贵机构已提交过申请。") from None
    savepoint.commit()
    audit.record(
        "adoption_submitted", obj=proposal, user=user, to_state=proposal.status
    )
    audit.notify_org(
        result.org_id, f"收到成果转化申请：{result.title[:80]}", _link(result)
    )
    return proposal


def withdraw_application(proposal: Proposal, user: Any) -> None:
    """The applicant withdraws while the owner has not decided."""
    if not permissions.is_member_of(user, proposal.org_id):
        raise StateError("只有申请机构的成员可以撤回申请。")
    move(
        proposal,
        ProposalStatus.WITHDRAWN,
        ADOPTION_TRANSITIONS,
        action="adoption_withdrawn",
        user=user,
        refusal="申请已处理，不能撤回。",
    )
    result = proposal.result
    audit.notify_org(
        result.org_id, f"转化申请已撤回：{result.title[:80]}", _link(result)
    )


def _decide(proposal: Proposal, user: Any) -> Result:
    result = proposal.result
    if proposal.kind != ProposalKind.ADOPTION or result is None:
        raise StateError("这不是成果转化申请。")
    if not permissions.can_decide_proposals(user, result):
        raise StateError("只有成果所属机构的成员可以处理转化申请。")
    if result.status == ResultStatus.WITHDRAWN:
        raise StateError("成果已撤回，不能再处理申请。")
    return result


def accept_application(proposal: Proposal, user: Any) -> Deal:
    """The owner accepts an application, which opens a deal with the applicant."""
    result = _decide(proposal, user)
    # An application filed before a restriction was recorded is not a way round it.
    permissions.refuse_restricted_org(proposal.org, "其转化申请不能获准")
    move(
        proposal,
        ProposalStatus.SELECTED,
        ADOPTION_TRANSITIONS,
        action="adoption_accepted",
        user=user,
        refusal="该申请已处理。",
    )
    proposal.decided_at = utcnow()
    deal = deals.open_from_proposal(
        proposal, user, "由成果转化申请创建", "该申请已处理。"
    )
    audit.notify_org(
        proposal.org_id,
        f"您的成果转化申请已被接受：{result.title[:80]}",
        f"/deals/{deal.id}",
    )
    return deal


def decline_application(proposal: Proposal, user: Any, reason: str) -> None:
    """The owner declines an application with a reason the applicant sees."""
    result = _decide(proposal, user)
    reason = _text(reason, "reason", "婉拒理由", limit=500)
    move(
        proposal,
        ProposalStatus.DECLINED,
        ADOPTION_TRANSITIONS,
        action="adoption_declined",
        user=user,
        note=reason,
        refusal="该申请已处理。",
    )
    proposal.decline_reason = reason
    proposal.decided_at = utcnow()
    audit.notify_org(
        proposal.org_id,
        f"您的成果转化申请未被接受：{result.title[:80]}",
        f"/results/{result.id}#adopt",
    )


# --- reading -------------------------------------------------------------------


def live_application(result: Result, org_id: int) -> Proposal | None:
    """The organisation's application that is not withdrawn, if any."""
    return db.session.scalar(
        select(Proposal).where(
            Proposal.result_id == result.id,
            Proposal.org_id == org_id,
            Proposal.status != ProposalStatus.WITHDRAWN,
        )
    )


def applications(result: Result) -> list[Proposal]:
    """Every application on a result, oldest first (for its owner and the bureau)."""
    return list(
        db.session.scalars(
            select(Proposal)
            .where(
                Proposal.kind == ProposalKind.ADOPTION,
                Proposal.result_id == result.id,
            )
            .order_by(Proposal.created_at, Proposal.id)
        )
    )


def deals_by_proposal(proposals: list[Proposal]) -> dict[int, Deal]:
    """The deal each accepted application opened."""
    ids = [p.id for p in proposals]
    if not ids:
        return {}
    deals = db.session.scalars(select(Deal).where(Deal.proposal_id.in_(ids)))
    return {d.proposal_id: d for d in deals}
