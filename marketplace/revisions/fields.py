"""Which listing fields are wording and which are material, and how each is shown."""

from __future__ import annotations

from datetime import date
from typing import Any

from marketplace.extensions import db
from marketplace.models import (
    ORG_KIND_LABELS,
    Challenge,
    ChallengeReveal,
    Region,
    Result,
    TechField,
)
from marketplace.money import format_wan

# Material fields change what bidders and adopters commit to: they wait for the
# bureau while the published values stay up. Everything else is wording and
# applies at once. A result's valid-until date is not edited here: renewing
# (续期) already governs it.
MATERIAL = {
    Challenge: (
        "bounty_fen",
        "deadline",
        "technical_targets",
        "allowed_bidder_kinds",
        "consortium_allowed",
    ),
    Result: ("price_fen", "trl", "ip_type", "ip_numbers", "transfer_modes"),
}
WORDING = {
    Challenge: (
        "title",
        "public_summary",
        "description",
        "confidential_detail",
        "field_id",
        "region_code",
        "keywords",
        "contact_name",
        "contact_phone",
        "contact_email",
        "anonymous",
        "reveal_to",
    ),
    Result: (
        "title",
        "abstract",
        "confidential_detail",
        "field_id",
        "discipline",
        "keywords",
        "benefit",
        "contact_name",
        "contact_phone",
        "contact_email",
    ),
}
LABELS = {
    "title": "名称",
    "public_summary": "公开摘要",
    "description": "问题描述",
    "confidential_detail": "保密内容",
    "abstract": "成果简介",
    "field_id": "技术领域",
    "region_code": "所属县区",
    "discipline": "学科",
    "keywords": "关键词",
    "benefit": "效益说明",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "contact_email": "联系邮箱",
    "anonymous": "匿名发布",
    "reveal_to": "向揭榜方公开企业名称",
    "bounty_fen": "榜额",
    "price_fen": "转让价格",
    "deadline": "揭榜截止日期",
    "technical_targets": "技术指标",
    "allowed_bidder_kinds": "可揭榜机构类型",
    "consortium_allowed": "允许联合体揭榜",
    "trl": "成熟度",
    "ip_type": "知识产权类型",
    "ip_numbers": "专利号/登记号",
    "transfer_modes": "转化方式",
}
MONEY = frozenset({"bounty_fen", "price_fen"})
DATES = frozenset({"deadline"})
CHOICE_SETS = frozenset({"allowed_bidder_kinds", "transfer_modes"})
# Never shown in the history, whoever looks: only that it changed.
SECRET = frozenset({"confidential_detail"})


def material_fields(listing: Challenge | Result) -> tuple[str, ...]:
    """The material fields of this kind of listing."""
    return MATERIAL[type(listing)]


def wording_fields(listing: Challenge | Result) -> tuple[str, ...]:
    """The wording fields of this kind of listing."""
    return WORDING[type(listing)]


def stored(name: str, value: Any) -> Any:
    """A column value as JSON can hold it (dates as ISO text, choice sets sorted)."""
    if isinstance(value, date):
        return value.isoformat()
    if name in CHOICE_SETS and value is not None:
        # Ticked boxes: the order the form sends them in is no change.
        return sorted(value)
    return list(value) if isinstance(value, list | tuple) else value


def loaded(name: str, value: Any) -> Any:
    """A JSON-held value back as the column's type."""
    if name in DATES and isinstance(value, str):
        return date.fromisoformat(value)
    if name == "reveal_to":
        return ChallengeReveal(value)
    return value


def shown(name: str, value: Any) -> str:
    """A field's value as a page shows it: money in 万元, labels, never raw codes."""
    if name in MONEY:
        return format_wan(value)
    if name in SECRET:
        return "（保密内容）"
    if value is None or value in ("", []):
        return "（未填写）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if name == "allowed_bidder_kinds":
        return "、".join(ORG_KIND_LABELS.get(k, k) for k in value)
    if name == "field_id":
        field = db.session.get(TechField, value)
        return field.name if field else "（已删除的领域）"
    if name == "region_code":
        region = db.session.get(Region, value)
        return region.name if region else str(value)
    if name == "reveal_to":
        return ChallengeReveal(value).label
    if name == "trl":
        return f"{value} 级"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def summary(changes: dict[str, Any]) -> str:
    """The changed fields' names, in one line."""
    return "、".join(LABELS.get(name, name) for name in changes)
