"""One glossary: the Chinese words for recorded states and audit actions.

The state words live with their enums (`Enum.label`); this module only says
which enum an audit event's from/to states belong to, and gathers the audit
action labels the feature modules define into one registry that every timeline
and the admin log read.
"""

from __future__ import annotations

from marketplace.models.contract import CONTRACT_STATUS_LABELS
from marketplace.models.deal import STAGE_LABELS
from marketplace.models.expert import PANEL_STATUS_LABELS
from marketplace.models.listing import CHALLENGE_STATUS_LABELS, RESULT_STATUS_LABELS
from marketplace.models.listing_change import CHANGE_STATUS_LABELS
from marketplace.models.project import (
    EXEMPTION_STATUS_LABELS,
    MILESTONE_STATUS_LABELS,
    PROJECT_STATUS_LABELS,
)
from marketplace.models.proposal import MEMBER_STATUS_LABELS, PROPOSAL_STATUS_LABELS
from marketplace.models.user import UserRole

# Audited table -> the labels of the states its events record.
STATES_BY_OBJECT: dict[str, dict] = {
    "challenges": CHALLENGE_STATUS_LABELS,
    "results": RESULT_STATUS_LABELS,
    "proposals": PROPOSAL_STATUS_LABELS,
    "proposal_members": MEMBER_STATUS_LABELS,
    "contracts": CONTRACT_STATUS_LABELS,
    "deals": STAGE_LABELS,
    "projects": PROJECT_STATUS_LABELS,
    "milestones": MILESTONE_STATUS_LABELS,
    "exemptions": EXEMPTION_STATUS_LABELS,
    "review_panels": PANEL_STATUS_LABELS,
    "listing_changes": CHANGE_STATUS_LABELS,
    # A role change records roles (the sysadmin flag reads as a role there).
    "users": {**{r: r.label for r in UserRole}, "sysadmin": "系统管理员"},
}
# Actions whose states are not their object's (a member answers on a proposal).
STATES_BY_ACTION: dict[str, dict] = {
    "consortium_confirmed": MEMBER_STATUS_LABELS,
    "consortium_declined": MEMBER_STATUS_LABELS,
}


def state_label(
    state: str | None, object_type: str | None = None, action: str = ""
) -> str:
    """A recorded state in Chinese: by its action, else its object, else any enum."""
    if not state:
        return ""
    labels = STATES_BY_ACTION.get(action) or STATES_BY_OBJECT.get(object_type or "")
    if labels and state in labels:
        return labels[state]
    for labels in STATES_BY_OBJECT.values():
        if state in labels:
            return labels[state]
    return state

# Actions of the features that keep no timeline of their own (account, org,
# expert, panel, deal, integrity and import verbs).
AUDIT_ACTION_LABELS = {
    "login": "登录",
    "logout": "退出登录",
    "login_failed": "登录失败",
    "login_locked": "登录已锁定",
    "login_unlocked": "解除登录锁定",
    "login_refused_unconfirmed": "邮箱未确认，拒绝登录",
    "email_confirmed": "确认邮箱",
    "password_changed": "修改密码",
    "password_reset_requested": "申请重置密码",
    "password_reset_repeated": "重复申请重置密码",
    "password_reset_unknown": "未知邮箱申请重置密码",
    "signup_email_taken": "以已注册邮箱注册",
    "user_created": "创建账号",
    "mail_preference_changed": "修改邮件提醒设置",
    "member_invited": "邀请成员",
    "member_activated": "启用成员",
    "member_deactivated": "停用成员",
    "member_role_changed": "变更成员角色",
    "org_created": "注册机构",
    "org_updated": "修改机构信息",
    "org_verified": "机构认证通过",
    "org_refused": "机构认证未通过",
    "org_resubmitted": "重新提交机构认证",
    "org_certifications_set": "设置机构资质",
    "expert_added": "新增专家",
    "expert_updated": "修改专家信息",
    "expert_retired": "专家退出专家库",
    "expert_reinstated": "专家重新入库",
    "experts_imported": "导入专家",
    "panel_formed": "组建评审专家组",
    "panel_member_replaced": "更换评审专家",
    "panel_scores_submitted": "提交评分",
    "panel_opinion_submitted": "提交评审意见",
    "deal_opened": "开启撮合项目",
    # Accepted adoptions wrote this before every opening became deal_opened;
    # kept so older rows still read in words.
    "deal_created": "创建撮合项目",
    "deal_stage": "撮合项目阶段变更",
    "deal_note": "撮合项目备注",
    "deal_broker": "变更撮合经纪人",
    "deal_signed": "撮合项目签约",
    "integrity_recorded": "记录失信行为",
    "integrity_revoked": "撤销失信记录",
    "unmet_demand_drafted": "由未满足需求起草技术需求",
    "unmet_demand_taken": "认领未满足需求",
    "contracts_imported": "导入技术合同",
    "challenges_imported": "导入技术需求",
    "results_imported": "导入科技成果",
    "seed_demo": "生成演示数据",
}


# (rank, labels) registered by the features that write audit events; where two
# name the same action the lower rank wins (the admin log's words before a
# timeline's). Registered at import, so the glossary imports no feature.
_ACTION_SOURCES: list[tuple[int, dict[str, str]]] = []
_MERGED: dict[str, dict[str, str]] = {}


def register_action_labels(labels: dict[str, str], rank: int) -> None:
    """Add a feature's audit action labels to the registry."""
    _ACTION_SOURCES.append((rank, labels))
    _MERGED.clear()


def action_labels() -> dict[str, str]:
    """Every audit action's label, gathered from the features that write them."""
    if "all" not in _MERGED:
        merged: dict[str, str] = dict(AUDIT_ACTION_LABELS)
        for _, source in sorted(_ACTION_SOURCES, key=lambda item: item[0]):
            for action, label in source.items():
                merged.setdefault(action, label)
        _MERGED["all"] = merged
    return _MERGED["all"]


def action_label(action: str) -> str:
    """The Chinese label of an audit action (the raw action only if unlabelled)."""
    return action_labels().get(action) or action
