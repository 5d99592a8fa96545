"""The `flask` commands: load-reference, create-org, create-user and seed-demo."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, or_, select

from marketplace import demo, reference
from marketplace.creditcode import ALPHABET, make_credit_code
from marketplace.demo import delivery as demo_delivery
from marketplace.extensions import db as _db
from marketplace.models import (
    AuditEvent,
    Contract,
    ContractStatus,
    Deal,
    DealEvent,
    Organisation,
    OrgKind,
    Payment,
    Proposal,
    Result,
    ResultStatus,
    SearchOutbox,
    User,
    UserRole,
    VerificationStatus,
)
from marketplace.reference import DEFAULT_FIELDS

GOOD_PASSWORD = "Abcd-1234-zmd"


def counts(app) -> dict[str, int]:
    """Rows per table that the commands write."""
    with app.app_context():
        return {
            name: _db.session.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("orgs", Organisation),
                ("users", User),
                ("results", Result),
                ("outbox", SearchOutbox),
            )
        }


def get_org(app, name: str) -> Organisation | None:
    with app.app_context():
        org = _db.session.scalar(select(Organisation).where(Organisation.name == name))
        if org is not None:
            _db.session.expunge(org)
        return org


def get_user(app, email: str) -> User | None:
    with app.app_context():
        user = _db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            _db.session.expunge(user)
        return user


def can_log_in(app, email: str, password: str) -> bool:
    response = app.test_client().post(
        "/auth/login", data={"email": email, "password": password}
    )
    return response.status_code == 302


def with_bad_check_character(code: str) -> str:
    wrong = next(c for c in ALPHABET if c != code[-1])
    return code[:17] + wrong


# --- load-reference --------------------------------------------------------


def test_load_reference_is_idempotent(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["load-reference"])
        assert result.exit_code == 0, result.output
        assert "14 个县区" in result.output
        assert "11 个技术领域" in result.output


@pytest.mark.parametrize(
    "content",
    [
        "not json {",
        json.dumps({"regions": []}),
        json.dumps({"regions": [{"code": "411702"}]}),
        json.dumps({"regions": [{"code": "1", "name": "某区", "kind": "planet"}]}),
    ],
)
def test_load_reference_bad_regions_file_fails(app, runner, tmp_path, content):
    path = tmp_path / "regions.json"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["load-reference", "--regions", str(path)])
    assert result.exit_code != 0
    assert "参考数据加载失败" in result.output


def test_load_reference_missing_file_fails(app, runner, tmp_path):
    result = runner.invoke(
        args=["load-reference", "--regions", str(tmp_path / "missing.json")]
    )
    assert result.exit_code != 0


# --- create-org ------------------------------------------------------------


def test_create_org(app, runner):
    code = make_credit_code("411721", 4242)
    result = runner.invoke(
        args=[
            "create-org",
            "西平县测试食品有限公司",
            "--kind",
            "enterprise",
            "--credit-code",
            code.lower(),
            "--region",
            "西平县",
            "--verified",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "已创建机构" in result.output
    org = get_org(app, "西平县测试食品有限公司")
    assert org.kind == OrgKind.ENTERPRISE
    assert org.credit_code == code
    assert org.region_code == "411721"
    assert org.verified
    assert org.verification_status == VerificationStatus.VERIFIED


def test_create_org_defaults(app, runner):
    result = runner.invoke(args=["create-org", "某研究所", "--kind", "institute"])
    assert result.exit_code == 0, result.output
    org = get_org(app, "某研究所")
    assert org.region_code == "411702"
    assert org.credit_code is None
    assert not org.verified
    assert org.verification_status == VerificationStatus.PENDING


def test_create_org_region_by_code(app, runner):
    result = runner.invoke(
        args=[
            "create-org",
            "开发区某公司",
            "--kind",
            "enterprise",
            "--region",
            "4117Z2",
        ]
    )
    assert result.exit_code == 0, result.output
    assert get_org(app, "开发区某公司").region_code == "4117Z2"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("bad_check", "校验位不正确"),
        ("duplicate_name", "该机构名称已注册"),
        ("duplicate_code", "该统一社会信用代码已注册"),
        ("unknown_region", "所在县区无效"),
        ("unknown_kind", "Invalid value"),
    ],
)
def test_create_org_refusals(app, runner, factory, case, message):
    existing = factory.org(name="已有机构")
    args = ["create-org", "新机构", "--kind", "enterprise"]
    if case == "bad_check":
        bad = with_bad_check_character(make_credit_code("411702", 5150))
        args += ["--credit-code", bad]
    elif case == "duplicate_name":
        args[1] = "已有机构"
    elif case == "duplicate_code":
        args += ["--credit-code", existing.credit_code]
    elif case == "unknown_region":
        args += ["--region", "火星区"]
    else:
        args[3] = "company"
    before = counts(app)
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert counts(app) == before
    assert get_org(app, "新机构") is None


# --- create-user -----------------------------------------------------------


def test_create_user(app, runner, factory):
    org = factory.org(name="用户所在机构")
    result = runner.invoke(
        args=[
            "create-user",
            "Alice@Example.cn",
            "--org",
            "用户所在机构",
            "--role",
            "org_admin",
            "--password",
            GOOD_PASSWORD,
            "--name",
            "张三",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "警告" not in result.output
    user = get_user(app, "alice@example.cn")
    assert user.org_id == org.id
    assert user.role == UserRole.ORG_ADMIN
    assert user.name == "张三"
    assert not user.is_sysadmin
    assert can_log_in(app, "alice@example.cn", GOOD_PASSWORD)


def test_create_user_by_credit_code(app, runner, factory):
    org = factory.org()
    result = runner.invoke(
        args=[
            "create-user",
            "bob@example.cn",
            "--org",
            org.credit_code.lower(),
            "--password",
            GOOD_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    user = get_user(app, "bob@example.cn")
    assert user.org_id == org.id
    assert user.role == UserRole.MEMBER


def test_create_user_prompts_for_password(app, runner, factory):
    org = factory.org()
    result = runner.invoke(
        args=["create-user", "carol@example.cn", "--org", org.name],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert GOOD_PASSWORD not in result.output  # hidden input is not echoed
    assert can_log_in(app, "carol@example.cn", GOOD_PASSWORD)


def test_create_user_prompt_mismatch_creates_nothing(app, runner, factory):
    org = factory.org()
    result = runner.invoke(
        args=["create-user", "dave@example.cn", "--org", org.name],
        input=f"{GOOD_PASSWORD}\nOther1234\n",
    )
    assert result.exit_code != 0
    assert get_user(app, "dave@example.cn") is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("abc123", "密码长度"),
        ("Abcd1234", "密码长度应为 10–128 位"),
        ("abcdefghij", "字母和数字"),
        ("1234567890", "字母和数字"),
        ("password2026", "常见或已泄露"),
        ("a1" * 65, "密码长度"),
    ],
)
def test_create_user_weak_password_refused(app, runner, factory, password, message):
    org = factory.org()
    before = counts(app)
    result = runner.invoke(
        args=[
            "create-user",
            "weak@example.cn",
            "--org",
            org.name,
            "--password",
            password,
        ]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert counts(app) == before


def test_create_user_weak_prompted_password_refused(app, runner, factory):
    org = factory.org()
    result = runner.invoke(
        args=["create-user", "weak@example.cn", "--org", org.name],
        input="iloveyou2026\niloveyou2026\n",
    )
    assert result.exit_code != 0
    assert "常见或已泄露" in result.output
    assert get_user(app, "weak@example.cn") is None


def test_create_user_unknown_org_refused(app, runner):
    before = counts(app)
    result = runner.invoke(
        args=["create-user", "x@example.cn", "--org", "不存在的机构", "--password", "x"]
    )
    assert result.exit_code != 0
    assert "找不到机构" in result.output
    assert counts(app) == before


def test_create_user_duplicate_email_refused(app, runner, factory):
    org = factory.org()
    factory.user(org, email="taken@example.cn")
    before = counts(app)
    result = runner.invoke(
        args=[
            "create-user",
            "Taken@Example.cn",
            "--org",
            org.name,
            "--password",
            GOOD_PASSWORD,
        ]
    )
    assert result.exit_code != 0
    assert "该邮箱已注册" in result.output
    assert counts(app) == before


def test_create_user_invalid_email_refused(app, runner, factory):
    org = factory.org()
    result = runner.invoke(
        args=["create-user", "not-an-email", "--org", org.name, "--password", "x"]
    )
    assert result.exit_code != 0
    assert "邮箱格式不正确" in result.output


def test_sysadmin_outside_bureau_warns(app, runner, factory):
    org = factory.org(kind=OrgKind.ENTERPRISE)
    result = runner.invoke(
        args=[
            "create-user",
            "ops@example.cn",
            "--org",
            org.name,
            "--sysadmin",
            "--password",
            GOOD_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "警告" in result.output
    assert get_user(app, "ops@example.cn").is_sysadmin


def test_sysadmin_in_bureau_does_not_warn(app, runner, factory):
    org = factory.org(kind=OrgKind.BUREAU)
    result = runner.invoke(
        args=[
            "create-user",
            "root@example.cn",
            "--org",
            org.name,
            "--sysadmin",
            "--password",
            GOOD_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "警告" not in result.output


# --- seed-demo -------------------------------------------------------------

DEMO_CHALLENGES = len(
    json.loads(
        (demo.DATA_DIR / "demo_challenges.json").read_text(
            encoding="utf-8"
        )
    )
)

CATALOGUE = len(demo.read_records(technology=True))


def test_seed_demo_twice_is_idempotent_and_logins_work(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    after_first = counts(app)
    assert after_first == {
        "orgs": len(demo.ORGS),
        "users": len(demo.USERS) + len(demo_delivery.texts()["experts"]),
        # The records of technology disciplines only.
        "results": CATALOGUE,
        # One outbox row per result and per demo challenge.
        "outbox": CATALOGUE + DEMO_CHALLENGES,
    }

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert counts(app) == after_first
    assert "新增科技成果 0 条" in second.output

    for login in demo.USERS:
        assert login.email in second.output
        assert can_log_in(app, login.email, demo.DEMO_PASSWORD), login.email
    assert demo.DEMO_PASSWORD in second.output

    with app.app_context():
        session = _db.session
        assert not session.scalar(
            select(func.count(Result.id)).where(Result.field_id.is_(None))
        )
        # Published, but for the few the demo transferred by a registered contract.
        unpublished = session.execute(
            select(Result.id, Result.status).where(
                Result.status != ResultStatus.PUBLISHED
            )
        ).all()
        assert unpublished
        assert {status for _, status in unpublished} == {ResultStatus.TRANSFERRED}
        contracted = set(
            session.scalars(
                select(Contract.result_id).where(
                    Contract.status == ContractStatus.REGISTERED,
                    Contract.result_id.is_not(None),
                )
            )
        )
        assert {result_id for result_id, _ in unpublished} == contracted
        owner_kinds = set(
            session.scalars(
                select(Organisation.kind).join(Result, Result.org_id == Organisation.id)
            )
        )
        assert owner_kinds == {OrgKind.UNIVERSITY, OrgKind.INSTITUTE}
        outbox_ids = set(
            session.scalars(
                select(SearchOutbox.doc_id).where(SearchOutbox.doc_kind == "result")
            )
        )
        assert outbox_ids == set(session.scalars(select(Result.id)))
        assert (
            session.scalar(
                select(func.count(AuditEvent.id)).where(
                    AuditEvent.action == "seed_demo"
                )
            )
            == 1
        )
        pending = session.scalars(
            select(Organisation.name).where(
                Organisation.verification_status == VerificationStatus.PENDING
            )
        ).all()
        assert len(pending) == 1
        admin = session.scalar(select(User).where(User.email == "admin@demo.zmd.cn"))
        assert admin.is_sysadmin and admin.org.kind == OrgKind.BUREAU
        outside = session.scalar(
            select(Organisation).where(Organisation.region_code == "000000")
        )
        assert outside.kind == OrgKind.INSTITUTE


def test_seed_demo_is_reproducible(app, runner):
    assert runner.invoke(args=["seed-demo", "--limit", "30"]).exit_code == 0
    with app.app_context():
        rows = _db.session.execute(
            select(
                Result.external_id,
                Result.trl,
                Result.price_fen,
                Result.ip_type,
                Result.transfer_modes,
                Result.valid_until,
            ).order_by(Result.external_id)
        ).all()
        # What the demo's applications and transfers hang on the results first.
        deals = select(Deal.id).where(Deal.result_id.is_not(None))
        contracts = select(Contract.id).where(
            or_(Contract.deal_id.in_(deals), Contract.result_id.is_not(None))
        )
        for statement in (
            delete(Payment).where(Payment.contract_id.in_(contracts)),
            delete(Contract).where(Contract.id.in_(contracts)),
            delete(DealEvent).where(DealEvent.deal_id.in_(deals)),
            delete(Deal).where(Deal.result_id.is_not(None)),
            delete(Proposal).where(Proposal.result_id.is_not(None)),
        ):
            _db.session.execute(statement)
        _db.session.execute(SearchOutbox.__table__.delete())
        _db.session.execute(Result.__table__.delete())
        _db.session.commit()
    assert runner.invoke(args=["seed-demo", "--limit", "30"]).exit_code == 0
    with app.app_context():
        again = _db.session.execute(
            select(
                Result.external_id,
                Result.trl,
                Result.price_fen,
                Result.ip_type,
                Result.transfer_modes,
                Result.valid_until,
            ).order_by(Result.external_id)
        ).all()
    assert len(rows) == 30
    assert again == rows


def test_seed_demo_if_empty_skips_populated_database(app, runner, factory):
    factory.org()
    before = counts(app)
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "跳过" in result.output
    assert counts(app) == before


def test_seed_demo_if_empty_seeds_empty_database(app, runner):
    result = runner.invoke(args=["seed-demo", "--if-empty", "--limit", "20"])
    assert result.exit_code == 0, result.output
    assert counts(app)["results"] == 20
    assert counts(app)["outbox"] == 20 + DEMO_CHALLENGES


def test_every_csl_record_maps_to_a_technology_field():
    codes = {f["code"] for f in json.loads(DEFAULT_FIELDS.read_text("utf-8"))}
    records = demo.read_records()
    assert len(records) == 2000
    assert len(demo.DISCIPLINE_FIELDS) == 67
    assert set(demo.DISCIPLINE_FIELDS.values()) <= codes
    for record in records:
        # Every discipline in the file is mapped explicitly, not by the fallback.
        assert record["discipline"] in demo.DISCIPLINE_FIELDS, record["discipline"]
        assert demo.field_code_for(record) in codes
    assert set(demo.CATEGORY_FIELDS.values()) | {demo.DEFAULT_FIELD} <= codes
    assert demo.field_code_for({"discipline": "?", "category": "工学"}) == (
        "advanced_manufacturing"
    )
    assert demo.field_code_for({}) == demo.DEFAULT_FIELD


def test_the_discipline_mapping_is_reference_data_shared_with_the_benchmark():
    from bench import common as bench_common

    rows = json.loads(reference.DISCIPLINES_FILE.read_text("utf-8"))
    assert {
        r["discipline"]: r["field"] for r in rows["disciplines"]
    } == demo.DISCIPLINE_FIELDS
    assert rows["category_fields"] == demo.CATEGORY_FIELDS
    assert demo.DEFAULT_FIELD == rows["default_field"] == "urban_social"
    record = {"discipline": "作物学", "category": "农学"}
    assert bench_common.field_code(record) == reference.field_code_for(record)
    assert reference.field_code_for(record) == "agriculture"
    assert demo.field_code_for is reference.field_code_for
