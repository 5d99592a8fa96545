"""The bureau's verification queue and certifications."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.models import (
    AuditEvent,
    Notification,
    Organisation,
    OrgCertification,
    OrgKind,
    UserRole,
)


def pending_org(factory):
    org = factory.org(OrgKind.ENTERPRISE, verified=False, name="待审企业")
    admin = factory.user(org, role=UserRole.ORG_ADMIN)
    return org, admin


def test_queue_lists_pending_orgs(bureau_client, factory):
    pending_org(factory)
    factory.org(name="已认证企业")
    page = bureau_client.get("/bureau/verifications").get_data(as_text=True)
    assert "待审企业" in page
    assert "已认证企业" not in page


def test_verify_publishes_rights_and_notifies(bureau_client, factory, db):
    org, admin = pending_org(factory)
    response = bureau_client.post(
        f"/bureau/verifications/{org.id}/verify", data={"note": "证照齐全"}
    )
    assert response.status_code == 302
    saved = db.session.get(Organisation, org.id)
    assert saved.verified and saved.verification_status == "verified"
    assert saved.verified_at is not None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "org_verified")
    )
    assert (event.from_state, event.to_state) == ("pending", "verified")
    assert event.user_id == bureau_client.user.id
    assert db.session.scalar(
        select(Notification).where(Notification.user_id == admin.id)
    )


def test_refuse_needs_a_reason_and_tells_the_org(bureau_client, factory, db):
    org, admin = pending_org(factory)
    url = f"/bureau/verifications/{org.id}/refuse"
    bureau_client.post(url, data={"reason": "   "})
    assert db.session.get(Organisation, org.id).verification_status == "pending"
    bureau_client.post(url, data={"reason": "营业执照与名称不符"})
    db.session.expire_all()
    saved = db.session.get(Organisation, org.id)
    assert saved.verification_status == "refused"
    assert saved.refusal_reason == "营业执照与名称不符"
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == admin.id)
    )
    assert "营业执照与名称不符" in note.message


def test_only_pending_orgs_can_be_decided(bureau_client, factory, db):
    org = factory.org(name="早已认证")
    response = bureau_client.post(
        f"/bureau/verifications/{org.id}/refuse", data={"reason": "试图撤销"}
    )
    assert response.status_code == 302
    assert db.session.get(Organisation, org.id).verified
    assert bureau_client.post("/bureau/verifications/99999/verify").status_code == 404


def test_unverified_org_is_told_and_verified_org_is_not(
    unverified_client, factory, login
):
    page = unverified_client.get("/").get_data(as_text=True)
    assert "尚未通过科技局审核" in page
    verified = login(factory.user(factory.org()))
    assert "尚未通过科技局审核" not in verified.get("/").get_data(as_text=True)


def test_certifications(bureau_client, factory, db):
    org = factory.org(name="认定企业")
    url = f"/bureau/orgs/{org.id}/certifications"
    assert bureau_client.get(url).status_code == 200
    bureau_client.post(url, data={"tags": ["高新技术企业", "科技型中小企业"]})
    tags = set(
        db.session.scalars(
            select(OrgCertification.tag).where(OrgCertification.org_id == org.id)
        )
    )
    assert tags == {"高新技术企业", "科技型中小企业"}
    bureau_client.post(url, data={"tags": ["高新技术企业"]})
    db.session.expire_all()
    tags = set(
        db.session.scalars(
            select(OrgCertification.tag).where(OrgCertification.org_id == org.id)
        )
    )
    assert tags == {"高新技术企业"}
    bad = bureau_client.post(url, data={"tags": ["伪造认定"]})
    assert bad.status_code == 200
    db.session.expire_all()
    assert len(db.session.get(Organisation, org.id).certifications) == 1
