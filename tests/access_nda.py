"""The access matrix's NDA objects: a bureau template, A's listings bound to it
and institute A's signature on A's challenge (tests/access_table.py calls
`build_nda` at the end of its world)."""

from __future__ import annotations

from marketplace.extensions import db as _db
from marketplace.models import NdaSignature, NdaTemplate, NdaVersion, text_sha256
from tests.factories import make_challenge, make_result

NDA_TEXT = "矩阵保密协议 MATRIX-NDA-6618：签署人对保密内容严格保密。"


def build_nda(app, orgs, users, ids) -> None:
    """Add the NDA objects and their ids (nda_*) to the world."""
    with app.app_context():
        template = NdaTemplate(
            name="矩阵通用保密协议", created_by_id=users["bureau"].id
        )
        _db.session.add(template)
        _db.session.flush()
        version = NdaVersion(
            template_id=template.id,
            number=1,
            text=NDA_TEXT,
            sha256=text_sha256(NDA_TEXT),
        )
        _db.session.add(version)
        _db.session.commit()
        challenge = make_challenge(
            orgs["ent_a"].id, title="带保密协议的需求", nda_template_id=template.id
        )
        result = make_result(
            orgs["uni_a"].id,
            title="带保密协议的成果",
            confidential_detail="成果保密工艺 MATRIX-RSECRET-2207",
            nda_template_id=template.id,
        )
        signature = NdaSignature(
            version_id=version.id,
            challenge_id=challenge.id,
            user_id=users["inst_a"].id,
            org_id=orgs["inst_a"].id,
            full_name="矩阵签署人",
            position="研究员",
            org_name=orgs["inst_a"].name,
            ip="127.0.0.1",
            sha256=version.sha256,
        )
        _db.session.add(signature)
        _db.session.commit()
        ids.update(
            nda_template=template.id,
            nda_version=version.id,
            challenge_nda=challenge.id,
            result_nda=result.id,
            nda_signature=signature.id,
        )
