"""One glossary: the Chinese words for recorded states and audit actions.

The state words live with their enums (`Enum.label`); this module only says
which enum an audit event's from/to states belong to, and gathers the audit
action labels the feature modules define into one registry that every timeline
and the admin log read.
"""

from __future__ import annotations

from marketplace.models.base import LabelledEnum
from marketplace.models.contract import CONTRACT_STATUS_LABELS
from marketplace.models.deal import STAGE_LABELS
from marketplace.models.expert import PANEL_STATUS_LABELS
from marketplace.models.listing import CHALLENGE_STATUS_LABELS, RESULT_STATUS_LABELS
from marketplace.models.listing_change import CHANGE_STATUS_LABELS
from marketplace.models.org import VERIFICATION_LABELS
from marketplace.models.project import (
    CONCLUSION_LABELS,
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
    "organisations": VERIFICATION_LABELS,
    # A concluded check records the panel's conclusion.
    "acceptances": CONCLUSION_LABELS,
    # A role change records roles (the sysadmin flag reads as a role there).
    "users": {**{r: r.label for r in UserRole}, "sysadmin": "系统管理员"},
}
# Actions whose states are not their object's (a member answers on a proposal).
STATES_BY_ACTION: dict[str, dict] = {
    "consortium_confirmed": MEMBER_STATUS_LABELS,
    "consortium_declined": MEMBER_STATUS_LABELS,
}


def register_states(labels: dict, object_type: str = "", action: str = "") -> None:
    """Name the states a feature records for its table, or for one of its actions."""
    target = STATES_BY_ACTION if action else STATES_BY_OBJECT
    target.setdefault(action or object_type, {}).update(labels)


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


class Action(LabelledEnum):
    """An audit action: its value is what events record, its label what pages show.

    A feature defines its actions as a subclass, `NAME = "value", "标签"`, and
    registers the class with `register_actions`.
    """


class GeneralAction(Action):
    """Actions of the features with no timeline: account, org, expert, panel, deal,
    integrity, import."""

    LOGIN = "login", "登录"
    LOGOUT = "logout", "退出登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOGIN_LOCKED = "login_locked", "登录已锁定"
    LOGIN_UNLOCKED = "login_unlocked", "解除登录锁定"
    LOGIN_REFUSED_LOCKED = "login_refused_locked", "登录已锁定，拒绝登录"
    DENIED = "denied", "拒绝访问"
    LOGIN_REFUSED_UNCONFIRMED = "login_refused_unconfirmed", "邮箱未确认，拒绝登录"
    EMAIL_CONFIRMED = "email_confirmed", "确认邮箱"
    PASSWORD_RESET = "password_reset", "通过邮件链接重置密码"
    INVITATION_ACCEPTED = "invitation_accepted", "接受邀请并设置密码"
    PASSWORD_CHANGED = "password_changed", "修改密码"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "申请重置密码"
    PASSWORD_RESET_REPEATED = "password_reset_repeated", "重复申请重置密码"
    PASSWORD_RESET_UNKNOWN = "password_reset_unknown", "未知邮箱申请重置密码"
    SIGNUP_EMAIL_TAKEN = "signup_email_taken", "以已注册邮箱注册"
    USER_CREATED = "user_created", "创建账号"
    TOKEN_CREATED = "token.create", "创建 API 令牌"
    TOKEN_REVOKED = "token.revoke", "撤销 API 令牌"
    MAIL_PREFERENCE_CHANGED = "mail_preference_changed", "修改邮件提醒设置"
    MEMBER_INVITED = "member_invited", "邀请成员"
    MEMBER_ACTIVATED = "member_activated", "启用成员"
    MEMBER_DEACTIVATED = "member_deactivated", "停用成员"
    MEMBER_ROLE_CHANGED = "member_role_changed", "变更成员角色"
    ORG_CREATED = "org_created", "注册机构"
    ORG_UPDATED = "org_updated", "修改机构信息"
    ORG_VERIFIED = "org_verified", "机构认证通过"
    ORG_REFUSED = "org_refused", "机构认证未通过"
    ORG_RESUBMITTED = "org_resubmitted", "重新提交机构认证"
    ORG_CERTIFICATIONS_SET = "org_certifications_set", "设置机构资质"
    EXPERT_ADDED = "expert_added", "新增专家"
    EXPERT_UPDATED = "expert_updated", "修改专家信息"
    EXPERT_RETIRED = "expert_retired", "专家退出专家库"
    EXPERT_REINSTATED = "expert_reinstated", "专家重新入库"
    EXPERTS_IMPORTED = "experts_imported", "导入专家"
    PANEL_FORMED = "panel_formed", "组建评审专家组"
    PANEL_COMPLETED = "panel_completed", "评审专家组完成评审"
    PANEL_MEMBER_REPLACED = "panel_member_replaced", "更换评审专家"
    PANEL_SCORES_SUBMITTED = "panel_scores_submitted", "提交评分"
    PANEL_OPINION_SUBMITTED = "panel_opinion_submitted", "提交评审意见"
    # Accepted adoptions wrote this before every opening became deal_opened;
    # kept so older rows still read in words.
    DEAL_CREATED = "deal_created", "创建撮合项目"
    DEAL_STAGE = "deal_stage", "撮合项目阶段变更"
    DEAL_NOTE = "deal_note", "撮合项目备注"
    DEAL_BROKER = "deal_broker", "变更撮合经纪人"
    DEAL_SIGNED = "deal_signed", "撮合项目签约"
    INTEGRITY_RECORDED = "integrity_recorded", "记录失信行为"
    INTEGRITY_REVOKED = "integrity_revoked", "撤销失信记录"
    UNMET_DEMAND_DRAFTED = "unmet_demand_drafted", "由未满足需求起草技术需求"
    UNMET_DEMAND_TAKEN = "unmet_demand_taken", "认领未满足需求"
    CONTRACTS_IMPORTED = "contracts_imported", "导入技术合同"
    CHALLENGES_IMPORTED = "challenges_imported", "导入技术需求"
    RESULTS_IMPORTED = "results_imported", "导入科技成果"
    SEED_DEMO = "seed_demo", "生成演示数据"


# Every registered enum; each action value is defined by exactly one of them.
_ACTIONS: list[type[Action]] = []
_MERGED: dict[str, dict[str, str]] = {}


def register_actions(actions: type[Action]) -> None:
    """Add a feature's action enum to the registry (once; no value defined twice)."""
    if actions in _ACTIONS:
        return
    known = action_labels()
    taken = sorted(a.value for a in actions if a.value in known)
    if taken:
        raise ValueError(f"{actions.__name__} defines actions already defined: {taken}")
    _ACTIONS.append(actions)
    _MERGED.clear()


def labels(*sources: type[Action] | Action) -> dict[str, str]:
    """Action value -> label of these enums (every member) or single members."""
    found: dict[str, str] = {}
    for source in sources:
        members = [source] if isinstance(source, Action) else list(source)
        found.update((m.value, m.label) for m in members)
    return found


def action_labels() -> dict[str, str]:
    """Every audit action's label, gathered from the features' registered enums."""
    if "all" not in _MERGED:
        _MERGED["all"] = labels(*_ACTIONS)
    return _MERGED["all"]


def is_action(action: str) -> bool:
    """Whether a registered enum defines the action."""
    return str(action) in action_labels()


def action_label(action: str) -> str:
    """The Chinese label of an audit action (the raw action only if unlabelled)."""
    return action_labels().get(action) or action


register_actions(GeneralAction)
