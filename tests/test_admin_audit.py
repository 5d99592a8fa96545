"""The sysadmin's audit-log viewer: filters, labels, paging and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from marketplace.admin import audit_log
from marketplace.models import AuditEvent


def text(response) -> str:
    return response.get_data(as_text=True)


def table(response) -> str:
    """The log's table alone (the filter's options name every action too)."""
    page = text(response)
    if 'id="audit-log"' not in page:
        return ""
    return page.split('id="audit-log"', 1)[1].split("</table>", 1)[0]


@pytest.fixture
def logged(db, factory, sysadmin_client):
    """Four events by two people on two days (Asia/Shanghai dates)."""
    org = factory.org(name="审计企业")
    alice = factory.user(org, email="alice-audit@example.cn")
    bob = factory.user(org, email="bob-audit@example.cn")

    def add(user, action, kind, obj, when, note="", **extra):
        db.session.add(
            AuditEvent(
                user_id=user.id,
                org_id=org.id,
                action=action,
                object_type=kind,
                object_id=obj,
                note=note,
                created_at=when,
                **extra,
            )
        )

    # 2026-03-01 23:30 UTC is already 2 March in Shanghai.
    add(alice, "deal_opened", "deals", 7, datetime(2026, 3, 1, 2, tzinfo=UTC))
    add(
        alice,
        "milestone_accepted",
        "milestones",
        9,
        datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        note='=HYPERLINK("http://evil")',
    )
    add(
        bob,
        "admin_role_changed",
        "users",
        alice.id,
        datetime(2026, 3, 5, 4, tzinfo=UTC),
        from_state="member",
        to_state="org_admin",
        note="接任",
    )
    add(bob, "deal_stage", "deals", 7, datetime(2026, 3, 6, 4, tzinfo=UTC))
    db.session.commit()
    return {"alice": alice, "bob": bob, "client": sysadmin_client}


def rows_of(response) -> list[list[str]]:
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_filters_by_who_action_object_and_dates(logged):
    client = logged["client"]
    page = table(client.get("/admin/audit?who=alice-audit"))
    assert "里程碑验收通过" in page and "开启撮合项目" in page
    assert "变更角色" not in page
    by_action = table(client.get("/admin/audit?action=admin_role_changed"))
    assert (
        "变更角色" in by_action
        and "接任" in by_action
        and "开启撮合项目" not in by_action
    )
    by_object = table(client.get("/admin/audit?object_type=deals&object_id=7"))
    assert "开启撮合项目" in by_object and "撮合项目阶段变更" in by_object
    assert "里程碑验收通过" not in by_object
    # Local days: the 23:30 UTC event belongs to 2 March.
    day = table(client.get("/admin/audit?start=2026-03-02&end=2026-03-05"))
    assert "里程碑验收通过" in day and "变更角色" in day
    assert "开启撮合项目" not in day and "撮合项目阶段变更" not in day
    by_user = table(client.get(f"/admin/audit?user={logged['bob'].id}"))
    assert "变更角色" in by_user and "里程碑验收通过" not in by_user


def test_a_bad_date_or_range_is_said_not_guessed(logged):
    client = logged["client"]
    bad = client.get("/admin/audit?start=2026-13-01")
    assert bad.status_code == 400 and "日期格式" in text(bad)
    backwards = client.get("/admin/audit?start=2026-03-06&end=2026-03-01")
    assert backwards.status_code == 400 and "开始日期不能晚于结束日期" in text(
        backwards
    )
    assert client.get("/admin/audit.csv?start=nope").status_code == 400


def test_the_log_is_paged_newest_first(logged, monkeypatch):
    monkeypatch.setattr(audit_log, "PER_PAGE", 2)
    client = logged["client"]
    first, second = (client.get(f"/admin/audit?who=audit&page={n}") for n in (1, 2))
    assert "撮合项目阶段变更" in table(first) and "变更角色" in table(first)
    assert "开启撮合项目" in table(second) and "里程碑验收通过" in table(second)
    assert "第 1 / 2 页" in text(first) and "who=audit" in text(first)


def test_csv_follows_the_filters_and_neutralises_formulas(logged):
    client = logged["client"]
    response = client.get("/admin/audit.csv?who=alice-audit")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header[:5] == ["时间", "操作人", "操作人邮箱", "机构", "操作"]
    assert len(rows) == 2
    accepted = next(r for r in rows if r[5] == "milestone_accepted")
    assert accepted[4] == "里程碑验收通过"
    assert accepted[0] == "2026-03-02 07:30:00"
    assert accepted[header.index("说明")] == '\'=HYPERLINK("http://evil")'
    assert accepted[header.index("操作人邮箱")] == "alice-audit@example.cn"
    role = rows_of(client.get("/admin/audit.csv?action=admin_role_changed"))[1]
    assert role[4] == "变更角色" and role[header.index("对象类型")] == "用户"
    assert (role[header.index("原状态")], role[header.index("新状态")]) == (
        "成员",
        "机构管理员",
    )


def test_admin_actions_show_in_the_viewer(db, factory, sysadmin_client):
    user = factory.user(factory.org(), email="shown@example.cn")
    sysadmin_client.post(
        f"/admin/users/{user.id}/deactivate", data={"reason": "合同到期"}
    )
    query = f"object_type=users&object_id={user.id}"
    page = table(sysadmin_client.get(f"/admin/audit?{query}"))
    assert "停用账号" in page and "合同到期" in page
    assert sysadmin_client.user.email in page or "测试用户" in page


def test_contract_events_read_in_chinese(db, factory, sysadmin_client):
    """Registrations, payments and corrections: labels, states and 万元, no codes."""
    bureau = factory.user(factory.org(name="审计科技局"))
    for action, before, after, note in (
        ("contract_registered", "submitted", "registered", "20264117020001"),
        ("payment_recorded", None, None, "30000000"),
        ("contract_corrected", None, None, "合同成交额：50.00 万元 → 80.00 万元"),
        ("contract_cancelled", "registered", "cancelled", "双方解除"),
    ):
        db.session.add(
            AuditEvent(
                user_id=bureau.id,
                action=action,
                object_type="contracts",
                object_id=3,
                from_state=before,
                to_state=after,
                note=note,
            )
        )
    db.session.commit()
    page = table(sysadmin_client.get("/admin/audit"))
    for words in ("科技局登记合同", "登记收款", "科技局更正合同", "科技局注销合同登记",
                  "待登记 → 已登记", "已登记 → 已注销", "30.00 万元"):  # fmt: skip
        assert words in page, words
    for code in ("contract registered", "payment recorded", "30000000", "submitted"):
        assert code not in page, code
    rows = rows_of(sysadmin_client.get("/admin/audit.csv?action=payment_recorded"))
    assert rows[1][4] == "登记收款" and rows[1][-3] == "30.00 万元"
