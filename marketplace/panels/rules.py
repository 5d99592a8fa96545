"""The scoring sheet's rules and labels: weights, score range, verdicts, comments."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from marketplace import glossary
from marketplace.exceptions import ServiceError
from marketplace.models import PanelPurpose, PanelStatus
from marketplace.models.expert import (  # noqa: F401 (re-exported)
    PANEL_STATUS_LABELS,
    PURPOSE_LABELS,
)

MIN_MEMBERS = 3
MAX_MEMBERS = 15
MAX_COMMENT = 2000
MAX_OVERALL_COMMENT = 5000

CRITERIA = (
    ("merit", "技术先进性"),
    ("feasibility", "可行性"),
    ("team", "团队能力"),
    ("price", "报价合理性"),
)
CRITERION_LABELS = dict(CRITERIA)
DEFAULT_WEIGHTS = {"merit": 40, "feasibility": 30, "team": 20, "price": 10}

STATUS_LABELS = PANEL_STATUS_LABELS
ACCEPTANCE_VERDICTS = {"passed": "通过", "rectify": "整改后通过", "failed": "不通过"}
EXEMPTION_VERDICTS = {"grant": "建议免责", "refuse": "建议不予免责"}
# An expert's opinion records the verdict as its state.
glossary.register_states(
    ACCEPTANCE_VERDICTS | EXEMPTION_VERDICTS, action="panel_opinion_submitted"
)

PANEL_TRANSITIONS = {
    PanelStatus.SCORING: frozenset({PanelStatus.COMPLETED}),
    PanelStatus.COMPLETED: frozenset(),
}


def verdict_labels(purpose: str) -> dict[str, str]:
    """The verdicts an expert may give on a panel of this purpose."""
    purpose = PanelPurpose(purpose)
    if purpose == PanelPurpose.EXEMPTION:
        return EXEMPTION_VERDICTS
    if purpose == PanelPurpose.PROPOSALS:
        return {}
    return ACCEPTANCE_VERDICTS


def _is_int(value: Any) -> bool:
    # bool is an int to Python but not a score; floats (NaN too) are refused.
    return isinstance(value, int) and not isinstance(value, bool)


def check_weights(weights: Mapping[str, Any]) -> dict[str, int]:
    """Integer weights 0..100 for the four criteria, summing to 100."""
    if set(weights) != set(DEFAULT_WEIGHTS):
        raise ServiceError("请为四项评分标准分别设置权重。")
    for key, _ in CRITERIA:
        value = weights[key]
        if not _is_int(value) or not 0 <= value <= 100:
            raise ServiceError("权重须为 0 到 100 的整数。", f"weight_{key}")
    if sum(weights.values()) != 100:
        raise ServiceError("权重之和必须为 100%。")
    return {key: int(weights[key]) for key, _ in CRITERIA}


def check_scores(
    scores: Mapping[Any, Mapping[str, Any]],
    proposal_ids: Iterable[int],
    max_score: int,
) -> dict[int, dict[str, int]]:
    """Every listed bid scored on every criterion, each an integer 0..max_score."""
    wanted = list(proposal_ids)
    extra = [key for key in scores if key not in wanted]
    if extra:
        raise ServiceError("评分表中有不属于本榜单的申报。")
    checked: dict[int, dict[str, int]] = {}
    for proposal_id in wanted:
        sheet = scores.get(proposal_id)
        if not isinstance(sheet, Mapping):
            raise ServiceError("请为每一份申报评分。")
        checked[proposal_id] = {}
        for key, label in CRITERIA:
            value = sheet.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise ServiceError(f"请填写“{label}”评分。", f"s{proposal_id}_{key}")
            if not _is_int(value) or not 0 <= value <= max_score:
                raise ServiceError(
                    f"评分须为 0 到 {max_score} 的整数。", f"s{proposal_id}_{key}"
                )
            checked[proposal_id][key] = value
    return checked


def check_comment(text: Any, field: str, required: bool) -> str:
    """A comment without control characters, within its length."""
    text = text.strip() if isinstance(text, str) else ""
    limit = MAX_OVERALL_COMMENT if field in ("overall", "comment") else MAX_COMMENT
    if required and not text:
        raise ServiceError("请填写评审意见。", field)
    if len(text) > limit:
        raise ServiceError(f"评审意见不超过 {limit} 字。", field)
    if any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        raise ServiceError("内容含有不允许的控制字符。", field)
    return text
