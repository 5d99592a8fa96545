"""Browser journey (f) of issue 15: corrections, the register and its audit trail.

Against a real gunicorn server, through the site's pages in Chromium. The
organisations, the awarded challenge, its running project (milestone 1 of
20 万元 accepted, milestone 2 of 63 万元 delivered) and three registered
contracts are set up through the service verbs on the server's database: the
pages that make them are journeys (a), (b) and (d). Then, all in the browser:

- the bureau finds the project's contract in the register by party and records a
  30 万元 payment by hand; the enterprise cannot accept milestone 2 (the
  contract would be over-paid); the bureau reverses the payment with a reason
  (the original stays in the ledger, marked 已冲销) and milestone 2 is accepted;
- the bureau finds a contract by its registration number and corrects its
  amounts, and cancels (注销) another; the turnover on /stats follows each step;
- the corrected contract's 技术合同登记证明 is downloaded and its text read back;
- the sysadmin's audit viewer shows the correction's before and after.
"""

from __future__ import annotations

import io
from datetime import timedelta

from playwright.sync_api import expect
from pypdf import PdfReader

from marketplace import create_app
from marketplace.auth.services import create_organisation, create_user, user_by_email
from marketplace.contracts.services import register_contract
from marketplace.creditcode import make_credit_code
from marketplace.extensions import db
from marketplace.models import Challenge, Contract, ContractStatus, OrgKind, UserRole
from marketplace.projects import agreement, milestones
from marketplace.projects.services import start_project
from tests.browser_steps import BUREAU_EMAIL, PASSWORD, Person, cli, local_today, log_in

# The browser fixtures of journeys (a)–(c); importing them skips this module too
# where Chromium is missing.
from tests.test_browser import browser, people, server  # noqa: F401
from tests.test_projects import awarded_challenge

FIRM = "正阳县示范花生机械有限公司"
WINNER = "驻马店市农业机械化研究所"
OUTSIDE_BUYER = "泌阳县夏南牛肉制品有限公司"
OUTSIDE_SELLER = "河南天中种业科技有限公司"
SYSADMIN_EMAIL = "ops@bureau.example.cn"
NO_PROJECT = "20264117020101"
NO_CORRECTED = "20264117020102"
NO_CANCELLED = "20264117020103"
MILESTONE = "li[id^=milestone-]"


def _org(name: str, kind: OrgKind, serial: int, email: str):
    org = create_organisation(
        name=name,
        kind=kind,
        region_code="411724",
        credit_code=make_credit_code("411724", serial),
        verified=True,
    )
    user = create_user(
        org=org, email=email, password=PASSWORD, name=f"{name[:4]}管理员",
        role=UserRole.ORG_ADMIN,
    )  # fmt: skip
    return org, user


def _registered(bureau, number: str, **values) -> Contract:
    """A contract between outside parties, registered by the bureau."""
    fields = {
        "contract_type": "development",
        "buyer_name": OUTSIDE_BUYER,
        "buyer_region_code": "411726",
        "seller_name": OUTSIDE_SELLER,
        "seller_region_code": "411702",
        "signed_on": local_today(),
        "paid_fen": 0,
        "status": ContractStatus.SUBMITTED,
    }
    contract = Contract(**{**fields, **values})
    db.session.add(contract)
    db.session.flush()
    return register_contract(contract, bureau, number)


def _setup(live, monkeypatch) -> dict[str, int]:
    """What the journey starts from, made by the service verbs; returns ids."""
    monkeypatch.setenv("MARKETPLACE_ENV", "testing")
    monkeypatch.setenv("MARKETPLACE_INSTANCE", str(live.root / "setup"))
    app = create_app(
        {
            "SECRET_KEY": "journey-setup",
            "SQLALCHEMY_DATABASE_URI": live.database_url,
            "SEARCH_INDEX_DIR": str(live.index_dir),
            "SEARCH_SYNC_ON_COMMIT": False,
            "UPLOAD_DIR": str(live.root / "uploads"),
            "MAIL_SEND_ON_COMMIT": False,
        }
    )
    with app.app_context():
        bureau = user_by_email(BUREAU_EMAIL)
        firm, owner = _org(FIRM, OrgKind.ENTERPRISE, 301, "admin@firm6.example.cn")
        winner, delivers = _org(
            WINNER, OrgKind.INSTITUTE, 302, "admin@winner6.example.cn"
        )
        challenge_id, _bid, deal_id, _none = awarded_challenge(
            db, firm, winner, bounty=90_000_000, contract=False
        )
        contract = Contract(
            title="花生收获机械技术开发合同",
            contract_type="development",
            buyer_org_id=firm.id,
            buyer_name=FIRM,
            buyer_region_code=firm.region_code,
            seller_org_id=winner.id,
            seller_name=WINNER,
            seller_region_code=winner.region_code,
            deal_id=deal_id,
            signed_on=local_today(),
            amount_fen=90_000_000,
            tech_amount_fen=90_000_000,
            paid_fen=0,
            status=ContractStatus.SUBMITTED,
        )
        db.session.add(contract)
        db.session.flush()
        register_contract(contract, bureau, NO_PROJECT)
        db.session.commit()
        challenge = db.session.get(Challenge, challenge_id)
        project = start_project(challenge, owner, contract.id)
        for number, amount in ((1, 20_000_000), (2, 63_000_000)):
            milestones.add_milestone(
                project,
                owner,
                milestones.MilestoneData(
                    deliverable=f"第{number}阶段样机与试验报告",
                    description="样机一台及田间试验报告。",
                    due_on=local_today() + timedelta(days=30 * number),
                    amount_fen=amount,
                ),
            )
        db.session.commit()
        agreement.agree_plan(project, delivers)
        milestones.begin_delivery(project, owner)
        db.session.commit()
        first, second = project.milestones
        milestones.submit_deliverable(first, delivers, "第一阶段样机已交付。")
        milestones.accept_milestone(first, owner)
        milestones.submit_deliverable(second, delivers, "第二阶段样机已交付。")
        corrected = _registered(
            bureau, NO_CORRECTED, amount_fen=50_000_000, tech_amount_fen=40_000_000
        )
        cancelled = _registered(
            bureau,
            NO_CANCELLED,
            amount_fen=25_000_000,
            tech_amount_fen=25_000_000,
            buyer_name="确山县竹沟制锁有限公司",
        )
        db.session.commit()
        ids = {
            "project": project.id,
            "contract": contract.id,
            "corrected": corrected.id,
            "cancelled": cancelled.id,
        }
        db.session.remove()
        db.engine.dispose()
    return ids


def _search(bureau: Person, **fields: str) -> None:
    """Search the register from the navigation bar's 技术合同 page."""
    bureau.nav("技术合同")
    form = bureau.page.locator("#register-filter")
    for label, value in fields.items():
        form.get_by_label(label, exact=True).fill(value)
    bureau.click("查询", form)


def _turnover(bureau: Person, shown: str) -> None:
    bureau.menu("科技局", "成交统计")
    expect(bureau.page.locator("#sum-contract_amount_fen")).to_have_text(shown)


def test_payment_reversed_contract_corrected_and_cancelled(
    server,  # noqa: F811
    people,  # noqa: F811
    monkeypatch,
):
    """Journey (f): every step of issue 15's corrections, in the browser."""
    ids = _setup(server, monkeypatch)
    cli(server, "create-user", SYSADMIN_EMAIL, "--org", "驻马店市科学技术局",
        "--sysadmin", "--password", PASSWORD, "--name", "系统管理员")  # fmt: skip
    bureau = people(server, "科技局")
    firm = people(server, "企业")
    ops = people(server, "系统管理员")
    log_in(bureau, BUREAU_EMAIL)
    log_in(firm, "admin@firm6.example.cn")
    log_in(ops, SYSADMIN_EMAIL)
    project_url = f"/projects/{ids['project']}"
    _turnover(bureau, "165.00 万元")

    # The bureau finds the project's contract by party and types in 30 万元.
    _search(bureau, **{"当事人名称": FIRM})
    rows = bureau.page.locator("main tbody tr")
    expect(rows).to_have_count(1)
    bureau.link(local_today().isoformat(), rows.first)
    assert bureau.id_in_url(r"/contracts/(\d+)") == ids["contract"]
    page = bureau.page
    page.get_by_label("收款日期").fill(local_today().isoformat())
    page.get_by_label("收款金额（万元）").fill("30")
    page.get_by_label("备注").fill("首付款")
    bureau.click("登记收款")
    bureau.expect_flash("收款已登记")
    contract_url = bureau.page.url

    # Milestone 2 is stuck: its 63 万元 would over-pay the 90 万元 contract.
    def accept_second() -> None:
        firm.open(project_url)
        second = firm.page.locator(MILESTONE, has_text="第2期")
        second.get_by_label("确认验收并拨付", exact=False).check()
        firm.click("验收通过并拨付", second)

    accept_second()
    firm.expect_flash("不能超过技术合同成交额")
    expect(firm.page.locator(MILESTONE, has_text="第2期")).to_contain_text("待验收")
    firm.screenshot("f_milestone_stuck")

    # The bureau reverses the hand entry, saying why; the original stays.
    bureau.open(contract_url)
    hand = bureau.page.locator("#payment-ledger tbody tr", has_text="首付款")
    hand.locator("summary", has_text="冲销或更正").click()
    hand.get_by_label("冲销原因").fill("该款尚未到账，系误登记")
    bureau.click("冲销这笔收款", hand)
    bureau.expect_flash("该笔收款已冲销")
    ledger = bureau.page.locator("#payment-ledger")
    expect(ledger.locator("tr", has_text="首付款")).to_contain_text("已冲销")
    expect(ledger.locator("tr", has_text="冲销原因")).to_contain_text("冲销记录")
    expect(ledger.locator("tfoot")).to_contain_text("20.00 万元")
    bureau.screenshot("f_payment_reversed")

    # Now the milestone goes through and its money reaches the contract.
    accept_second()
    firm.expect_flash("已验收")
    expect(firm.page.locator(MILESTONE, has_text="第2期")).to_contain_text("已验收")
    bureau.page.reload()
    expect(bureau.page.locator("#payment-ledger tfoot")).to_contain_text("83.00 万元")

    # Found by its registration number, a contract is corrected: 50 → 80 万元.
    _search(bureau, **{"登记号": NO_CORRECTED})
    rows = bureau.page.locator("main tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(NO_CORRECTED)
    bureau.screenshot("f_register_by_number")
    bureau.link(local_today().isoformat(), rows.first)
    bureau.link("更正合同")
    page = bureau.page
    expect(page.get_by_label("合同成交额（万元）")).to_have_value("50")
    page.get_by_label("合同成交额（万元）").fill("80")
    page.get_by_label("技术交易额（万元）").fill("60")
    page.get_by_label("更正原因").fill("合同补充协议增加了开发内容，成交额录入有误")
    bureau.click("保存更正")
    bureau.expect_flash("合同已更正")
    history = bureau.page.locator("#contract-history")
    expect(history).to_contain_text("50.00 万元 → 80.00 万元")
    corrected_url = bureau.page.url
    _turnover(bureau, "195.00 万元")

    # Another is cancelled (注销) and leaves the turnover.
    _search(bureau, **{"当事人名称": "竹沟制锁"})
    rows = bureau.page.locator("main tbody tr")
    expect(rows).to_have_count(1)
    bureau.link(local_today().isoformat(), rows.first)
    assert bureau.id_in_url(r"/contracts/(\d+)") == ids["cancelled"]
    bureau.page.get_by_label("注销原因").fill("双方已解除合同")
    bureau.click("注销合同登记")
    bureau.expect_flash("合同登记已注销")
    expect(bureau.page.locator("#cancelled-note")).to_contain_text("双方已解除合同")
    bureau.screenshot("f_contract_cancelled")
    _turnover(bureau, "170.00 万元")
    bureau.screenshot("f_turnover_after_corrections")

    # The corrected contract's registration certificate, read back as text.
    bureau.open(corrected_url)
    with bureau.page.expect_download() as download:
        bureau.page.locator("#certificate-link").click()
    assert download.value.suggested_filename == f"certificate_{NO_CORRECTED}.pdf"
    body = download.value.path().read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    squeezed = "".join(text.split())
    for expected in ("技术合同登记证明", NO_CORRECTED, OUTSIDE_BUYER, OUTSIDE_SELLER,
                     "80.00", "60.00"):  # fmt: skip
        assert expected in squeezed, (expected, text)
    assert "50.00" not in squeezed

    # The sysadmin's audit viewer shows the correction's before and after.
    ops.menu("系统管理", "审计日志")
    ops.page.get_by_label("操作", exact=True).select_option(label="科技局更正合同")
    ops.click("筛选")
    log = ops.page.locator("#audit-log tbody tr")
    expect(log).to_have_count(1)
    expect(log.first).to_contain_text("合同成交额：50.00 万元 → 80.00 万元")
    expect(log.first).to_contain_text("技术交易额：40.00 万元 → 60.00 万元")
    expect(log.first).to_contain_text("科技局审核员")
    ops.screenshot("f_audit_correction")
    ops.page.get_by_label("操作", exact=True).select_option(label="科技局注销合同登记")
    ops.click("筛选")
    expect(log).to_have_count(1)
    expect(log.first).to_contain_text("已登记 → 已注销")
    expect(log.first).to_contain_text("双方已解除合同")
    for someone in (bureau, firm, ops):
        someone.assert_no_problems()
