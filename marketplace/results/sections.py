"""What a result's page decides from states, as booleans its template reads."""

from __future__ import annotations

from marketplace.listings.states import RESULT_TRANSITIONS
from marketplace.models import Proposal, ProposalStatus, Result, ResultStatus

RENEWABLE = frozenset({ResultStatus.PUBLISHED, ResultStatus.EXPIRED})


def state_flags(
    result: Result, own_application: Proposal | None, applications: list[Proposal]
) -> dict:
    """The result's and its applications' states as the page's yes/no questions."""
    status = result.status
    return {
        "published": status == ResultStatus.PUBLISHED,
        "rejected": status == ResultStatus.REJECTED,
        "pending_review": status == ResultStatus.PENDING_REVIEW,
        "expired": status == ResultStatus.EXPIRED,
        "renewable": status in RENEWABLE,
        "withdrawable": ResultStatus.WITHDRAWN in RESULT_TRANSITIONS[status],
        # Only an application nobody has answered yet can be withdrawn or decided.
        "own_undecided": own_application is not None
        and own_application.status == ProposalStatus.SUBMITTED,
        "undecided": {
            a.id for a in applications if a.status == ProposalStatus.SUBMITTED
        },
    }
