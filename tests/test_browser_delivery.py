"""Browser journey (d) of issue 7: a challenge from expert review to exemption.

Against a real gunicorn server, through the site's pages in Chromium: the
bureau's expert pool is imported from a spreadsheet (as a bureau would), the
organisations are created from the command line and the challenge is imported
(journeys (a) and (b) in tests/test_browser.py already sign up and post through
the pages). Then, all in the browser:

- two institutes bid; the enterprise closes bidding and forms a panel: the
  system proposes three matching experts and excludes the one who works for a
  bidder; each expert scores both bids and sees only their own sheet until all
  three have submitted; the enterprise opens the ranking and selects the
  top-ranked bid;
- the enterprise records the technology contract, starts the project and plans
  two milestones; the winner delivers the first, which is returned once, then
  accepted; the second is accepted; both payments show on the contract;
- the bureau schedules the mid-term check (passed by its panel) and the final
  acceptance (failed); the winner applies for exemption, the panel recommends
  it and the bureau grants it;
- the bureau records an integrity finding against a third institute, which is
  then refused when it tries to bid, and told why.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser_steps import (
    BUREAU_EMAIL,
    PASSWORD,
    Person,
    cli,
    credit_code,
    local_today,
    log_in,
    select_winner,
    write_pdf,
)

# The browser fixtures of journeys (a)–(c); importing them skips this module too
# where Chromium is missing.
from tests.test_browser import browser, people, server  # noqa: F401

FIRM = "汝南县示范花生制品有限公司"
WINNER = "驻马店市农产品质量安全研究所"
RIVAL = "河南省天中食品检测研究院"
BARRED = "驿城区某生物技术研究所"
UNIVERSITY = "黄淮学院"
CHALLENGE = "花生仁黄曲霉毒素在线检测与分选装备研制"
SECOND = "花生油生产废水资源化处理技术"
EXPERTS = [
    (
        "expert1@hhu.example.cn",
        "周卫东",
        "教授",
        "食品安全检测 黄曲霉毒素 快速检测 免疫层析",
    ),
    (
        "expert2@hhu.example.cn",
        "孙丽娟",
        "研究员",
        "农产品加工 花生 分选装备 机器视觉 检测",
    ),
    ("expert3@hhu.example.cn", "马建国", "教授", "真菌毒素 脱毒 花生制品 食品安全"),
]
MILESTONE = "li[id^=milestone-]"  # a milestone on the project page
CRITERIA = ("技术先进性", "可行性", "团队能力", "报价合理性")
CONFLICTED = ("expert4@inst.example.cn", "刘志强", "研究员", "黄曲霉毒素 检测 花生")
# Joined after the failed final acceptance: the exemption panel may not reuse its
# experts, so these three judge the exemption.
LATER_EXPERTS = [
    ("expert5@hhu.example.cn", "王海燕", "教授", "花生 黄曲霉毒素 检测 分选"),
    ("expert6@hhu.example.cn", "陈立新", "研究员", "农产品加工 机器视觉 检测"),
    ("expert7@hhu.example.cn", "赵敏", "教授", "食品安全 真菌毒素 花生制品"),
]


def _orgs(live) -> None:
    """The organisations and their administrators, as a deployment would add them."""
    orgs = [
        (FIRM, "enterprise", "企业", 201, "admin@firm2.example.cn"),
        (WINNER, "institute", "科研院所", 202, "admin@winner.example.cn"),
        (RIVAL, "institute", "科研院所", 203, "admin@rival.example.cn"),
        (BARRED, "institute", "科研院所", 204, "admin@barred.example.cn"),
        (UNIVERSITY, "university", "高校", 205, "admin@hhu.example.cn"),
    ]
    for name, kind, label, serial, email in orgs:
        code = credit_code(label, serial)
        cli(live, "create-org", name, "--kind", kind, "--credit-code", code,
            "--region", "驿城区", "--verified")  # fmt: skip
        cli(live, "create-user", email, "--org", name, "--role", "org_admin",
            "--password", PASSWORD, "--name", f"{name[:4]}管理员")  # fmt: skip


def _import_experts(live, tmp_path, later: bool = False) -> None:
    """The bureau's expert pool from its spreadsheet; one works for a bidder."""
    path = tmp_path / ("专家库（补充）.csv" if later else "专家库.csv")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["邮箱", "姓名", "职称", "所属机构", "技术领域", "专业特长"])
        for email, name, title, speciality in LATER_EXPERTS if later else EXPERTS:
            writer.writerow([email, name, title, UNIVERSITY, "农业", speciality])
        if not later:
            email, name, title, speciality = CONFLICTED
            writer.writerow([email, name, title, WINNER, "农业", speciality])
    cli(live, "import-experts", str(path), "--password", PASSWORD)


def _import_challenges(live, tmp_path) -> None:
    """The enterprise's two published challenges (imported by the bureau)."""
    deadline = (local_today() + timedelta(days=30)).isoformat()
    rows = [
        {
            "title": CHALLENGE,
            "description": "花生仁中黄曲霉毒素超标颗粒需要在线检测并自动分选剔除，"
            "要求检测快速、误剔率低，适用于花生制品生产线。",
            "keywords": ["黄曲霉毒素", "在线检测", "分选", "花生"],
            "field": "农业",
            "price_wan": "80",
            "deadline": deadline,
        },
        {
            "title": SECOND,
            "description": "花生油压榨与精炼废水的处理与资源化利用。",
            "keywords": ["废水", "花生油"],
            "field": "农业",
            "price_wan": "40",
            "deadline": deadline,
        },
    ]
    path = tmp_path / "需求.jsonl"
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
        encoding="utf-8",
    )
    cli(live, "import-listings", "--kind", "challenge", "--org", FIRM, str(path))


def _bid(person: Person, challenge_id: int, price: str, solution: str, pdf) -> None:
    person.open(f"/challenges/{challenge_id}")
    person.link("揭榜申报")
    page = person.page
    page.get_by_label("解决方案概述").fill(solution)
    page.get_by_label("技术路线").fill("样机研制、产线中试、示范应用三个阶段。")
    page.get_by_label("报价（万元）").fill(price)
    page.get_by_label("实施周期（月）").fill("18")
    page.get_by_label("团队情况").fill("检测与装备团队 10 人。")
    page.get_by_label("附件").set_input_files(str(pdf))
    person.click("提交申报")
    person.expect_flash("申报已提交")


def _score(expert: Person, marks: dict[str, tuple[int, int, int, int]]) -> None:
    """An expert opens their task and scores each bid, criterion by criterion."""
    expert.menu("user", "我的评审任务")
    expert.link("去评分")
    for org, values in marks.items():
        section = expert.page.locator("section", has_text=org)
        for label, value in zip(CRITERIA, values, strict=True):
            section.get_by_label(re.compile(f"^{label}")).fill(str(value))
    expert.page.get_by_label("总体评审意见").fill(f"{expert.name}：两份方案均较完整。")
    expert.click("提交评分")
    expert.expect_flash("评分已提交")


def _opinion(expert: Person, verdict: str, comment: str) -> None:
    expert.menu("user", "我的评审任务")
    expert.link("提交意见")
    expert.page.get_by_label(verdict, exact=True).check()
    expert.page.get_by_label("评审意见").fill(comment)
    expert.click("提交评审意见")
    expert.expect_flash("评审意见已提交")


def _form_panel(person: Person, link: str, expected: int = 3) -> None:
    """Tick every proposed expert (the conflicted one is listed as excluded)."""
    person.link(link, exact=False)
    boxes = person.page.locator('input[name="expert_ids"]:not([disabled])')
    expect(boxes).to_have_count(expected)
    for index in range(expected):
        boxes.nth(index).check()
    person.click("组建专家组并通知专家")
    person.expect_flash("评审专家组已组建")


def test_review_delivery_acceptance_exemption_and_integrity(
    server,  # noqa: F811
    people,  # noqa: F811
    tmp_path,
):
    """Journey (d): the whole 揭榜挂帅 loop after bidding, as issue 7 describes."""
    _orgs(server)
    _import_experts(server, tmp_path)
    _import_challenges(server, tmp_path)
    cli(server, "search", "reindex")

    firm = people(server, "企业")
    winner = people(server, "中选院所")
    rival = people(server, "竞争院所")
    bureau = people(server, "科技局")
    experts = [people(server, name) for _, name, _, _ in EXPERTS]
    log_in(firm, "admin@firm2.example.cn")
    log_in(winner, "admin@winner.example.cn")
    log_in(rival, "admin@rival.example.cn")
    log_in(bureau, BUREAU_EMAIL)
    for expert, (email, *_rest) in zip(experts, EXPERTS, strict=True):
        log_in(expert, email)

    # Two bids, then the enterprise closes bidding.
    firm.menu("user", "我的技术需求")
    firm.link(CHALLENGE)
    challenge_id = firm.id_in_url(r"/challenges/(\d+)")
    pdf = write_pdf(tmp_path / "方案.pdf")
    _bid(
        winner,
        challenge_id,
        "75",
        "近红外光谱与机器视觉融合在线检测，气动分选剔除。",
        pdf,
    )
    _bid(rival, challenge_id, "78", "荧光成像检测与机械臂分选。", pdf)
    firm.page.reload()
    firm.page.get_by_label("确认提前截止", exact=False).check()
    firm.click("提前截止并开始评审")
    firm.expect_flash("揭榜已截止")

    # The panel: three matching experts proposed, the bidder's own expert excluded.
    firm.link("组建评审专家组")
    excluded = firm.page.locator("li", has_text=CONFLICTED[1])
    expect(excluded).to_contain_text("已排除")
    expect(excluded.locator("input")).to_be_disabled()
    firm.page.go_back()
    _form_panel(firm, "组建评审专家组")
    panel_url = firm.page.url

    # Each expert scores; until all have, an expert sees only their own sheet.
    _score(experts[0], {WINNER: (90, 85, 88, 80), RIVAL: (70, 72, 75, 78)})
    experts[0].open(panel_url)
    expect(experts[0].page.locator("main")).to_contain_text("其他专家的意见将在全体")
    expect(experts[0].page.locator("main")).not_to_contain_text("汇总排名")
    firm.page.reload()
    expect(firm.page.locator("main")).to_contain_text("已提交 1 / 3")
    _score(experts[1], {WINNER: (88, 90, 85, 82), RIVAL: (75, 70, 72, 80)})
    _score(experts[2], {WINNER: (86, 84, 90, 79), RIVAL: (72, 74, 70, 76)})

    # The owner sees the ranking and selects the top-ranked bid.
    firm.page.reload()
    ranking = firm.page.locator("main table").first
    expect(ranking.locator("tbody tr").first).to_contain_text(WINNER)
    firm.link(CHALLENGE, firm.page.locator("main"), exact=False)
    firm.link("查看全部申报")
    firm.click("入围", firm.page.locator("tr", has_text=WINNER))
    select_winner(firm, WINNER)

    # The contract, then the project with two milestones.
    firm.open(f"/challenges/{challenge_id}")
    firm.link("立项")
    firm.link("登记技术合同")
    page = firm.page
    page.get_by_label("合同类型").select_option(label="技术开发")
    page.get_by_label("技术领域").select_option(label="农业")
    page.get_by_label("签订日期").fill(local_today().isoformat())
    page.get_by_label("合同成交额（万元）").fill("80")
    page.get_by_label("技术交易额（万元）").fill("70")
    firm.click("提交登记")
    firm.expect_flash("合同已提交")
    contract_url = firm.page.url
    firm.open(f"/challenges/{challenge_id}")
    firm.link("立项")
    firm.click("确认立项")
    firm.expect_flash("已立项")
    project_url = firm.page.url
    for name, due, amount in (
        ("检测样机与检测方法报告", 60, "30"),
        ("产线分选装备与中试报告", 180, "50"),
    ):
        firm.link("新增里程碑")
        firm.page.get_by_label("交付成果").fill(name)
        firm.page.get_by_label("计划完成日期").fill(
            (local_today() + timedelta(days=due)).isoformat()
        )
        firm.page.get_by_label("验收后拨付金额（万元）").fill(amount)
        firm.click("保存")
        firm.expect_flash("里程碑已保存")
    # The winner agrees to the plan; only then may the enterprise start it.
    winner.open(project_url)
    winner.page.get_by_label("同意按此计划实施", exact=False).check()
    winner.click("同意里程碑计划")
    winner.expect_flash("已同意里程碑计划")
    firm.open(project_url)
    firm.page.get_by_label("开始实施后计划不能再修改", exact=False).check()
    firm.click("确定计划，开始实施")
    firm.expect_flash("项目开始实施")

    def release(seq: int) -> None:
        milestone = firm.page.locator(MILESTONE, has_text=f"第{seq}期")
        milestone.get_by_label("确认验收并拨付", exact=False).check()
        firm.click("验收通过并拨付", milestone)
        firm.expect_flash("已验收")

    def deliver(seq: int, note: str, button: str = "提交成果") -> None:
        winner.open(project_url)
        winner.link(button, winner.page.locator(MILESTONE, has_text=f"第{seq}期"))
        winner.page.get_by_label("成果说明").fill(note)
        winner.page.get_by_label("附件").set_input_files(str(pdf))
        winner.click("提交成果")
        winner.expect_flash("成果已提交")

    # Milestone 1: returned once, then accepted; milestone 2 accepted.
    deliver(1, "检测样机一台，检测方法报告一份。")
    firm.open(project_url)
    first = firm.page.locator(MILESTONE, has_text="第1期")
    first.get_by_label("退回意见").fill("检测限数据不全，请补充三批次验证数据。")
    firm.click("退回修改", first)
    firm.expect_flash("已退回修改")
    deliver(1, "已补充三批次验证数据。", button="重新提交成果")
    firm.open(project_url)
    release(1)
    deliver(2, "分选装备一套，中试报告一份。")
    firm.open(project_url)
    release(2)
    expect(firm.page.locator(MILESTONE, has_text="第1期")).to_contain_text("退回 1 次")
    firm.open(contract_url)
    expect(firm.page.locator("main")).to_contain_text("第1期")
    expect(firm.page.locator("main")).to_contain_text("第2期")

    def check(kind: str, verdict: str, conclusion: str) -> None:
        bureau.open(project_url)
        bureau.page.get_by_label("验收类型").select_option(label=kind)
        bureau.page.get_by_label("验收日期").fill(local_today().isoformat())
        bureau.click("安排验收")
        bureau.expect_flash("已安排验收")
        _form_panel(bureau, "组建专家组")
        for expert in experts:
            _opinion(expert, verdict, f"{expert.name}：{kind}意见。")
        bureau.open(project_url)
        bureau.link("记录结论")
        bureau.page.get_by_label(conclusion, exact=True).check()
        bureau.page.get_by_label("验收报告").fill(f"专家组{kind}结论：{conclusion}。")
        bureau.page.get_by_label("确认记录该结论", exact=False).check()
        bureau.click("记录结论")
        bureau.expect_flash("验收结论已记录")

    check("中期检查", "通过", "通过")
    check("结题验收", "不通过", "不通过")
    expect(bureau.page.locator("main")).to_contain_text("项目未通过验收")

    # The winner applies for exemption; the panel recommends it; the bureau grants.
    winner.open(project_url)
    winner.link("申请容错免责")
    winner.page.get_by_label("勤勉尽责情况说明").fill(
        "项目组按计划完成了两期里程碑，检测样机和分选装备均已交付并通过验收，"
        "结题时误剔率未达指标系花生品种差异超出预期所致，过程记录完整，经费使用合规。"
    )
    winner.click("提交申请")
    winner.expect_flash("容错免责申请已提交")
    # The final acceptance's experts are excluded: three who joined later judge.
    _import_experts(server, tmp_path, later=True)
    judges = [people(server, name) for _, name, _, _ in LATER_EXPERTS]
    for judge, (email, *_rest) in zip(judges, LATER_EXPERTS, strict=True):
        log_in(judge, email)
    bureau.open(project_url)
    bureau.link("组建容错免责专家组", exact=False)
    excluded = bureau.page.locator("li", has_text=EXPERTS[0][1])
    expect(excluded).to_contain_text("未通过验收的专家组成员")
    expect(excluded.locator("input")).to_be_disabled()
    bureau.page.go_back()
    _form_panel(bureau, "组建容错免责专家组")
    for expert in judges:
        _opinion(expert, "建议免责", f"{expert.name}：已勤勉尽责，建议免责。")
    bureau.open(project_url)
    bureau.link("作出认定")
    bureau.page.get_by_label("免责", exact=True).check()
    bureau.page.get_by_label("认定理由").fill("专家组一致认为承担单位已勤勉尽责。")
    bureau.page.get_by_label("确认作出该认定", exact=False).check()
    bureau.click("作出认定")
    bureau.expect_flash("认定结论已记录")
    winner.open(project_url)
    expect(winner.page.locator("main")).to_contain_text("承担单位已获容错免责")
    winner.screenshot("d_exemption_granted")

    # An integrity finding bars a third institute from bidding.
    bureau.menu("科技局", "科研诚信")
    bureau.link("新增记录", exact=False)
    page = bureau.page
    page.get_by_label("机构（记录对象为机构时）").fill(BARRED)
    page.get_by_label("失信行为类型").select_option(label="虚假申报")
    page.get_by_label("失信事实").fill("在 2025 年度项目申报中提供虚假检测报告。")
    page.get_by_label("处理决定日期").fill(local_today().isoformat())
    page.get_by_label("限制截止日期").fill(
        (local_today() + timedelta(days=730)).isoformat()
    )
    page.get_by_label("处理决定文号").fill("驻科〔2026〕31 号")
    bureau.click("保存记录")
    bureau.expect_flash("科研诚信记录已保存")

    barred = people(server, "受限院所")
    log_in(barred, "admin@barred.example.cn")
    barred.nav("技术需求")
    barred.link(SECOND)
    expect(barred.page.locator("main")).to_contain_text("因科研诚信记录")
    expect(barred.page.get_by_role("link", name="揭榜申报")).to_have_count(0)
    # Typing the bid form's address directly is refused with the same reason.
    second_id = barred.id_in_url(r"/challenges/(\d+)")
    barred.open(f"/proposals/challenge/{second_id}/new")
    barred.expect_flash("因科研诚信记录")
    barred.screenshot("d_integrity_refusal")
    for someone in (firm, winner, rival, bureau, barred, *experts):
        someone.assert_no_problems()
