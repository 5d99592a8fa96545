"""Checks for expert panels, projects, integrity records and unmet-demand leads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ExemptionStatus,
    ExpertProfile,
    IntegrityRecord,
    Project,
    ProjectStatus,
)
from marketplace.permissions.consortium import is_consortium_member
from marketplace.permissions.restrictions import active_restrictions
from marketplace.permissions.roles import (
    BROKER_KINDS,
    can_post_challenge,
    is_bureau,
    is_logged_in,
    is_member_of,
    org_is_verified,
)

# --- expert panels, projects and integrity records (揭榜挂帅 delivery) ---------


def can_manage_experts(user: Any) -> bool:
    """The bureau adds, edits, retires and imports experts."""
    return is_bureau(user)


def active_expert_profile(user_id: int) -> Select:
    """The query of a user's active expert profile (at most one row)."""
    return select(ExpertProfile).where(
        ExpertProfile.user_id == user_id, ExpertProfile.active.is_(True)
    )


def expert_profile(user: Any) -> ExpertProfile | None:
    """The user's active expert profile, if they are in the pool."""
    if not is_logged_in(user):
        return None
    return db.session.scalar(active_expert_profile(user.id))


def can_form_proposal_panel(user: Any, challenge: Challenge) -> bool:
    """The challenge owner or the bureau forms the panel that scores its bids."""
    return is_member_of(user, challenge.org_id) or is_bureau(user)


def can_view_panel_results(user: Any, challenge: Challenge) -> bool:
    """The owner and the bureau see a completed panel's ranking and comments."""
    return is_member_of(user, challenge.org_id) or is_bureau(user)


def can_manage_acceptance(user: Any) -> bool:
    """The bureau schedules checks, forms their panels and records conclusions."""
    return is_bureau(user)


def can_view_project(user: Any, project: Project) -> bool:
    """The owner, the winner, the winner's consortium and the bureau."""
    if not is_logged_in(user):
        return False
    return (
        is_bureau(user)
        or user.org_id in (project.owner_org_id, project.winner_org_id)
        or is_consortium_member(user, project.proposal_id)
    )


def can_plan_project(user: Any, project: Project) -> bool:
    """The owner starts the project and plans its milestones; the owner accepts."""
    return org_is_verified(user) and is_member_of(user, project.owner_org_id)


def can_deliver(user: Any, project: Project) -> bool:
    """The winner submits deliverables and applies for exemption."""
    return org_is_verified(user) and is_member_of(user, project.winner_org_id)


def can_start_project(user: Any, challenge: Challenge) -> bool:
    """A verified member of the challenge owner starts its project (立项)."""
    return org_is_verified(user) and is_member_of(user, challenge.org_id)


def can_apply_for_exemption(user: Any, project: Project) -> bool:
    """The winner of a failed project applies for exemption, once."""
    return (
        can_deliver(user, project)
        and project.status == ProjectStatus.FAILED
        and project.exemption is None
    )


def can_relist_project(user: Any, project: Project) -> bool:
    """The owner re-lists a failed, exempted project that was not re-listed yet."""
    return (
        can_plan_project(user, project)
        and can_post_challenge(user)
        and project.status == ProjectStatus.FAILED
        and project.exemption is not None
        and project.exemption.status == ExemptionStatus.GRANTED
        and project.relisted_challenge_id is None
    )


def can_record_integrity(user: Any) -> bool:
    """Only the bureau records research-integrity findings."""
    return is_bureau(user)


def can_revoke_integrity_record(user: Any, record: IntegrityRecord) -> bool:
    """The bureau revokes a record that was not revoked yet."""
    return can_record_integrity(user) and record.revoked_at is None


def can_view_integrity_record(user: Any, record: IntegrityRecord) -> bool:
    """The bureau, and the party itself (its organisation or the person)."""
    if not is_logged_in(user):
        return False
    if record.user_id is not None:  # a person's record is the person's business
        return is_bureau(user) or record.user_id == user.id
    return is_bureau(user) or is_member_of(user, record.org_id)


# --- unmet demands (free-text problems with no strong match) -------------------


def can_view_leads(user: Any) -> bool:
    """Verified transfer agencies and the bureau see unmet demands as leads."""
    return is_bureau(user) or (org_is_verified(user) and user.org.kind in BROKER_KINDS)


def can_take_leads(user: Any) -> bool:
    """Verified transfer agencies free of restrictions take (接手) leads."""
    return (
        org_is_verified(user)
        and user.org.kind in BROKER_KINDS
        and not active_restrictions(user)
    )
