"""Who may do what: routes by role, object checks and the visible-query builders."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from marketplace import permissions
from marketplace.extensions import db as _db
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    Contract,
    ContractType,
    Deal,
    Notification,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalMember,
    Result,
    ResultStatus,
    User,
    UserRole,
)

ROLES = [
    "anonymous",
    "member",
    "org_admin",
    "other_org_admin",
    "unverified_admin",
    "bureau",
    "sysadmin",
]


@pytest.fixture
def world(app, factory, login):
    """Two enterprises (A verified, B pending), bureau staff and clients per role."""
    org_a = factory.org(OrgKind.ENTERPRISE, name="甲企业")
    org_b = factory.org(OrgKind.ENTERPRISE, verified=False, name="乙企业")
    org_c = factory.org(OrgKind.UNIVERSITY, name="丙大学")
    bureau = factory.org(OrgKind.BUREAU, name="科技局")
    users = {
        "member": factory.user(org_a),
        "org_admin": factory.user(org_a, role=UserRole.ORG_ADMIN),
        "other_org_admin": factory.user(org_c, role=UserRole.ORG_ADMIN),
        "unverified_admin": factory.user(org_b, role=UserRole.ORG_ADMIN),
        "bureau": factory.user(bureau),
        "sysadmin": factory.user(bureau, is_sysadmin=True),
    }
    clients = {role: login(user) for role, user in users.items()}
    clients["anonymous"] = app.test_client()
    return {"a": org_a, "b": org_b, "c": org_c, "users": users, "clients": clients}


# Expected status per role for each page; 302 means "sent to the login page".
PAGE_MATRIX = {
    "/bureau/verifications": [302, 403, 403, 403, 403, 200, 200],
    "/orgs/{a}/members": [302, 403, 200, 403, 403, 403, 200],
    "/orgs/{a}/edit": [302, 403, 200, 403, 403, 403, 200],
    "/orgs/{b}": [404, 404, 404, 404, 200, 200, 200],
    "/orgs/{a}": [200, 200, 200, 200, 200, 200, 200],
    "/bureau/orgs/{a}/certifications": [302, 403, 403, 403, 403, 200, 200],
    "/auth/password": [302, 200, 200, 200, 200, 200, 200],
}


@pytest.mark.parametrize("path", sorted(PAGE_MATRIX))
def test_page_access_matrix(world, path, db):
    url = path.format(a=world["a"].id, b=world["b"].id)
    for role, expected in zip(ROLES, PAGE_MATRIX[path], strict=True):
        response = world["clients"][role].get(url)
        assert response.status_code == expected, (role, url, response.status_code)
        if expected == 302:
            assert response.headers["Location"].startswith("/auth/login")


POST_MATRIX = {
    # path: roles allowed to act (others: 403, or login redirect when anonymous)
    "/bureau/verifications/{b}/verify": {"bureau", "sysadmin"},
    "/orgs/{a}/members": {"org_admin", "sysadmin"},
}


@pytest.mark.parametrize("path", sorted(POST_MATRIX))
def test_post_denials_change_nothing(world, path, db):
    url = path.format(a=world["a"].id, b=world["b"].id)
    data = {
        "email": "new@example.cn",
        "name": "新人",
        "role": "member",
        "password": "Secret123-perm",
    }
    for role in ROLES:
        if role in POST_MATRIX[path]:
            continue
        response = world["clients"][role].post(url, data=data)
        expected = 302 if role == "anonymous" else 403
        assert response.status_code == expected, (role, url)
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "new@example.cn")) is None
    assert not db.session.get(type(world["b"]), world["b"].id).verified


def test_member_cannot_manage_another_orgs_member(world, db):
    target = world["users"]["other_org_admin"]
    client = world["clients"]["org_admin"]
    url = f"/orgs/{world['c'].id}/members/{target.id}/active"
    assert client.post(url, data={"active": "0"}).status_code == 403
    # Naming another org's user under one's own org is refused too.
    own = f"/orgs/{world['a'].id}/members/{target.id}/active"
    client.post(own, data={"active": "0"})
    db.session.expire_all()
    assert db.session.get(User, target.id).active


def make_listing_world(app, factory):
    """Listings, a proposal, a deal and a contract between known organisations."""
    owner = factory.org(OrgKind.ENTERPRISE, name="发榜企业")
    bidder = factory.org(OrgKind.INSTITUTE, name="揭榜院所")
    partner = factory.org(OrgKind.UNIVERSITY, name="联合体高校")
    broker = factory.org(OrgKind.AGENCY, name="撮合机构")
    outsider = factory.org(OrgKind.ENTERPRISE, name="无关企业")
    with app.app_context():
        draft = Challenge(
            org_id=owner.id, title="草稿需求", status=ChallengeStatus.DRAFT
        )
        public = Challenge(
            org_id=owner.id, title="公开需求", status=ChallengeStatus.OPEN
        )
        result_draft = Result(org_id=bidder.id, title="草稿成果")
        result_pub = Result(
            org_id=bidder.id, title="公开成果", status=ResultStatus.PUBLISHED
        )
        _db.session.add_all([draft, public, result_draft, result_pub])
        _db.session.flush()
        proposal = Proposal(
            kind=ProposalKind.BID, challenge_id=public.id, org_id=bidder.id
        )
        proposal.members.append(ProposalMember(org_id=partner.id))
        deal = Deal(
            demand_org_id=owner.id, supply_org_id=bidder.id, broker_org_id=broker.id
        )
        contract = Contract(
            contract_type=ContractType.DEVELOPMENT,
            buyer_org_id=owner.id,
            buyer_name="发榜企业",
            buyer_region_code="411702",
            seller_org_id=bidder.id,
            seller_name="揭榜院所",
            seller_region_code="411702",
            broker_org_id=broker.id,
            signed_on=date(2026, 1, 5),
            amount_fen=100,
            tech_amount_fen=50,
        )
        _db.session.add_all([proposal, deal, contract])
        _db.session.commit()
        ids = {
            "draft": draft.id,
            "public": public.id,
            "result_draft": result_draft.id,
            "result_pub": result_pub.id,
            "proposal": proposal.id,
            "deal": deal.id,
            "contract": contract.id,
        }
    orgs = {
        "owner": owner,
        "bidder": bidder,
        "partner": partner,
        "broker": broker,
        "outsider": outsider,
    }
    return orgs, ids


VISIBILITY = {
    # viewer: (challenges, results, proposals, deals, contracts)
    "anonymous": ({"public"}, {"result_pub"}, set(), set(), set()),
    "owner": (
        {"draft", "public"},
        {"result_pub"},
        {"proposal"},
        {"deal"},
        {"contract"},
    ),
    "bidder": (
        {"public"},
        {"result_draft", "result_pub"},
        {"proposal"},
        {"deal"},
        {"contract"},
    ),
    "partner": ({"public"}, {"result_pub"}, {"proposal"}, set(), set()),
    "broker": ({"public"}, {"result_pub"}, set(), {"deal"}, {"contract"}),
    "outsider": ({"public"}, {"result_pub"}, set(), set(), set()),
    "bureau": (
        {"draft", "public"},
        {"result_draft", "result_pub"},
        {"proposal"},
        {"deal"},
        {"contract"},
    ),
}


@pytest.mark.parametrize("viewer", sorted(VISIBILITY))
def test_visible_queries_and_object_checks_agree(app, factory, viewer):
    orgs, ids = make_listing_world(app, factory)
    if viewer == "bureau":
        orgs["bureau"] = factory.org(OrgKind.BUREAU, name="科技局")
    user = None if viewer == "anonymous" else factory.user(orgs[viewer])
    names = {v: k for k, v in ids.items() if k in ("draft", "public")}
    builders = [
        (permissions.visible_challenges, Challenge, names),
        (
            permissions.visible_results,
            Result,
            {ids["result_draft"]: "result_draft", ids["result_pub"]: "result_pub"},
        ),
        (permissions.visible_proposals, Proposal, {ids["proposal"]: "proposal"}),
        (permissions.visible_deals, Deal, {ids["deal"]: "deal"}),
        (permissions.visible_contracts, Contract, {ids["contract"]: "contract"}),
    ]
    with app.app_context():
        viewer_obj = _db.session.get(User, user.id) if user else None
        for (builder, model, labels), expected in zip(
            builders, VISIBILITY[viewer], strict=True
        ):
            rows = _db.session.scalars(builder(viewer_obj)).all()
            seen = {labels[r.id] for r in rows if r.id in labels}
            assert seen == expected, (viewer, model.__name__)
            for row in _db.session.scalars(select(model)):
                if row.id in labels:
                    assert permissions.can_view(viewer_obj, row) == (
                        labels[row.id] in expected
                    ), (viewer, model.__name__, labels[row.id])


def test_only_owner_edits_drafts(app, factory):
    orgs, ids = make_listing_world(app, factory)
    owner = factory.user(orgs["owner"])
    outsider = factory.user(orgs["outsider"])
    with app.app_context():
        draft = _db.session.get(Challenge, ids["draft"])
        public = _db.session.get(Challenge, ids["public"])
        owner_obj = _db.session.get(User, owner.id)
        outsider_obj = _db.session.get(User, outsider.id)
        assert permissions.can_edit(owner_obj, draft)
        assert not permissions.can_edit(owner_obj, public)
        assert not permissions.can_edit(outsider_obj, draft)
        assert not permissions.can_edit(None, draft)


def test_notifications_and_audit_are_private(app, factory):
    org = factory.org()
    other = factory.org()
    admin = factory.user(org, role=UserRole.ORG_ADMIN)
    member = factory.user(org)
    stranger = factory.user(other, role=UserRole.ORG_ADMIN)
    with app.app_context():
        _db.session.add(Notification(user_id=member.id, message="给成员的通知"))
        _db.session.add(AuditEvent(action="test", org_id=org.id))
        _db.session.commit()
        get = _db.session.get
        assert (
            len(
                _db.session.scalars(
                    permissions.visible_notifications(get(User, member.id))
                ).all()
            )
            == 1
        )
        assert (
            _db.session.scalars(
                permissions.visible_notifications(get(User, admin.id))
            ).all()
            == []
        )
        own_events = _db.session.scalars(
            permissions.visible_audit_events(get(User, admin.id))
        ).all()
        assert {e.org_id for e in own_events} == {org.id}
        assert all(
            e.org_id == other.id
            for e in _db.session.scalars(
                permissions.visible_audit_events(get(User, stranger.id))
            )
        )
        assert (
            _db.session.scalars(
                permissions.visible_audit_events(get(User, member.id))
            ).all()
            == []
        )
