"""The sysadmin's audit-log viewer: filters, paging and a CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Response, render_template, request
from sqlalchemy import or_, select

from marketplace import glossary
from marketplace.admin import bp
from marketplace.date_filters import read_range, within
from marketplace.extensions import db
from marketplace.models import AuditEvent, Organisation, User
from marketplace.money import format_wan
from marketplace.permissions import sysadmin_required
from marketplace.stats import exports
from marketplace.templating import localtime
from marketplace.views import id_arg

PER_PAGE = 50
# A larger log is narrowed with the filters first; the file says it was cut.
CSV_MAX_ROWS = 50_000


class AdminAction(glossary.Action):
    """What the admin area and the contract verbs record; every other feature's
    actions come with that feature."""

    CONTRACT_RECORDED = "contract_recorded", "提交技术合同"
    CONTRACT_REGISTERED = "contract_registered", "科技局登记合同"
    CONTRACT_REJECTED = "contract_rejected", "科技局退回合同"
    PAYMENT_RECORDED = "payment_recorded", "登记收款"
    ADMIN_USER_DEACTIVATED = "admin_user_deactivated", "停用账号"
    ADMIN_USER_REACTIVATED = "admin_user_reactivated", "启用账号"
    ADMIN_SESSIONS_RESET = "admin_sessions_reset", "重置登录会话"
    ADMIN_ROLE_CHANGED = "admin_role_changed", "变更角色"


glossary.register_actions(AdminAction)
OBJECT_LABELS = {
    "users": "用户",
    "organisations": "机构",
    "challenges": "技术需求",
    "results": "科技成果",
    "proposals": "揭榜申报",
    "proposal_members": "联合体成员",
    "listing_changes": "重要修改",
    "deals": "撮合项目",
    "contracts": "技术合同",
    "payments": "合同收付款",
    "experts": "专家",
    "review_panels": "评审专家组",
    "projects": "揭榜项目",
    "milestones": "里程碑",
    "acceptances": "验收",
    "exemptions": "容错免责",
    "integrity_records": "科研诚信记录",
    "message_threads": "消息会话",
    "nda_templates": "保密协议模板",
    "api_tokens": "API 令牌",
    "unmet_demands": "未满足需求",
}


def action_label(action: str) -> str:
    """A Chinese label for an audit action, or its code in readable form."""
    return glossary.action_labels().get(action) or action.replace("_", " ")


def state_label(object_type: str | None, state: str | None) -> str:
    """A recorded state in Chinese where its object's labels are known."""
    if not state:
        return ""
    return glossary.state_label(state, object_type)


def note_text(event: AuditEvent) -> str:
    """The event's note; a payment's amount, stored in fen, reads in 万元."""
    if event.action == "payment_recorded" and event.note.isdigit():
        return format_wan(int(event.note))
    return event.note or ""


def object_label(object_type: str | None) -> str:
    """A Chinese label for an audited table, or its name."""
    if not object_type:
        return ""
    return OBJECT_LABELS.get(object_type) or object_type.replace("_", " ")


@dataclass
class AuditFilters:
    """The viewer's filters as read from the query string."""

    who: str = ""
    user_id: int | None = None
    action: str = ""
    object_type: str = ""
    object_id: int | None = None
    start: date | None = None
    end: date | None = None
    problem: str = ""

    def args(self) -> dict:
        """The filters as query parameters (for links and the export)."""
        values = {
            "who": self.who,
            "user": self.user_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}


def read_filters() -> AuditFilters:
    """Parse the query string; a bad date or range is reported, not guessed."""
    start, end, problem = read_range(request.args)
    return AuditFilters(
        who=request.args.get("who", "").strip()[:100],
        user_id=request.args.get("user", type=id_arg),
        action=request.args.get("action", "").strip()[:40],
        object_type=request.args.get("object_type", "").strip()[:30],
        object_id=request.args.get("object_id", type=id_arg),
        start=start,
        end=end,
        problem=problem,
    )


def audit_query(filters: AuditFilters):
    """Audit events matching the filters, newest first."""
    query = select(AuditEvent)
    if filters.who:
        query = query.outerjoin(User, User.id == AuditEvent.user_id).where(
            or_(
                User.name.contains(filters.who, autoescape=True),
                User.email.contains(filters.who.lower(), autoescape=True),
            )
        )
    if filters.user_id is not None:
        query = query.where(AuditEvent.user_id == filters.user_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditEvent.object_id == filters.object_id)
    query = query.where(*within(AuditEvent.created_at, filters.start, filters.end))
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def with_people(
    events: list[AuditEvent],
) -> list[tuple[AuditEvent, User | None, Organisation | None]]:
    """Each event with its actor and organisation, loaded in two queries."""
    user_ids = {e.user_id for e in events if e.user_id}
    org_ids = {e.org_id for e in events if e.org_id}
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    orgs = {
        o.id: o
        for o in db.session.scalars(
            select(Organisation).where(Organisation.id.in_(org_ids))
        )
    }
    return [(e, users.get(e.user_id), orgs.get(e.org_id)) for e in events]


def _choices(column) -> list[str]:
    return list(
        db.session.scalars(select(column).where(column.is_not(None)).distinct())
    )


@bp.get("/audit")
@sysadmin_required
def audit():
    """The audit log, filtered and paged."""
    filters = read_filters()
    page = rows = None
    if not filters.problem:
        page = db.paginate(audit_query(filters), per_page=PER_PAGE, error_out=False)
        rows = with_people(list(page.items))
    actions = sorted(_choices(AuditEvent.action), key=action_label)
    types = sorted(_choices(AuditEvent.object_type))
    return render_template(
        "admin/audit.html",
        filters=filters,
        page=page,
        rows=rows,
        actions=[(a, action_label(a)) for a in actions],
        object_types=[(t, object_label(t)) for t in types],
        action_label=action_label,
        object_label=object_label,
        state_label=state_label,
        note_text=note_text,
    ), (400 if filters.problem else 200)


CSV_COLUMNS = [
    ("time", "时间"),
    ("actor", "操作人"),
    ("actor_email", "操作人邮箱"),
    ("org", "机构"),
    ("action_label", "操作"),
    ("action", "操作代码"),
    ("object_type", "对象类型"),
    ("object_id", "对象编号"),
    ("from_state", "原状态"),
    ("to_state", "新状态"),
    ("reason_code", "原因代码"),
    ("note", "说明"),
    ("ip", "IP 地址"),
    ("path", "请求路径"),
]


def _csv_row(event: AuditEvent, user: User | None, org: Organisation | None) -> dict:
    return {
        "time": localtime(event.created_at, "%Y-%m-%d %H:%M:%S"),
        "actor": user.name if user else "",
        "actor_email": user.email if user else "",
        "org": org.name if org else "",
        "action_label": action_label(event.action),
        "action": event.action,
        "object_type": object_label(event.object_type),
        "object_id": event.object_id,
        "from_state": state_label(event.object_type, event.from_state),
        "to_state": state_label(event.object_type, event.to_state),
        "reason_code": event.reason_code,
        "note": note_text(event),
        "ip": event.ip,
        "path": event.path,
    }


@bp.get("/audit.csv")
@sysadmin_required
def audit_csv():
    """The filtered audit log as CSV, spreadsheet formulas neutralised."""
    filters = read_filters()
    if filters.problem:
        return Response(filters.problem, status=400, mimetype="text/plain")
    found = list(db.session.scalars(audit_query(filters).limit(CSV_MAX_ROWS + 1)))
    body = [
        [exports._cell(key, row.get(key)) for key, _ in CSV_COLUMNS]
        for row in (_csv_row(*r) for r in with_people(found[:CSV_MAX_ROWS]))
    ]
    if len(found) > CSV_MAX_ROWS:
        body.append([f"（仅导出前 {CSV_MAX_ROWS} 条，请缩小筛选范围）"])
    data = exports.to_csv([label for _, label in CSV_COLUMNS], body)
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit_log.csv"'},
    )
