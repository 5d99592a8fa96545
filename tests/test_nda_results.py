"""Results' confidential tier (保密内容) behind their NDA, and its form field."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace import permissions
from marketplace.clock import local_today
from marketplace.models import (
    ConfidentialView,
    NdaSignature,
    Result,
    ResultStatus,
    TechField,
)
from tests.factories import make_result
from tests.test_ndas import SIGNER, sha

RESULT_SECRET = "成果保密工艺-NDA-9043：菌种 BX-17"


def test_result_confidential_tier_behind_its_nda(
    university_client, enterprise_client, db
):
    rid = make_result(university_client.org.id, confidential_detail=RESULT_SECRET).id
    url = f"/results/{rid}"
    # Without an NDA nobody outside the owner and the bureau sees it.
    assert RESULT_SECRET in university_client.get(url).get_data(as_text=True)
    assert RESULT_SECRET not in enterprise_client.get(url).get_data(as_text=True)
    own = {"choice": "own", "own_text": "成果方自拟保密协议。"}
    assert university_client.post(f"/ndas/results/{rid}", data=own).status_code == 302
    page = enterprise_client.get(url).get_data(as_text=True)
    assert RESULT_SECRET not in page and f"/ndas/results/{rid}/sign" in page
    result = db.session.get(Result, rid)
    version = permissions.current_nda_version(result)
    assert version.template.owner_org_id == university_client.org.id
    data = {**SIGNER, "version_id": str(version.id)}
    assert (
        enterprise_client.post(f"/ndas/results/{rid}/sign", data=data).status_code
        == 302
    )
    assert RESULT_SECRET in enterprise_client.get(url).get_data(as_text=True)
    stored = db.session.scalar(select(NdaSignature))
    assert stored.result_id == rid and stored.sha256 == sha("成果方自拟保密协议。")
    viewed = db.session.scalar(
        select(ConfidentialView).where(ConfidentialView.result_id == rid)
    )
    assert viewed.user_id == enterprise_client.user.id
    owner_page = university_client.get(f"/ndas/results/{rid}").get_data(as_text=True)
    assert "李四" in owner_page and enterprise_client.org.name in owner_page
    assert "保密内容查看记录（共 1 次）" in owner_page
    # The owner revising its own text makes a second version of the same document.
    own["own_text"] = "成果方自拟保密协议（修订）。"
    university_client.post(f"/ndas/results/{rid}", data=own)
    db.session.expire_all()
    revised = permissions.current_nda_version(db.session.get(Result, rid))
    assert (revised.template_id, revised.number) == (version.template_id, 2)


def test_result_form_stores_confidential_detail(university_client, db):
    field = db.session.scalar(
        select(TechField.id).where(TechField.code == "environment")
    )
    rid = make_result(
        university_client.org.id, status=ResultStatus.DRAFT, published_at=None
    ).id
    data = {
        "title": "生物膜工艺", "abstract": "简介", "field": str(field), "trl": "6",
        "ip_type": "发明专利", "transfer_modes": ["转让"], "price": "",
        "valid_until": (local_today() + timedelta(days=200)).isoformat(),
        "confidential_detail": RESULT_SECRET,
    }  # fmt: skip
    response = university_client.post(f"/results/{rid}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    result = db.session.get(Result, rid)
    assert result.confidential_detail == RESULT_SECRET
    assert result.confidential_changed_at is not None
    form = university_client.get(f"/results/{rid}/edit").get_data(as_text=True)
    assert RESULT_SECRET in form
