"""NDAs (保密协议): templates and versions, a listing's NDA, signatures, the PDF."""

from __future__ import annotations

import hashlib
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from marketplace import permissions
from marketplace.models import (
    AuditEvent,
    Challenge,
    ConfidentialView,
    NdaSignature,
    NdaTemplate,
    NdaVersion,
    Notification,
    User,
)
from tests.factories import make_challenge

SECRET = "保密参数-NDA-5521：反应温度 86℃"
TEXT_V1 = "一、签署人对保密内容严格保密。\n二、仅用于评估合作。"
TEXT_V2 = "一、签署人对保密内容严格保密。\n二、仅用于评估合作。\n三、期限五年。"
SIGNER = {"full_name": "李四", "position": "总工程师", "confirm": "y"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def template_id(bureau_client, db):
    """A bureau template at its first version."""
    response = bureau_client.post(
        "/ndas/new", data={"name": "通用保密协议", "text": TEXT_V1, "active": "y"}
    )
    assert response.status_code == 302
    return db.session.scalar(select(func.max(NdaTemplate.id)))


@pytest.fixture
def challenge_id(enterprise_client, db):
    """An open challenge of the enterprise, with confidential detail."""
    return make_challenge(enterprise_client.org.id, confidential_detail=SECRET).id


def current_version_id(db, challenge_id: int) -> int:
    challenge = db.session.get(Challenge, challenge_id)
    db.session.refresh(challenge)
    return permissions.current_nda_version(challenge).id


def sign(client, db, challenge_id: int, **extra):
    data = {**SIGNER, "version_id": str(current_version_id(db, challenge_id)), **extra}
    return client.post(f"/ndas/challenges/{challenge_id}/sign", data=data)


@pytest.fixture
def with_nda(enterprise_client, challenge_id, template_id):
    """The challenge's owner picked the bureau template."""
    url = f"/ndas/challenges/{challenge_id}"
    assert (
        enterprise_client.post(url, data={"choice": str(template_id)}).status_code
        == 302
    )
    return challenge_id


def detail(client, challenge_id: int) -> str:
    return client.get(f"/challenges/{challenge_id}").get_data(as_text=True)


# --- templates -------------------------------------------------------------------


def test_bureau_template_edits_make_versions(bureau_client, db, template_id):
    url = f"/ndas/{template_id}/edit"
    data = {"name": "通用保密协议", "text": TEXT_V2, "active": "y"}
    assert bureau_client.post(url, data=data).status_code == 302
    # The same text again makes no third version.
    assert bureau_client.post(url, data=data).status_code == 302
    versions = db.session.scalars(
        select(NdaVersion)
        .where(NdaVersion.template_id == template_id)
        .order_by(NdaVersion.number)
    ).all()
    assert [(v.number, v.text, v.sha256) for v in versions] == [
        (1, TEXT_V1, sha(TEXT_V1)),
        (2, TEXT_V2, sha(TEXT_V2)),
    ]
    old = bureau_client.get(f"/ndas/{template_id}?version=1").get_data(as_text=True)
    assert "二、仅用于评估合作。" in old and "期限五年" not in old
    assert "期限五年" in bureau_client.get(f"/ndas/{template_id}").get_data(
        as_text=True
    )
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "nda_templates")
    ).all()
    assert sorted(actions) == [
        "nda_template_created",
        "nda_version_created",
        "nda_version_created",
    ]


def test_only_the_bureau_keeps_templates(enterprise_client, client, template_id, db):
    assert enterprise_client.get("/ndas/").status_code == 403
    data = {"name": "企业模板", "text": "x"}
    assert enterprise_client.post("/ndas/new", data=data).status_code == 403
    data = {"name": "篡改", "text": "篡改", "active": "y"}
    assert (
        enterprise_client.post(f"/ndas/{template_id}/edit", data=data).status_code
        == 403
    )
    assert client.get("/ndas/").status_code == 302  # to the login page
    assert db.session.scalar(select(func.count(NdaVersion.id))) == 1


# --- signing a challenge's NDA ----------------------------------------------------


def test_signer_sees_detail_after_signing(
    enterprise_client, institute_client, db, with_nda
):
    cid = with_nda
    page = detail(institute_client, cid)
    assert SECRET not in page
    assert f"/ndas/challenges/{cid}/sign" in page
    # The NDA replaces the fixed terms: accepting them is refused.
    response = institute_client.post(
        f"/challenges/{cid}/accept-terms", data={"agree": "y"}
    )
    assert response.status_code == 403
    sign_page = institute_client.get(f"/ndas/challenges/{cid}/sign").get_data(
        as_text=True
    )
    assert "二、仅用于评估合作。" in sign_page and sha(TEXT_V1) in sign_page
    assert sign(institute_client, db, cid).status_code == 302
    # Signing the same text twice adds nothing.
    again = sign(institute_client, db, cid)
    assert again.status_code == 200 and "您已于" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(NdaSignature.id))) == 1
    stored = db.session.scalar(select(NdaSignature))
    assert stored.sha256 == sha(TEXT_V1) == stored.version.sha256
    assert (stored.full_name, stored.position) == ("李四", "总工程师")
    assert stored.org_id == institute_client.org.id
    assert stored.org_name == institute_client.org.name
    assert stored.ip == "127.0.0.1" and stored.challenge_id == cid
    assert SECRET in detail(institute_client, cid)
    views = db.session.scalars(
        select(ConfidentialView).where(ConfidentialView.challenge_id == cid)
    ).all()
    assert [v.user_id for v in views] == [institute_client.user.id]
    # The owner sees who signed when, with the version.
    owner_page = enterprise_client.get(f"/ndas/challenges/{cid}").get_data(as_text=True)
    assert "李四" in owner_page and "总工程师" in owner_page and "第 1 版" in owner_page
    assert institute_client.org.name in owner_page
    told = db.session.scalars(
        select(Notification.message).where(
            Notification.user_id == enterprise_client.user.id
        )
    ).all()
    assert any("李四" in m and "签署了保密协议" in m for m in told)
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "nda_signed")
        )
        == 1
    )


def test_who_may_not_sign(
    enterprise_client, unverified_client, bureau_client, client, db, with_nda
):
    cid = with_nda
    for who in (enterprise_client, unverified_client, bureau_client):
        assert who.get(f"/ndas/challenges/{cid}/sign").status_code == 403
        assert sign(who, db, cid).status_code == 403
    response = sign(client, db, cid)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert SECRET not in detail(unverified_client, cid)
    assert SECRET not in detail(client, cid)
    assert db.session.scalar(select(func.count(NdaSignature.id))) == 0


def test_signing_needs_name_position_and_the_tick(institute_client, db, with_nda):
    cid = with_nda
    for bad in ({"full_name": ""}, {"position": ""}, {"confirm": ""}):
        assert sign(institute_client, db, cid, **bad).status_code == 200
    assert db.session.scalar(select(func.count(NdaSignature.id))) == 0
    assert SECRET not in detail(institute_client, cid)


def test_signing_a_superseded_text_is_refused(
    bureau_client, institute_client, db, with_nda, template_id
):
    cid = with_nda
    old = current_version_id(db, cid)
    data = {"name": "通用保密协议", "text": TEXT_V2, "active": "y"}
    bureau_client.post(f"/ndas/{template_id}/edit", data=data)
    response = sign(institute_client, db, cid, version_id=str(old))
    assert response.status_code == 200
    assert "请阅读最新文本" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(NdaSignature.id))) == 0


def _change_detail(db, cid: int, text: str) -> None:
    challenge = db.session.get(Challenge, cid)
    challenge.confidential_detail = text
    db.session.commit()


def test_earlier_signers_sign_again_for_detail_added_after_a_change(
    bureau_client, institute_client, db, with_nda, template_id
):
    cid = with_nda
    assert sign(institute_client, db, cid).status_code == 302
    # The detail changes while the signed text is current: still shown.
    _change_detail(db, cid, SECRET + "（补充一）")
    assert "（补充一）" in detail(institute_client, cid)
    # A new NDA version alone does not hide what was there.
    data = {"name": "通用保密协议", "text": TEXT_V2, "active": "y"}
    bureau_client.post(f"/ndas/{template_id}/edit", data=data)
    assert "（补充一）" in detail(institute_client, cid)
    # Detail added after the change needs the new version signed.
    _change_detail(db, cid, SECRET + "（补充二）")
    page = detail(institute_client, cid)
    assert "（补充二）" not in page and "请重新签署" in page
    assert sign(institute_client, db, cid).status_code == 302
    assert "（补充二）" in detail(institute_client, cid)
    signed = db.session.scalars(select(NdaSignature).order_by(NdaSignature.id)).all()
    assert [s.sha256 for s in signed] == [sha(TEXT_V1), sha(TEXT_V2)]


# --- the signed PDF -----------------------------------------------------------------


def test_signed_pdf_downloads(
    enterprise_client,
    institute_client,
    bureau_client,
    agency_client,
    client,
    db,
    with_nda,
):
    cid = with_nda
    sign(institute_client, db, cid)
    signature_id = db.session.scalar(select(NdaSignature.id))
    url = f"/ndas/signatures/{signature_id}/pdf"
    for who in (institute_client, enterprise_client, bureau_client):
        response = who.get(url)
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        text = "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages
        )
        compact = text.replace(" ", "").replace("\n", "")
        assert "李四" in compact and sha(TEXT_V1) in compact
        assert "仅用于评估合作" in compact
    assert agency_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_owner_alone_chooses_the_nda(
    institute_client, enterprise_client, db, challenge_id, template_id
):
    url = f"/ndas/challenges/{challenge_id}"
    assert institute_client.get(url).status_code == 403
    assert (
        institute_client.post(url, data={"choice": str(template_id)}).status_code == 403
    )
    assert db.session.get(Challenge, challenge_id).nda_template_id is None
    # An unknown template is refused.
    assert enterprise_client.post(url, data={"choice": "999999"}).status_code == 200
    assert (
        enterprise_client.post(url, data={"choice": str(template_id)}).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(Challenge, challenge_id).nda_template_id == template_id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "listing_nda_chosen")
    )
    assert event.object_id == challenge_id
    user = db.session.get(User, enterprise_client.user.id)
    assert permissions.can_view_confidential(
        user, db.session.get(Challenge, challenge_id)
    )


def test_switching_the_nda_counts_as_a_change_of_text(
    enterprise_client, institute_client, db, with_nda
):
    cid = with_nda
    sign(institute_client, db, cid)
    own = {"choice": "own", "own_text": "发榜企业自拟的保密协议。"}
    assert (
        enterprise_client.post(f"/ndas/challenges/{cid}", data=own).status_code == 302
    )
    assert SECRET in detail(institute_client, cid)
    _change_detail(db, cid, SECRET + "（新增）")
    assert "（新增）" not in detail(institute_client, cid)
    sign(institute_client, db, cid)
    assert "（新增）" in detail(institute_client, cid)
    # The owner's timeline names the NDA events in Chinese.
    page = detail(enterprise_client, cid)
    assert "签署保密协议" in page and "设置保密协议" in page
    assert "nda_signed" not in page


def test_no_signing_a_listing_that_is_not_public(
    enterprise_client, institute_client, db, template_id
):
    from marketplace.models import ChallengeStatus

    cid = make_challenge(
        enterprise_client.org.id, status=ChallengeStatus.DRAFT, published_at=None
    ).id
    url = f"/ndas/challenges/{cid}"
    assert (
        enterprise_client.post(url, data={"choice": str(template_id)}).status_code
        == 302
    )
    assert institute_client.get(f"{url}/sign").status_code == 404
    assert db.session.scalar(select(func.count(NdaSignature.id))) == 0


def test_removing_the_nda_brings_back_the_terms(
    enterprise_client, institute_client, db, with_nda
):
    cid = with_nda
    assert (
        enterprise_client.post(
            f"/ndas/challenges/{cid}", data={"choice": ""}
        ).status_code
        == 302
    )
    page = detail(institute_client, cid)
    assert f"/challenges/{cid}/accept-terms" in page and "/sign" not in page
    response = institute_client.post(
        f"/challenges/{cid}/accept-terms", data={"agree": "y"}
    )
    assert response.status_code == 302
    assert SECRET in detail(institute_client, cid)
