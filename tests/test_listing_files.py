"""Attachments on challenges and results, and organisations' verification documents.

The owner uploads checked files (PDF, DOCX, XLSX, PNG, JPEG), each public or
confidential; public ones go with the listing, confidential ones only to those
who may see the confidential part (the download is logged like a view of it).
Verification documents are seen by the bureau and the org's admins alone.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from marketplace import uploads
from marketplace.creditcode import make_credit_code
from marketplace.exceptions import ServiceError
from marketplace.models import (
    AuditEvent,
    ChallengeStatus,
    ConfidentialView,
    ListingAttachment,
    NdaVersion,
    OrgDocument,
    OrgKind,
    UserRole,
)
from marketplace.proposals import attachments
from tests.factories import make_challenge, make_result
from tests.sample_files import PDF, docx, image, xlsx
from tests.test_upload_checks import DOCX_PARTS, office_file

PNG = image("PNG")
JPEG = image("JPEG")


def upload(client, url, files, confidential=False, label=""):
    data = {"label": label, "attachments": [(io.BytesIO(b), n) for b, n in files]}
    if confidential:
        data["confidential"] = "y"
    return client.post(url, data=data, content_type="multipart/form-data")


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def stored_files(app) -> list:
    with app.app_context():
        return sorted(p.name for p in uploads.upload_dir().iterdir())


@pytest.fixture
def challenge(db, enterprise_client):
    """An open challenge of the enterprise client's organisation: its id."""
    challenge_id = make_challenge(enterprise_client.org.id).id
    return challenge_id


def files_url(challenge_id: int, kind: str = "challenge") -> str:
    return f"/files/listings/{kind}/{challenge_id}"


def test_owner_uploads_every_allowed_kind(app, db, enterprise_client, challenge):
    files = [
        (PDF, "规格书.pdf"),
        (PNG, "图纸.png"),
        (JPEG, "现场照片.jpg"),
        (docx(), "说明.docx"),
        (xlsx(), "参数表.xlsx"),
    ]
    response = upload(enterprise_client, files_url(challenge), files, label="技术资料")
    assert response.status_code == 302
    rows = db.session.scalars(select(ListingAttachment).order_by("id")).all()
    assert [r.content_type for r in rows] == [
        "application/pdf",
        "image/png",
        "image/jpeg",
        uploads.CONTENT_TYPES["docx"],
        uploads.CONTENT_TYPES["xlsx"],
    ]
    assert {r.challenge_id for r in rows} == {challenge}
    assert {r.label for r in rows} == {"技术资料"}
    assert not any(r.confidential for r in rows)
    assert stored_files(app) == sorted(r.stored_name for r in rows)
    events = db.session.scalars(
        select(AuditEvent.note).where(AuditEvent.action == "listing_file_added")
    ).all()
    assert sorted(events) == sorted(f"公开附件：{n}" for _b, n in files)
    page = enterprise_client.get(f"/challenges/{challenge}").get_data(as_text=True)
    assert "规格书.pdf" in page and "上传附件" in page  # the list and the timeline


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "规格书.pdf", "的内容不是有效的"),
        (b"MZ\x90\x00\x03" + bytes(200), "规格书.pdf", "的内容不是有效的"),
        (b"%PDF-1.4\n<html><script>alert(1)</script></html>", "a.pdf", "无法解析"),
        (PNG, "图纸.jpg", "扩展名与文件内容不符"),
        (PNG[:40], "图纸.png", "不是有效的图片"),
        (PDF, "setup.exe", "只接受 PDF、DOCX、XLSX、PNG、JPG"),
        (
            office_file({**DOCX_PARTS, "word/document.xml": 8 * 2**20}),
            "图纸.docx",
            "压缩比超过 100 倍（疑似压缩炸弹）",
        ),
    ],
)
def test_bad_content_is_refused_and_nothing_kept(
    app, db, enterprise_client, challenge, body, name, message
):
    batch = [(PDF, "好.pdf"), (body, name)]
    response = upload(enterprise_client, files_url(challenge), batch)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(db, ListingAttachment) == 0
    assert stored_files(app) == []  # the good file of the batch went too


def test_bids_still_take_documents_only(app):
    with app.app_context(), pytest.raises(ServiceError) as refused:
        attachments.store(_storage(PNG, "图纸.png"))
    assert "只接受 PDF、DOCX、XLSX 格式" in refused.value.message


def _storage(body: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(body), name)


def _two_files(db, client, challenge_id, kind="challenge") -> tuple[int, int]:
    url = files_url(challenge_id, kind)
    assert upload(client, url, [(PDF, "公开规格书.pdf")]).status_code == 302
    response = upload(client, url, [(PDF, "保密图纸MX.pdf")], confidential=True)
    assert response.status_code == 302
    rows = db.session.scalars(select(ListingAttachment).order_by("id")).all()
    assert [r.confidential for r in rows] == [False, True]
    return rows[0].id, rows[1].id


def test_public_and_confidential_downloads_on_a_challenge(
    db, client, enterprise_client, institute_client, bureau_client, challenge
):
    public, secret = _two_files(db, enterprise_client, challenge)
    for who in (client, institute_client, enterprise_client, bureau_client):
        response = who.get(f"/files/listing-files/{public}")
        assert response.status_code == 200 and response.data == PDF
    # Anonymous visitors and other organisations: not even the name.
    for who in (client, institute_client):
        assert who.get(f"/files/listing-files/{secret}").status_code == 404
        page = who.get(f"/challenges/{challenge}").get_data(as_text=True)
        assert "公开规格书.pdf" in page
        assert "保密图纸MX" not in page
        assert "另有 1 个保密附件，签署保密协议/接受保密条款后可见" in page
    # The owner and the bureau open it; no view is logged for the owner.
    for who in (enterprise_client, bureau_client):
        response = who.get(f"/files/listing-files/{secret}")
        assert response.status_code == 200 and response.data == PDF
        assert response.headers["Cache-Control"] == "private, no-store"
    assert count(db, ConfidentialView) == 1  # the bureau's
    # After accepting the terms the institute opens it, and the poster sees that.
    accept = institute_client.post(
        f"/challenges/{challenge}/accept-terms", data={"agree": "y"}
    )
    assert accept.status_code == 302
    views = count(db, ConfidentialView)
    assert institute_client.get(f"/files/listing-files/{secret}").status_code == 200
    assert count(db, ConfidentialView) == views + 1
    page = institute_client.get(f"/challenges/{challenge}").get_data(as_text=True)
    assert "保密图纸MX.pdf" in page


def test_files_of_a_draft_stay_with_the_draft(db, client, enterprise_client):
    draft = make_challenge(
        enterprise_client.org.id, status=ChallengeStatus.DRAFT, published_at=None
    ).id
    public, _secret = _two_files(db, enterprise_client, draft)
    assert client.get(f"/files/listing-files/{public}").status_code == 404
    assert enterprise_client.get(f"/files/listing-files/{public}").status_code == 200


def test_confidential_files_on_a_result(
    db, client, university_client, enterprise_client, bureau_client
):
    result = make_result(university_client.org.id).id
    public, secret = _two_files(db, university_client, result, "result")
    assert client.get(f"/files/listing-files/{public}").status_code == 200
    assert enterprise_client.get(f"/files/listing-files/{secret}").status_code == 404
    for who in (university_client, bureau_client):
        assert who.get(f"/files/listing-files/{secret}").status_code == 200
    page = enterprise_client.get(f"/results/{result}").get_data(as_text=True)
    assert "公开规格书.pdf" in page and "保密图纸MX" not in page
    # Behind the result's NDA: the signer downloads it, and the download is logged.
    own = {"choice": "own", "own_text": "成果附件保密协议。"}
    nda_url = f"/ndas/results/{result}"
    assert university_client.post(nda_url, data=own).status_code == 302
    version = db.session.scalar(select(NdaVersion).order_by(NdaVersion.id.desc()))
    signed = {"full_name": "王五", "position": "技术总监", "confirm": "y"}
    signed["version_id"] = str(version.id)
    sign_url = f"/ndas/results/{result}/sign"
    assert enterprise_client.post(sign_url, data=signed).status_code == 302
    logged = select(func.count()).where(ConfidentialView.result_id == result)
    before = db.session.scalar(logged)
    assert enterprise_client.get(f"/files/listing-files/{secret}").status_code == 200
    assert db.session.scalar(logged) == before + 1


def test_only_the_owner_manages_files(
    db, client, enterprise_client, institute_client, bureau_client, challenge
):
    public, _secret = _two_files(db, enterprise_client, challenge)
    url = files_url(challenge)
    assert client.get(url).status_code == 302  # to the login page
    for who in (institute_client, bureau_client):
        assert who.get(url).status_code == 403
        assert upload(who, url, [(PDF, "x.pdf")]).status_code == 403
        remove = f"/files/listing-files/{public}/remove"
        assert who.post(remove, data={"confirm": "y"}).status_code == 403
    assert count(db, ListingAttachment) == 2


def test_owner_uploads_to_a_published_listing_but_not_a_withdrawn_one(
    db, enterprise_client
):
    withdrawn = make_challenge(
        enterprise_client.org.id, status=ChallengeStatus.WITHDRAWN
    ).id
    assert enterprise_client.get(files_url(withdrawn)).status_code == 403


def test_removal_needs_the_tick_then_deletes_row_and_file(
    app, db, enterprise_client, challenge
):
    public, secret = _two_files(db, enterprise_client, challenge)
    url = f"/files/listing-files/{secret}/remove"
    assert enterprise_client.post(url).status_code == 302
    assert count(db, ListingAttachment) == 2
    assert enterprise_client.post(url, data={"confirm": "y"}).status_code == 302
    rows = db.session.scalars(select(ListingAttachment)).all()
    assert [r.id for r in rows] == [public]
    assert stored_files(app) == [rows[0].stored_name]
    note = db.session.scalar(
        select(AuditEvent.note).where(AuditEvent.action == "listing_file_removed")
    )
    assert note == "保密附件：保密图纸MX.pdf"
    assert enterprise_client.get(f"/files/listing-files/{secret}").status_code == 404


# --- verification documents -------------------------------------------------------


@pytest.fixture
def applicant(factory, login):
    """The admin of an enterprise waiting for verification, with a plain member."""
    org = factory.org(OrgKind.ENTERPRISE, verified=False)
    admin = login(factory.user(org, role=UserRole.ORG_ADMIN))
    admin.org = org
    admin.member = login(factory.user(org))
    return admin


def test_org_documents_for_the_bureau_only(
    app, db, client, applicant, org_admin_client, bureau_client
):
    org_id = applicant.org.id
    edit = applicant.post(
        f"/orgs/{org_id}/edit",
        data={
            "name": applicant.org.name,
            "credit_code": applicant.org.credit_code,
            "region": "411702",
            "contact_phone": "0396-1234567",
            "contact_person": "赵会计",
        },
    )
    assert edit.status_code == 302
    url = f"/files/orgs/{org_id}"
    data = {"kind": "business_licence", "attachments": [(io.BytesIO(JPEG), "执照.jpg")]}
    assert applicant.post(url, data=data).status_code == 302
    data = {"kind": "other", "attachments": [(io.BytesIO(docx()), "证明.docx")]}
    page = applicant.post(url, data=data).get_data(as_text=True)
    assert "只接受 PDF、PNG、JPG 格式" in page
    document = db.session.scalar(select(OrgDocument))
    assert document.kind.label == "营业执照" and document.org_id == org_id

    queue = bureau_client.get("/bureau/verifications").get_data(as_text=True)
    assert "赵会计" in queue and "营业执照：执照.jpg" in queue
    assert f"/files/org-documents/{document.id}" in queue
    download = f"/files/org-documents/{document.id}"
    for who in (bureau_client, applicant):
        response = who.get(download)
        assert response.status_code == 200 and response.data == JPEG
    assert client.get(download).status_code == 302  # to the login page
    for who in (org_admin_client, applicant.member):
        assert who.get(download).status_code == 404
    for who in (org_admin_client, bureau_client, applicant.member):
        assert who.get(url).status_code == 403
        remove = who.post(f"{download}/remove", data={"confirm": "y"})
        assert remove.status_code == 403
    profile = f"/orgs/{org_id}"
    assert "赵会计" in applicant.get(profile).get_data(as_text=True)
    assert "赵会计" not in applicant.member.get(profile).get_data(as_text=True)

    response = applicant.post(f"{download}/remove", data={"confirm": "y"})
    assert response.status_code == 302
    assert count(db, OrgDocument) == 0 and stored_files(app) == []
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == org_id)
    ).all()
    assert {"org_document_added", "org_document_removed"} <= set(actions)


def test_the_registrant_is_the_first_verification_contact(db, client, bureau_client):
    data = {
        "kind": "enterprise",
        "org_name": "联系人测试企业",
        "credit_code": make_credit_code("411702", 8801),
        "region": "411702",
        "name": "钱经理",
        "email": "qian@example.cn",
        "password": "Passw0rd-x1",
        "confirm": "Passw0rd-x1",
    }
    assert client.post("/auth/signup", data=data).status_code == 302
    queue = bureau_client.get("/bureau/verifications").get_data(as_text=True)
    assert "认证联系人：钱经理" in queue and "认证材料：" in queue
