"""Browser journeys against a real gunicorn server (issue 6, point 1).

Chromium (Debian's /usr/bin/chromium) is driven headless by Playwright through
the site's own pages, with CSRF on, as each kind of user would click through:

(a) an enterprise and an institute sign up, the bureau verifies them; the
    enterprise posts a challenge and submits it, the bureau approves it, the
    institute finds it through search and bids with a PDF, the enterprise
    shortlists the bid and selects it;
(b) on that selection's deal, a transfer agency the enterprise names as broker
    moves the stages with notes and records the contract; the bureau registers
    it and sees the turnover in the dashboard's chart and tables;
(c) a visitor describes a problem in the home-page box and opens a matched result.

Only the bureau and its staff account are created from the command line, as a
deployment bootstraps them. Each journey's last page is saved as a screenshot
under test-artifacts/browser/.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import pytest

CHROMIUM_PATH = Path("/usr/bin/chromium")
if not CHROMIUM_PATH.exists():
    pytest.skip(
        f"browser journeys need Chromium at {CHROMIUM_PATH} (Debian package "
        "'chromium'); it is not installed here",
        allow_module_level=True,
    )

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser_steps import (  # noqa: E402
    ARTIFACTS,
    BUREAU_EMAIL,
    STEP_TIMEOUT_MS,
    Person,
    approve_listing,
    bootstrap_bureau,
    cli,
    local_today,
    log_in,
    open_notification,
    select_winner,
    sign_up,
    verify_organisations,
    write_pdf,
)

FIRM = "驿城区示范花生制品有限公司"
INSTITUTE = "驻马店市农业科学研究院"
AGENCY = "天中技术转移服务中心"
CHALLENGE = "花生制品黄曲霉毒素快速检测与脱毒技术攻关"
CONTRACT_WAN = "128.5"
CONTRACT_SHOWN = "128.50 万元"
REGISTRATION_NO = "20264117020001"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; each person gets a context."""
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def people(browser, request):
    """Make `Person`s on a server; their contexts close after the test.

    When the test failed, each person's page and the server's log are saved
    under test-artifacts/browser/ first, to see where and why.
    """
    made: list[Person] = []
    servers = []
    failed_before = request.session.testsfailed

    def person(server, name: str) -> Person:
        if server not in servers:
            servers.append(server)
        made.append(Person(browser, server.base_url, name))
        return made[-1]

    yield person
    failed = request.session.testsfailed > failed_before
    stem = f"failed_{request.node.name}"
    for number, someone in enumerate(made):
        if failed:
            with contextlib.suppress(PlaywrightError):
                someone.screenshot(f"{stem}_{number}")
        someone.close()
    for number, server in enumerate(servers if failed else []):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = ARTIFACTS / f"{stem}_gunicorn{number}.log"
        log.write_text(server.log_tail(400), encoding="utf-8")


@pytest.fixture
def server(live_server):
    """gunicorn with two workers, a fresh database and the bureau's account."""
    started = live_server(workers=2)
    bootstrap_bureau(started)
    return started


@pytest.fixture
def demo_server(live_server):
    """gunicorn with two workers on the demo data, its search index built."""
    started = live_server(workers=2)
    # seed-demo --limit 30 publishes the first 30 results of the CSL sample;
    # the index is then built from the database.
    cli(started, "seed-demo", "--limit", "30")
    cli(started, "search", "reindex")
    return started


def journey_a(server, people, tmp_path) -> dict[str, Person]:
    """(a) Sign-up to a selected bid; returns the cast, the firm on the won bid."""
    firm = people(server, "企业")
    institute = people(server, "研究院")
    bureau = people(server, "科技局")
    mail = server.database_url

    sign_up(firm, "企业", FIRM, "admin@firm.example.cn", 101, database_url=mail)
    sign_up(
        institute,
        "科研院所",
        INSTITUTE,
        "admin@inst.example.cn",
        102,
        database_url=mail,
    )
    log_in(bureau, BUREAU_EMAIL)
    verify_organisations(bureau, FIRM, INSTITUTE)

    # The enterprise drafts its challenge, then submits the draft for review.
    firm.nav("技术需求")
    firm.link("发布技术需求")
    page = firm.page
    page.get_by_label("需求名称").fill(CHALLENGE)
    page.get_by_label("技术领域").select_option(label="农业")
    page.get_by_label("关键词").fill("黄曲霉毒素、快速检测、脱毒、花生")
    page.get_by_label("公开摘要").fill(
        "花生原料与制品中黄曲霉毒素的现场快速检测和脱毒。"
    )
    page.get_by_label("问题描述").fill(
        "我公司花生制品加工中黄曲霉毒素B1偶有超标，实验室检测周期长，"
        "需要收购现场可用的快速检测方法和不影响品质的脱毒工艺。"
    )
    page.get_by_label("技术指标").fill("检测限不高于 2 μg/kg，单样检测 15 分钟内完成。")
    page.get_by_label("保密内容").fill("现有生产线的工艺参数与年产量。")
    page.get_by_label("榜额（万元）").fill("150")
    deadline = local_today() + timedelta(days=30)
    page.get_by_label("揭榜截止日期").fill(deadline.isoformat())
    firm.click("保存草稿")
    firm.expect_flash("草稿已保存")
    firm.click("提交审核")
    firm.expect_flash("已提交科技局审核")
    challenge_id = firm.id_in_url(r"/challenges/(\d+)")

    approve_listing(bureau, CHALLENGE)

    # The institute searches, opens the challenge and bids with a PDF.
    institute.nav("搜索")
    institute.page.get_by_label("关键词").fill("黄曲霉毒素 快速检测")
    institute.click("搜索", institute.page.get_by_role("search"))
    institute.page.locator(".list-group-item", has_text=FIRM).get_by_role(
        "link", name=CHALLENGE
    ).click()
    assert institute.id_in_url(r"/challenges/(\d+)") == challenge_id
    institute.link("揭榜申报")
    page = institute.page
    page.get_by_label("解决方案概述").fill(
        "采用胶体金免疫层析与便携读数仪现场检测，配合臭氧—紫外联合脱毒工艺。"
    )
    page.get_by_label("技术路线").fill(
        "一、抗体筛选与试纸条定型；二、读数仪标定；三、脱毒中试与品质评价。"
    )
    page.get_by_label("报价（万元）").fill("120")
    page.get_by_label("实施周期（月）").fill("12")
    page.get_by_label("团队情况").fill("食品安全检测团队 8 人，负责人为研究员。")
    pdf = write_pdf(tmp_path / "技术方案.pdf")
    page.get_by_label("附件").set_input_files(str(pdf))
    institute.click("提交申报")
    institute.expect_flash("申报已提交")
    expect(page.get_by_role("link", name="技术方案.pdf")).to_be_visible()

    # The enterprise shortlists the bid, closes bidding and selects it.
    firm.menu("user", "我的技术需求")
    firm.link(CHALLENGE)
    firm.link("查看全部申报")
    firm.click("入围", firm.page.locator("tr", has_text=INSTITUTE))
    firm.expect_flash("已列入入围名单")
    firm.link(CHALLENGE, firm.page.locator("main"))
    firm.page.get_by_label("确认提前截止", exact=False).check()
    firm.click("提前截止并开始评审")
    firm.expect_flash("揭榜已截止")
    firm.link("查看全部申报")
    select_winner(firm, INSTITUTE)
    firm.link(INSTITUTE, firm.page.locator("tr", has_text=INSTITUTE))
    expect(firm.page.locator(".alert-success")).to_contain_text("该申报已中选")
    return {"firm": firm, "institute": institute, "bureau": bureau}


def journey_b(server, people, cast: dict[str, Person]) -> None:
    """(b) The selection's deal, brokered to a contract the bureau registers."""
    firm, bureau = cast["firm"], cast["bureau"]
    agency = people(server, "经纪机构")
    sign_up(
        agency,
        "技术转移机构",
        AGENCY,
        "broker@agency.example.cn",
        103,
        database_url=server.database_url,
    )
    verify_organisations(bureau, AGENCY)

    # The enterprise opens the deal its selection created and names the broker.
    firm.link("进入撮合项目", firm.page.locator(".alert-success"), exact=False)
    deal_id = firm.id_in_url(r"/deals/(\d+)")
    firm.page.get_by_label("经纪机构").fill(AGENCY)
    firm.click("保存")
    firm.expect_flash("经纪机构已更新")

    # The broker follows the notification and works the deal.
    open_notification(agency, AGENCY)
    assert agency.id_in_url(r"/deals/(\d+)") == deal_id
    page = agency.page
    for stage, note in (
        ("已接洽", "已与双方电话沟通，约定下周现场考察。"),
        ("洽谈中", "双方就开发内容、经费和知识产权归属进入洽谈。"),
    ):
        page.get_by_label("说明").fill(note)
        agency.click(f"改为“{stage}”")
        agency.expect_flash("阶段已更新")
        expect(page.locator(".deal-note").first).to_have_text(note)
    page.get_by_label("备注").fill("合同文本已由双方法务确认。")
    agency.click("添加备注")
    agency.expect_flash("备注已添加")

    agency.link("登记技术合同")
    page.get_by_label("合同类型").select_option(label="技术开发")
    page.get_by_label("技术领域").select_option(label="农业")
    page.get_by_label("签订日期").fill(local_today().isoformat())
    page.get_by_label("合同成交额（万元）").fill(CONTRACT_WAN)
    page.get_by_label("技术交易额（万元）").fill("100")
    agency.click("提交登记")
    agency.expect_flash("合同已提交，等待科技局登记")

    # The bureau registers it from the contract register.
    bureau.nav("技术合同")
    row = bureau.page.locator("tbody tr", has_text=FIRM)
    bureau.link(local_today().isoformat(), row)
    bureau.page.get_by_label("登记号").fill(REGISTRATION_NO)
    bureau.click("登记合同")
    bureau.expect_flash("合同已登记")
    expect(bureau.page.locator("main")).to_contain_text(f"登记号 {REGISTRATION_NO}")

    # The turnover shows in the dashboard's chart and in the table beside it.
    bureau.menu("科技局", "成交统计")
    expect(bureau.page.locator("#sum-contract_amount_fen")).to_have_text(CONTRACT_SHOWN)
    month_chart = bureau.page.locator('.stats-chart[data-chart="month"]')
    expect(month_chart.locator("canvas")).to_be_visible()
    box = month_chart.bounding_box()
    assert box and box["height"] > 100 and box["width"] > 100, box
    month_table = bureau.page.locator("#table-month")
    expect(month_table.locator("tbody")).to_contain_text(CONTRACT_SHOWN)
    expect(month_table.locator("tfoot")).to_contain_text(CONTRACT_SHOWN)
    expect(bureau.page.locator("#table-top_brokers")).to_contain_text(AGENCY)

    # Registration closed the loop: the deal is signed.
    firm.page.reload()
    expect(firm.page.locator("main .badge").first).to_have_text("已签约")
    cast["agency"] = agency


def test_challenge_selected_then_brokered_to_registered_contract(
    server, people, tmp_path
):
    """Journeys (a) and (b) on one server: (b) works the deal (a) opened."""
    cast = journey_a(server, people, tmp_path)
    # The poster downloads the winning bid's attachment: the very same file.
    firm = cast["firm"]
    with firm.page.expect_download() as download:
        firm.page.get_by_role("link", name="技术方案.pdf").click()
    saved = download.value.path()
    assert saved.read_bytes() == (tmp_path / "技术方案.pdf").read_bytes()
    firm.screenshot("a_bid_selected")
    journey_b(server, people, cast)
    cast["bureau"].screenshot("b_turnover_dashboard")
    for someone in cast.values():
        someone.assert_no_problems()


def test_visitor_matches_a_problem_to_a_result(demo_server, people):
    """Journey (c): the home-page problem box to a matched result's page."""
    visitor = people(demo_server, "访客")
    visitor.open("/")
    box = visitor.page.get_by_label("技术问题描述")
    box.fill(
        "我们合作社种植的水果和蔬菜采收后保鲜期短、损耗大，"
        "希望找到气调或减压贮藏等果蔬保鲜技术。"
    )
    visitor.click("匹配科技成果")
    visitor.expect_heading("描述您的技术问题")
    # The best match is the CSL sample's review of fruit and vegetable storage,
    # and it says why it matched.
    best = visitor.page.locator("main .list-group-item").first
    expect(best).to_contain_text("果蔬保鲜")
    expect(best).to_contain_text("匹配度")
    visitor.link("果蔬保鲜", best, exact=False)
    assert "/results/" in visitor.page.url
    visitor.expect_heading("果蔬保鲜技术")
    visitor.screenshot("c_matched_result")
    visitor.assert_no_problems()
