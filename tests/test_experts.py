"""The expert pool (专家库): adding, editing, retiring, listing and bulk import."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from marketplace.exceptions import ServiceError
from marketplace.experts import services
from marketplace.models import (
    AuditEvent,
    ExpertProfile,
    Notification,
    OrgKind,
    User,
)

PASSWORD = "Expert2026x"


# --- builders ------------------------------------------------------------------


def count(db, model, *where) -> int:
    """Rows of a model, fresh from the database."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def expert_form(**overrides) -> dict:
    data = {
        "email": "",
        "name": "",
        "affiliation": "",
        "password": "",
        "title": "教授",
        "fields": ["environment", "new_materials"],
        "specialities": "污水生物处理",
        "contact_phone": "0396-1234567",
        "contact_email": "",
    }
    data.update(overrides)
    return data


def make_expert(db, user, **fields) -> int:
    """A committed profile for an existing user; returns its id."""
    values = {"title": "研究员", "field_codes": ["environment"], "active": True}
    values.update(fields)
    expert = ExpertProfile(user_id=user.id, org_id=user.org_id, **values)
    db.session.add(expert)
    db.session.commit()
    return expert.id


@pytest.fixture
def university(factory):
    return factory.org(OrgKind.UNIVERSITY, name="黄淮学院")


@pytest.fixture
def professor(factory, university):
    return factory.user(university, email="prof@huanghuai.edu.cn")


# --- adding ----------------------------------------------------------------------


def test_add_existing_user(bureau_client, professor, university, db):
    response = bureau_client.post(
        "/experts/new", data=expert_form(email="PROF@huanghuai.edu.cn")
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    expert = db.session.scalar(select(ExpertProfile))
    assert expert.user_id == professor.id and expert.org_id == university.id
    assert expert.field_codes == ["environment", "new_materials"]
    assert (expert.title, expert.specialities) == ("教授", "污水生物处理")
    assert expert.contact_email == professor.email  # defaults to the login
    assert expert.active and expert.retired_at is None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "expert_added")
    )
    assert event.object_id == expert.id and event.user_id == bureau_client.user.id
    assert count(db, Notification, Notification.user_id == professor.id) == 1


def test_add_new_account_by_credit_code_and_log_in(
    bureau_client, university, client, db
):
    response = bureau_client.post(
        "/experts/new",
        data=expert_form(
            email="new.expert@example.cn",
            name="李专家",
            affiliation=university.credit_code.lower(),
            password=PASSWORD,
            contact_email="li@example.cn",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    user = db.session.scalar(select(User).where(User.email == "new.expert@example.cn"))
    assert user.org_id == university.id and user.name == "李专家"
    expert = db.session.scalar(select(ExpertProfile))
    assert expert.user_id == user.id and expert.contact_email == "li@example.cn"
    notes = db.session.scalars(
        select(Notification.message).where(Notification.user_id == user.id)
    ).all()
    assert len(notes) == 1 and "修改初始密码" in notes[0]
    response = client.post(
        "/auth/login", data={"email": "new.expert@example.cn", "password": PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "请输入有效的邮箱地址"),
        ({"email": ""}, "请填写登录邮箱"),
        ({"fields": []}, "请至少选择一个技术领域"),
        ({"fields": ["astrology"]}, "技术领域无效：astrology"),
        ({"title": "x" * 41}, "40"),
        ({"contact_email": "bad"}, "请输入有效的邮箱地址"),
        ({"name": ""}, "新建账号需要填写姓名"),
        ({"affiliation": ""}, "请填写所属机构"),
        ({"affiliation": "没有这个机构"}, "找不到机构"),
        ({"password": ""}, "密码长度应为"),
        ({"password": "onlyletters"}, "密码需同时包含字母和数字"),
        ({"password": "Expert2026"}, "常见或已泄露"),
    ],
)
def test_bad_input_refused_nothing_created(
    bureau_client, university, db, overrides, message
):
    data = expert_form(
        email="fresh@example.cn",
        name="王专家",
        affiliation=university.name,
        password=PASSWORD,
    )
    data.update(overrides)
    users = count(db, User)
    response = bureau_client.post("/experts/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(db, ExpertProfile) == 0
    assert count(db, User) == users
    assert count(db, AuditEvent, AuditEvent.action == "expert_added") == 0


def test_new_account_refused_in_unverified_or_bureau_org(bureau_client, factory, db):
    pending = factory.org(OrgKind.INSTITUTE, verified=False, name="待审研究所")
    users = count(db, User)
    for org_name, message in (
        (pending.name, "尚未通过科技局审核"),
        (bureau_client.org.name, "科技局工作人员不能入选专家库"),
    ):
        response = bureau_client.post(
            "/experts/new",
            data=expert_form(
                email="x@example.cn",
                name="某人",
                affiliation=org_name,
                password=PASSWORD,
            ),
        )
        assert message in response.get_data(as_text=True)
    # An existing bureau user cannot be admitted either.
    response = bureau_client.post(
        "/experts/new", data=expert_form(email=bureau_client.user.email)
    )
    assert "科技局工作人员不能入选专家库" in response.get_data(as_text=True)
    assert count(db, User) == users and count(db, ExpertProfile) == 0


def test_existing_user_with_other_affiliation_or_profile_refused(
    bureau_client, professor, factory, db
):
    other = factory.org(OrgKind.INSTITUTE, name="另一研究所")
    response = bureau_client.post(
        "/experts/new", data=expert_form(email=professor.email, affiliation=other.name)
    )
    assert "与填写的所属机构不符" in response.get_data(as_text=True)
    assert count(db, ExpertProfile) == 0
    make_expert(db, db.session.get(User, professor.id), active=False)
    response = bureau_client.post(
        "/experts/new", data=expert_form(email=professor.email)
    )
    assert "已退出专家库，可恢复入库" in response.get_data(as_text=True)
    assert count(db, ExpertProfile) == 1


def test_service_refuses_non_bureau(db, professor):
    user = db.session.get(User, professor.id)
    with pytest.raises(ServiceError, match="只有科技局"):
        services.add_expert(
            user, user.email, services.ExpertData(field_codes=["environment"])
        )


# --- editing, retiring -------------------------------------------------------------


def test_edit_profile(bureau_client, professor, db):
    expert_id = make_expert(db, db.session.get(User, professor.id))
    page = bureau_client.get(f"/experts/{expert_id}/edit").get_data(as_text=True)
    assert 'value="研究员"' in page
    response = bureau_client.post(
        f"/experts/{expert_id}/edit",
        data=expert_form(title="二级教授", fields=["agriculture"]),
    )
    assert response.status_code == 302
    db.session.expire_all()
    expert = db.session.get(ExpertProfile, expert_id)
    assert (expert.title, expert.field_codes) == ("二级教授", ["agriculture"])
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "expert_updated")
    )
    assert "title" in event.note and "field_codes" in event.note
    # Bad input changes nothing.
    response = bureau_client.post(
        f"/experts/{expert_id}/edit", data=expert_form(fields=[], title="改坏")
    )
    assert "请至少选择一个技术领域" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ExpertProfile, expert_id).title == "二级教授"


def test_retire_and_reinstate(bureau_client, professor, db):
    expert_id = make_expert(db, db.session.get(User, professor.id))
    response = bureau_client.post(f"/experts/{expert_id}/retire", follow_redirects=True)
    assert "该专家已退出专家库" in response.get_data(as_text=True)
    db.session.expire_all()
    expert = db.session.get(ExpertProfile, expert_id)
    assert not expert.active and expert.retired_at is not None
    response = bureau_client.post(f"/experts/{expert_id}/retire", follow_redirects=True)
    assert "该专家已退出专家库。" in response.get_data(as_text=True)
    assert count(db, AuditEvent, AuditEvent.action == "expert_retired") == 1
    response = bureau_client.post(
        f"/experts/{expert_id}/reinstate", follow_redirects=True
    )
    assert "该专家已恢复入库" in response.get_data(as_text=True)
    db.session.expire_all()
    expert = db.session.get(ExpertProfile, expert_id)
    assert expert.active and expert.retired_at is None
    response = bureau_client.post(
        f"/experts/{expert_id}/reinstate", follow_redirects=True
    )
    assert "无需恢复" in response.get_data(as_text=True)
    assert count(db, AuditEvent, AuditEvent.action == "expert_reinstated") == 1


def test_deactivated_user_cannot_be_reinstated(bureau_client, professor, db):
    user = db.session.get(User, professor.id)
    expert_id = make_expert(db, user, active=False)
    db.session.get(User, professor.id).active = False
    db.session.commit()
    response = bureau_client.post(
        f"/experts/{expert_id}/reinstate", follow_redirects=True
    )
    assert "已停用" in response.get_data(as_text=True)
    assert not db.session.get(ExpertProfile, expert_id).active


# --- access and listing --------------------------------------------------------------


def test_access_denied_to_anonymous_and_non_bureau(
    client, enterprise_client, university_client, professor, db
):
    expert_id = make_expert(db, db.session.get(User, professor.id))
    gets = ["/experts/", "/experts/new", f"/experts/{expert_id}/edit"]
    posts = [
        ("/experts/new", expert_form(email=enterprise_client.user.email)),
        (f"/experts/{expert_id}/edit", expert_form(title="篡改")),
        (f"/experts/{expert_id}/retire", {}),
        (f"/experts/{expert_id}/reinstate", {}),
    ]
    for url in gets:
        assert "/auth/login" in client.get(url).location
    for url, data in posts:
        assert "/auth/login" in client.post(url, data=data).location
    # The professor's own organisation is no different from any other.
    own = university_client
    for who in (enterprise_client, own):
        for url in gets:
            assert who.get(url).status_code == 403
        for url, data in posts:
            assert who.post(url, data=data).status_code == 403
    db.session.expire_all()
    expert = db.session.get(ExpertProfile, expert_id)
    assert expert.active and expert.title == "研究员"
    assert count(db, ExpertProfile) == 1


def test_unknown_expert_is_404(bureau_client):
    assert bureau_client.get("/experts/999999/edit").status_code == 404
    assert bureau_client.post("/experts/999999/retire").status_code == 404


def test_list_filters(bureau_client, factory, db):
    lab = factory.org(OrgKind.INSTITUTE, name="天中农科院")
    firm = factory.org(OrgKind.ENTERPRISE, name="驿城新能源公司")
    farmer = factory.user(lab, email="farm@example.cn")
    energy = factory.user(firm, email="energy@example.cn")
    make_expert(db, db.session.get(User, farmer.id), field_codes=["agriculture"])
    make_expert(
        db,
        db.session.get(User, energy.id),
        field_codes=["new_energy", "new_materials"],
        active=False,
    )

    def shown(query: str) -> set[str]:
        page = bureau_client.get(f"/experts/?{query}").get_data(as_text=True)
        return {e for e in ("farm@", "energy@") if e in page}

    assert shown("") == {"farm@", "energy@"}
    assert shown("field=agriculture") == {"farm@"}
    assert shown("field=new_materials") == {"energy@"}
    assert shown("field=new") == {"farm@", "energy@"}  # unknown code: no filter
    assert shown("state=active") == {"farm@"}
    assert shown("state=retired") == {"energy@"}
    assert shown("q=农科") == {"farm@"}
    assert shown("q=ENERGY") == {"energy@"}
    assert shown("q=%25") == set()  # a LIKE wildcard is taken literally


def test_list_paginates(bureau_client, factory, db):
    org = factory.org(OrgKind.UNIVERSITY)
    for number in range(32):
        user = factory.user(org, email=f"p{number:02d}@example.cn")
        make_expert(db, db.session.get(User, user.id))
    first = bureau_client.get("/experts/").get_data(as_text=True)
    second = bureau_client.get("/experts/?page=2").get_data(as_text=True)
    assert "p00@" in first and "p31@" not in first
    assert "p31@" in second and "第 2 / 2 页" in second


# --- bulk import -------------------------------------------------------------------

HEADER = ["email", "name", "title", "affiliation", "fields", "specialities", "phone"]


def write_csv(path, rows, header=HEADER):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def good_rows(professor, university):
    return [
        [professor.email, "", "教授", "", "环保与资源综合利用、新材料", "膜分离", ""],
        [
            "zhao@example.cn",
            "赵研究员",
            "研究员",
            university.credit_code,
            "agriculture",
            "小麦育种",
            "13800000000",
        ],
    ]


def run(runner, path, *extra):
    return runner.invoke(args=["import-experts", str(path), *extra])


def test_import_csv_and_again_without_duplicates(
    runner, db, professor, university, tmp_path
):
    path = write_csv(tmp_path / "e.csv", good_rows(professor, university))
    result = run(runner, path, "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert "新增专家 2 位，更新 0 位，新建账号 1 个" in result.output
    zhao = db.session.scalar(select(User).where(User.email == "zhao@example.cn"))
    assert zhao.org_id == university.id and zhao.name == "赵研究员"
    experts = db.session.scalars(select(ExpertProfile).order_by(ExpertProfile.id))
    first, second = experts.all()
    assert first.field_codes == ["environment", "new_materials"]
    assert second.contact_phone == "13800000000" and second.user_id == zhao.id
    assert count(db, AuditEvent, AuditEvent.action == "experts_imported") == 1
    # The same file again updates the two profiles and adds nobody.
    result = run(runner, path, "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert "新增专家 0 位，更新 2 位，新建账号 0 个" in result.output
    assert count(db, ExpertProfile) == 2
    assert count(db, User, User.email == "zhao@example.cn") == 1


def test_import_bad_rows_store_nothing(runner, db, professor, university, tmp_path):
    rows = good_rows(professor, university)
    rows += [
        ["bad-email", "某", "", university.name, "农业", "", ""],
        ["who@example.cn", "某", "", "不存在的单位", "农业", "", ""],
        ["what@example.cn", "某", "", university.name, "占星术", "", ""],
        ["ZHAO@example.cn", "赵", "", university.name, "农业", "", ""],
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    users = count(db, User)
    result = run(runner, path, "--password", PASSWORD)
    assert result.exit_code != 0
    assert "文件中有 4 处错误，未导入任何数据" in result.output
    assert "第 4 行: 邮箱格式不正确" in result.output
    assert "第 5 行: 找不到机构：不存在的单位" in result.output
    assert "第 6 行: 技术领域无效：占星术" in result.output
    assert "第 7 行: 邮箱与第 3 行重复" in result.output
    assert count(db, ExpertProfile) == 0 and count(db, User) == users
    assert count(db, AuditEvent, AuditEvent.action == "experts_imported") == 0


def test_import_needs_password_for_new_accounts(
    runner, db, professor, university, tmp_path
):
    path = write_csv(tmp_path / "e.csv", good_rows(professor, university))
    result = run(runner, path)
    assert result.exit_code != 0
    assert "第 3 行: 没有该邮箱的账号：请用 --password" in result.output
    result = run(runner, path, "--password", "short")
    assert "初始密码不符合要求" in result.output
    assert count(db, ExpertProfile) == 0


def test_import_xlsx_with_chinese_headers(runner, db, professor, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["邮箱", "姓名", "职称", "所属机构", "技术领域", "专业特长", "联系电话"]
    )
    sheet.append([professor.email, "", "教授", "黄淮学院", "农业", "", 13900000000])
    book.save(tmp_path / "e.xlsx")
    result = run(runner, tmp_path / "e.xlsx")
    assert result.exit_code == 0, result.output
    expert = db.session.scalar(select(ExpertProfile))
    assert expert.field_codes == ["agriculture"]
    assert expert.contact_phone == "13900000000"


def test_import_refuses_other_formats(runner, tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("email\n", encoding="utf-8")
    result = run(runner, path)
    assert result.exit_code != 0 and "只能导入 .csv 或 .xlsx 文件" in result.output
