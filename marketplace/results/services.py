"""Result verbs: register, edit, review, renew; adoption applications (揭榜转化)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from marketplace import audit, glossary, identifiers, permissions
from marketplace.clock import local_today
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.files.services import FileAction
from marketplace.listings import review
from marketplace.listings.states import (
    MAX_VALID_YEARS,
    RESULT_TRANSITIONS,
    years_ahead,
)
from marketplace.models import (
    Result,
    ResultStatus,
    TechField,
)
from marketplace.money import FEN_PER_WAN, MAX_WAN
from marketplace.ndas.services import NdaAction
from marketplace.workflow import move

IP_TYPES = (
    "发明专利",
    "实用新型",
    "外观设计",
    "软件著作权",
    "植物新品种",
    "技术秘密",
    "其他",
)
TRANSFER_MODES = ("转让", "许可", "作价投资", "合作开发")
# Maturity bands over TRL 1–9 (GB/T 22900): code → (label, lowest, highest).
MATURITY_BANDS = {
    "rd": ("研发", 1, 3),
    "lab": ("小试", 4, 5),
    "pilot": ("中试", 6, 7),
    "industry": ("产业化", 8, 9),
}
MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 20


class ResultAction(glossary.Action):
    """What the result and adoption verbs record."""

    RESULT_CREATED = "result_created", "登记成果"
    RESULT_UPDATED = "result_updated", "修改成果"
    RESULT_SUBMITTED = "result_submitted", "提交审核"
    RESULT_APPROVED = "result_approved", "审核通过并发布"
    RESULT_REJECTED = "result_rejected", "审核退回"
    RESULT_WITHDRAWN = "result_withdrawn", "撤回"
    RESULT_EXPIRED = "result_expired", "有效期届满"
    RESULT_RENEWED = "result_renewed", "续期"
    RESULT_REVISED = "result_revised", "修改已发布内容（文字，已生效）"
    RESULT_CHANGE_SUBMITTED = "result_change_submitted", "提交重要修改，待科技局审核"
    RESULT_CHANGE_APPROVED = "result_change_approved", "重要修改审核通过，已生效"
    RESULT_CHANGE_REJECTED = "result_change_rejected", "重要修改未通过审核"
    RESULT_CHANGE_WITHDRAWN = "result_change_withdrawn", "撤回待审核的重要修改"
    RESULT_TRANSFERRED = "result_transferred", "技术合同已登记，成果已转化"
    ADOPTION_SUBMITTED = "adoption_submitted", "收到转化申请"
    ADOPTION_ACCEPTED = "adoption_accepted", "接受转化申请"
    ADOPTION_DECLINED = "adoption_declined", "婉拒转化申请"
    ADOPTION_WITHDRAWN = "adoption_withdrawn", "转化申请被撤回"


ACTION_LABELS = glossary.labels(
    ResultAction,
    NdaAction,
    FileAction.LISTING_FILE_ADDED,
    FileAction.LISTING_FILE_REMOVED,
)
glossary.register_actions(ResultAction)


def trl_band(trl: int | None) -> str:
    """The maturity band of a TRL: 研发, 小试, 中试 or 产业化 ('' when unknown)."""
    for label, low, high in MATURITY_BANDS.values():
        if trl is not None and low <= trl <= high:
            return label
    return ""


def latest_valid_until(today: date | None = None) -> date:
    """The furthest valid-until date allowed: three years from today."""
    return years_ahead(MAX_VALID_YEARS, today)


def check_valid_until(value: date | None) -> None:
    """A valid-until date must lie after today and at most three years ahead."""
    if value is None:
        raise ServiceError("请填写有效期。", "valid_until")
    if value <= local_today():
        raise ServiceError("有效期必须是今天以后的日期。", "valid_until")
    if value > latest_valid_until():
        raise ServiceError(
            f"有效期最长 {MAX_VALID_YEARS} 年，请不晚于 {latest_valid_until()}。",
            "valid_until",
        )


@dataclass
class ResultData:
    """The editable content of a result, as plain values."""

    title: str
    abstract: str
    field_id: int | None
    valid_until: date | None
    transfer_modes: list[str]
    discipline: str = ""
    keywords: list[str] = field(default_factory=list)
    trl: int | None = None
    ip_type: str = ""
    ip_numbers: str = ""
    price_fen: int | None = None
    benefit: str = ""
    confidential_detail: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


def _clean(data: ResultData) -> ResultData:
    data.title = data.title.strip()
    if not data.title:
        raise ServiceError("请填写成果名称。", "title")
    if data.field_id is None or db.session.get(TechField, data.field_id) is None:
        raise ServiceError("请选择技术领域。", "field")
    if len(data.discipline.strip()) > 60:
        raise ServiceError("学科不能超过 60 个字。", "discipline")
    if len(data.keywords) > MAX_KEYWORDS or any(
        not k or len(k) > MAX_KEYWORD_LENGTH for k in data.keywords
    ):
        raise ServiceError(
            f"关键词最多 {MAX_KEYWORDS} 个，每个不超过 {MAX_KEYWORD_LENGTH} 字。",
            "keywords",
        )
    if data.trl is not None and not 1 <= data.trl <= 9:
        raise ServiceError("成熟度须为 1–9 级。", "trl")
    if data.ip_type and data.ip_type not in IP_TYPES:
        raise ServiceError("知识产权类型无效。", "ip_type")
    modes = [m for m in TRANSFER_MODES if m in data.transfer_modes]
    if not modes or len(modes) != len(set(data.transfer_modes)):
        raise ServiceError("请至少选择一种有效的转化方式。", "transfer_modes")
    data.transfer_modes = modes
    if data.price_fen is not None and not (
        0 <= data.price_fen <= MAX_WAN * FEN_PER_WAN
    ):
        raise ServiceError("价格须为 0 至 1000 万万元之间。", "price")
    if len(data.confidential_detail) > 10_000:
        raise ServiceError("保密内容不能超过 10000 个字。", "confidential_detail")
    check_valid_until(data.valid_until)
    data.contact_phone = identifiers.check_phone(data.contact_phone)
    return data


def _apply(result: Result, data: ResultData) -> None:
    for name, value in vars(data).items():
        setattr(result, name, value.strip() if isinstance(value, str) else value)


def preview(data: ResultData) -> Result:
    """A checked, unsaved result holding `data` (to compare with a stored one)."""
    draft = Result()
    _apply(draft, _clean(data))
    return draft


def create_result(user: Any, data: ResultData) -> Result:
    """A university or institute registers a result as a draft."""
    if not permissions.can_register_result(user):
        raise StateError("只有高校和科研院所可以登记科技成果。")
    result = Result(org_id=user.org_id, created_by_id=user.id)
    _apply(result, _clean(data))
    result.status = ResultStatus.DRAFT
    db.session.add(result)
    db.session.flush()
    audit.record("result_created", obj=result, user=user, to_state=result.status)
    return result


def update_result(result: Result, user: Any, data: ResultData) -> None:
    """The owner edits a draft or a rejected result."""
    if not permissions.can_edit(user, result):
        raise StateError("只有发布机构的成员可以在草稿或退回状态下修改。")
    _apply(result, _clean(data))
    audit.record("result_updated", obj=result, user=user)


def submit_result(result: Result, user: Any) -> None:
    """Send a draft or fixed result to the bureau."""
    review.submit_for_review(result, user)


def withdraw_result(result: Result, user: Any, note: str = "") -> None:
    """The owner takes a result off the market or out of review."""
    review.withdraw(result, user, note)


def renew_result(result: Result, user: Any, valid_until: date | None) -> None:
    """The owner extends a published or expired result; it is published again."""
    if not permissions.is_member_of(user, result.org_id):
        raise StateError("只有发布机构的成员可以续期。")
    if not permissions.can_publish(user):
        raise StateError("机构通过科技局审核后才能续期发布。")
    if result.status not in {ResultStatus.PUBLISHED, ResultStatus.EXPIRED}:
        raise StateError("只有已发布或已过期的成果可以续期。")
    check_valid_until(valid_until)
    note = f"有效期 {result.valid_until} → {valid_until}"
    if result.status == ResultStatus.EXPIRED:
        move(
            result,
            ResultStatus.PUBLISHED,
            RESULT_TRANSITIONS,
            action="result_renewed",
            user=user,
            note=note,
        )
    else:
        audit.record(
            "result_renewed",
            obj=result,
            user=user,
            from_state=result.status,
            to_state=result.status,
            note=note,
        )
    result.valid_until = valid_until
    # A new date deserves a new reminder before it, too.
    result.reminded_at = None
