"""Direct checks of rules once kept in views and services, denied cases included."""

from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from marketplace import permissions
from marketplace.clock import utcnow
from marketplace.extensions import db as _db
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Contract,
    ContractStatus,
    Exemption,
    ExemptionStatus,
    ExpertProfile,
    IntegrityRecord,
    NdaTemplate,
    OrgKind,
    PanelMember,
    PanelPurpose,
    PanelStatus,
    Project,
    ProjectStatus,
    Proposal,
    ReviewPanel,
    User,
)

ANONYMOUS = (None, AnonymousUserMixin())


@pytest.fixture
def people(app, factory):
    """Users by part played, loaded in an app context for the checks to read."""
    owner = factory.org(OrgKind.ENTERPRISE, name="发榜企业")
    pending = factory.org(OrgKind.ENTERPRISE, verified=False, name="待认证企业")
    winner = factory.org(OrgKind.UNIVERSITY, name="揭榜大学")
    other = factory.org(OrgKind.ENTERPRISE, name="其他企业")
    bureau = factory.org(OrgKind.BUREAU, name="科技局")
    made = {
        "owner": factory.user(owner),
        "pending": factory.user(pending),
        "winner": factory.user(winner),
        "other": factory.user(other),
        "bureau": factory.user(bureau),
        "expert": factory.user(factory.org(OrgKind.UNIVERSITY)),
    }
    with app.app_context():
        users = {part: _db.session.get(User, u.id) for part, u in made.items()}
        users["orgs"] = {"owner": owner.id, "pending": pending.id, "winner": winner.id}
        yield users


def _challenge(people, status=ChallengeStatus.OPEN, owner="owner") -> Challenge:
    return Challenge(org_id=people["orgs"][owner], status=status, title="榜单")


def _project(people, status=ProjectStatus.FAILED, exemption=None, relisted=None):
    project = Project(
        owner_org_id=people["orgs"]["owner"],
        winner_org_id=people["orgs"]["winner"],
        status=status,
        relisted_challenge_id=relisted,
    )
    project.exemption = None if exemption is None else Exemption(status=exemption)
    return project


def test_only_a_verified_owner_member_starts_the_project(people):
    challenge = _challenge(people, ChallengeStatus.AWARDED)
    assert permissions.can_start_project(people["owner"], challenge)
    for part in ("winner", "other", "bureau", "expert"):
        assert not permissions.can_start_project(people[part], challenge), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_start_project(anonymous, challenge)
    # A member of an owner still awaiting verification may not start it.
    unverified = _challenge(people, ChallengeStatus.AWARDED, owner="pending")
    assert not permissions.can_start_project(people["pending"], unverified)


def test_only_the_owner_relists_an_exempted_failure_once(people):
    granted = _project(people, exemption=ExemptionStatus.GRANTED)
    assert permissions.can_relist_project(people["owner"], granted)
    for part in ("winner", "other", "bureau", "expert"):
        assert not permissions.can_relist_project(people[part], granted), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_relist_project(anonymous, granted)
    owner = people["owner"]
    for project in (
        _project(people),  # no exemption applied for
        _project(people, exemption=ExemptionStatus.APPLIED),
        _project(people, exemption=ExemptionStatus.REFUSED),
        _project(people, exemption=ExemptionStatus.GRANTED, relisted=1),
        _project(people, ProjectStatus.RUNNING, exemption=ExemptionStatus.GRANTED),
        _project(people, ProjectStatus.COMPLETED, exemption=ExemptionStatus.GRANTED),
    ):
        assert not permissions.can_relist_project(owner, project)


def test_only_the_winner_applies_for_exemption_of_a_failure_once(people):
    failed = _project(people)
    assert permissions.can_apply_for_exemption(people["winner"], failed)
    for part in ("owner", "other", "bureau", "expert"):
        assert not permissions.can_apply_for_exemption(people[part], failed), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_apply_for_exemption(anonymous, failed)
    winner = people["winner"]
    assert not permissions.can_apply_for_exemption(
        winner, _project(people, exemption=ExemptionStatus.REFUSED)
    )
    for status in (ProjectStatus.PLANNING, ProjectStatus.RUNNING):
        assert not permissions.can_apply_for_exemption(winner, _project(people, status))


def test_who_forms_a_panel_depends_on_its_purpose(people):
    challenge = _challenge(people, ChallengeStatus.EVALUATING)
    bids = PanelPurpose.PROPOSALS
    assert permissions.can_form_panel(people["owner"], challenge, bids)
    assert permissions.can_form_panel(people["bureau"], challenge, bids.value)
    for purpose in (PanelPurpose.MIDTERM, PanelPurpose.FINAL, PanelPurpose.EXEMPTION):
        assert permissions.can_form_panel(people["bureau"], challenge, purpose)
        assert not permissions.can_form_panel(people["owner"], challenge, purpose)
    for part in ("winner", "other", "expert"):
        assert not permissions.can_form_panel(people[part], challenge, bids), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_form_panel(anonymous, challenge, bids)
        assert not permissions.can_form_panel(anonymous, challenge, "final")


def _panel(people, purpose=PanelPurpose.PROPOSALS, status=PanelStatus.COMPLETED):
    panel = ReviewPanel(purpose=purpose, status=status)
    panel.challenge = _challenge(people, ChallengeStatus.EVALUATING)
    seat = PanelMember(expert=ExpertProfile(user_id=people["expert"].id))
    panel.members = [seat]
    return panel


def test_panel_seat_and_who_sees_the_panel(people):
    panel = _panel(people, status=PanelStatus.SCORING)
    assert permissions.panel_seat(people["expert"], panel) is panel.members[0]
    for part in ("owner", "winner", "bureau"):
        assert permissions.panel_seat(people[part], panel) is None, part
    for part in ("owner", "bureau", "expert"):
        assert permissions.can_view_panel(people[part], panel), part
    # Bidders and strangers cannot tell a panel exists.
    for part in ("winner", "other"):
        assert not permissions.can_view_panel(people[part], panel), part
    for anonymous in ANONYMOUS:
        assert permissions.panel_seat(anonymous, panel) is None
        assert not permissions.can_view_panel(anonymous, panel)


def test_panel_results_only_once_complete_and_not_for_everyone(people):
    scoring = _panel(people, status=PanelStatus.SCORING)
    for part in ("owner", "bureau", "expert"):
        assert not permissions.sees_panel_results(people[part], scoring), part
    bids = _panel(people)
    for part in ("owner", "bureau", "expert"):
        assert permissions.sees_panel_results(people[part], bids), part
    for part in ("winner", "other"):
        assert not permissions.sees_panel_results(people[part], bids), part
    # Acceptance opinions advise the bureau: the owner does not see them.
    final = _panel(people, PanelPurpose.FINAL)
    for part in ("bureau", "expert"):
        assert permissions.sees_panel_results(people[part], final), part
    for part in ("owner", "winner", "other"):
        assert not permissions.sees_panel_results(people[part], final), part
    for anonymous in ANONYMOUS:
        assert not permissions.sees_panel_results(anonymous, bids)
        assert not permissions.sees_panel_results(anonymous, final)


@pytest.mark.parametrize(
    ("status", "withdrawable"),
    [
        (ChallengeStatus.DRAFT, True),
        (ChallengeStatus.PENDING_REVIEW, True),
        (ChallengeStatus.REJECTED, True),
        (ChallengeStatus.OPEN, True),
        (ChallengeStatus.EVALUATING, True),
        (ChallengeStatus.AWARDED, False),
        (ChallengeStatus.CONTRACTED, False),
        (ChallengeStatus.CLOSED, False),
        (ChallengeStatus.EXPIRED, False),
        (ChallengeStatus.WITHDRAWN, False),
    ],
)
def test_only_the_owner_withdraws_a_challenge_before_the_award(
    people, status, withdrawable
):
    challenge = _challenge(people, status)
    assert permissions.can_withdraw_challenge(people["owner"], challenge) is (
        withdrawable
    )
    for part in ("winner", "other", "bureau"):
        assert not permissions.can_withdraw_challenge(people[part], challenge), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_withdraw_challenge(anonymous, challenge)


def test_only_the_owner_closes_bidding_and_only_while_open(people):
    open_challenge = _challenge(people, ChallengeStatus.OPEN)
    assert permissions.can_close_bidding(people["owner"], open_challenge)
    for part in ("winner", "other", "bureau"):
        assert not permissions.can_close_bidding(people[part], open_challenge), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_close_bidding(anonymous, open_challenge)
    for status in ChallengeStatus:
        if status != ChallengeStatus.OPEN:
            challenge = _challenge(people, status)
            assert not permissions.can_close_bidding(people["owner"], challenge)


def test_only_the_bureau_registers_a_submitted_contract(people):
    submitted = Contract(
        buyer_org_id=people["orgs"]["owner"],
        seller_org_id=people["orgs"]["winner"],
        status=ContractStatus.SUBMITTED,
    )
    assert permissions.can_register_contract(people["bureau"], submitted)
    for part in ("owner", "winner", "other"):
        assert not permissions.can_register_contract(people[part], submitted), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_register_contract(anonymous, submitted)
    for status in ContractStatus:
        if status != ContractStatus.SUBMITTED:
            contract = Contract(status=status)
            assert not permissions.can_register_contract(people["bureau"], contract)


def test_who_sees_and_decides_bids_and_when(people):
    challenge = _challenge(people, ChallengeStatus.EVALUATING)
    for part in ("owner", "bureau"):
        assert permissions.sees_all_bids(people[part], challenge), part
    for part in ("winner", "other", "expert"):
        assert not permissions.sees_all_bids(people[part], challenge), part
    assert permissions.may_decide_bids(people["owner"], challenge)
    assert permissions.may_direct_award(people["bureau"], challenge)
    for part in ("bureau", "winner", "other"):
        assert not permissions.may_decide_bids(people[part], challenge), part
    for part in ("owner", "winner", "other"):
        assert not permissions.may_direct_award(people[part], challenge), part
    for anonymous in ANONYMOUS:
        assert not permissions.sees_all_bids(anonymous, challenge)
        assert not permissions.may_decide_bids(anonymous, challenge)
        assert not permissions.may_direct_award(anonymous, challenge)
    for status in ChallengeStatus:
        late = _challenge(people, status)
        deciding = status in (ChallengeStatus.OPEN, ChallengeStatus.EVALUATING)
        assert permissions.may_decide_bids(people["owner"], late) is deciding
        assert permissions.may_direct_award(people["bureau"], late) is deciding


def test_only_the_bureau_revokes_a_record_and_only_once(people):
    record = IntegrityRecord(org_id=people["orgs"]["winner"])
    assert permissions.can_revoke_integrity_record(people["bureau"], record)
    for part in ("owner", "winner", "other"):
        assert not permissions.can_revoke_integrity_record(people[part], record)
    for anonymous in ANONYMOUS:
        assert not permissions.can_revoke_integrity_record(anonymous, record)
    revoked = IntegrityRecord(org_id=people["orgs"]["winner"], revoked_at=utcnow())
    assert not permissions.can_revoke_integrity_record(people["bureau"], revoked)


def test_only_the_bureau_edits_the_shared_nda_templates(people):
    shared = NdaTemplate(name="通用模板")
    own = NdaTemplate(name="自有文本", owner_org_id=people["orgs"]["owner"])
    assert permissions.can_edit_shared_template(people["bureau"], shared)
    assert not permissions.can_edit_shared_template(people["bureau"], own)
    for part in ("owner", "other"):
        assert not permissions.can_edit_shared_template(people[part], shared), part
        assert not permissions.can_edit_shared_template(people[part], own), part
    for anonymous in ANONYMOUS:
        assert not permissions.can_edit_shared_template(anonymous, shared)


def test_insiders_are_the_organisation_and_the_bureau(people):
    owner_id = people["orgs"]["owner"]
    for part in ("owner", "bureau"):
        assert permissions.is_insider(people[part], owner_id), part
    for part in ("winner", "other", "pending"):
        assert not permissions.is_insider(people[part], owner_id), part
    for anonymous in ANONYMOUS:
        assert not permissions.is_insider(anonymous, owner_id)


def test_only_the_bidding_organisation_is_the_bidder(people):
    bid = Proposal(org_id=people["orgs"]["winner"])
    assert permissions.is_bidder(people["winner"], bid)
    for part in ("owner", "other", "bureau", "expert"):
        assert not permissions.is_bidder(people[part], bid), part
    for anonymous in ANONYMOUS:
        assert not permissions.is_bidder(anonymous, bid)
