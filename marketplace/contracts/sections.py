"""What a contract's page decides from its state and the viewer's rights."""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.contracts import corrections
from marketplace.models import Contract, ContractStatus

# A contract sent back or cancelled takes no payments.
NO_PAYMENTS = frozenset({ContractStatus.REJECTED, ContractStatus.CANCELLED})


def state_flags(user: Any, contract: Contract) -> dict[str, bool]:
    """The contract's state and this viewer's buttons, as booleans for the page."""
    status = contract.status
    registered = status == ContractStatus.REGISTERED
    return {
        "registered": registered,
        "rejected": status == ContractStatus.REJECTED,
        "cancelled": status == ContractStatus.CANCELLED,
        "awaiting_registration": status == ContractStatus.SUBMITTED,
        "shows_certificate": registered
        and permissions.can_view_certificate(user, contract),
        "may_record_payment": status not in NO_PAYMENTS
        and permissions.can_record_payment(user, contract),
        "may_resubmit": status == ContractStatus.REJECTED
        and permissions.can_resubmit_contract(user, contract),
    }


def reversible_payments(user: Any, contract: Contract) -> set[int]:
    """The ledger entries this viewer may reverse or correct on the page."""
    return {
        p.id
        for p in contract.payments
        if p.reverses_id is None
        and p.reversal is None
        and permissions.can_reverse_payment(user, p)
        # A milestone's release is undone on the project, not the contract.
        and corrections.milestone_of(p) is None
    }
