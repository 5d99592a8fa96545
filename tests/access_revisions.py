"""The access matrix's objects for editing published listings (marketplace/revisions).

Enterprise A's open challenge and university A's published result to edit, and
a material change of another open challenge of A waiting for the bureau.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db as _db
from marketplace.models import ChangeKind, ChangeStatus, ListingChange, TechField
from tests.factories import make_challenge, make_result


def build_revisions(app, orgs, users, ids) -> None:
    """Add the listings and the pending change, and their ids, to the world."""
    with app.app_context():
        challenge = make_challenge(orgs["ent_a"].id, title="甲的已发布需求（可修改）")
        result = make_result(orgs["uni_a"].id, title="甲的已发布成果（可修改）")
        ids["challenge_revise"], ids["result_revise"] = challenge.id, result.id
        # The dates as stored: a result's date is renewed, not revised.
        ids["revise_deadline"] = challenge.deadline.isoformat()
        ids["revise_valid_until"] = result.valid_until.isoformat()
        changed = make_challenge(orgs["ent_a"].id, title="甲的需求（重要修改待审）")
        change = ListingChange(
            challenge_id=changed.id,
            user_id=users["ent_a"].id,
            kind=ChangeKind.MATERIAL,
            status=ChangeStatus.PENDING,
            changes={"bounty_fen": [changed.bounty_fen, 80_000_000]},
        )
        _db.session.add(change)
        _db.session.commit()
        ids["listing_change"] = change.id
        ids["tech_field"] = _db.session.scalar(
            select(TechField.id).where(TechField.code == "environment")
        )


# A real edit of each listing: a denial that let it through would change them.
REVISE_CHALLENGE = {
    "title": "矩阵测试：改过的需求名称",
    "description": "现有废水处理工艺能耗高。",
    "public_summary": "寻求方案。",
    "confidential_detail": "",
    "technical_targets": "COD 去除率 ≥ 99%",
    "keywords": "废水处理",
    "field": "environment",
    "region": "411702",
    "bounty": "99",
    "deadline": "{revise_deadline}",
    "allowed_bidder_kinds": ["university", "institute"],
    "consortium_allowed": "y",
}
REVISE_RESULT = {
    "title": "矩阵测试：改过的成果名称",
    "abstract": "一种生物膜处理工艺。",
    "field": "{tech_field}",
    "discipline": "环境工程",
    "keywords": "生物膜",
    "trl": "7",
    "ip_type": "发明专利",
    "transfer_modes": ["转让"],
    "price": "99",
    "valid_until": "{revise_valid_until}",
}
