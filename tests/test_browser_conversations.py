"""Browser journey (e): questions, NDAs, a consortium bid, messages and mail.

Against a real gunicorn server that sends its mail to a local SMTP server
(aiosmtpd, tests/mail_server.py), through the site's pages in Chromium. The
organisations and their administrators are created from the command line (the
sign-up pages are journey (a)); then, all in the browser:

- the bureau writes an NDA template; an enterprise posts a challenge with
  confidential detail, the bureau publishes it and the owner picks the template;
- another firm asks the owner a question; the owner publishes it as a 澄清 and
  an institute reads it on the challenge page without the asker's name;
- the institute signs the NDA, sees the confidential detail and downloads the
  signed PDF; it bids with a university as consortium partner, who confirms;
- the owner moves the deadline later; the bureau approves the change and the
  bidders and the consortium partner are told (in the site and by mail);
- the owner selects the consortium's bid (the firm's bid is declined with a
  reason); the partner opens the deal, read-only;
- the institute and the owner exchange messages on the deal's thread, one with
  an attachment, each reading the other's; the partner reads along;
- the firm's administrator forgets the password, resets it through the link
  mailed to the SMTP server and logs in with the new one.
"""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser_steps import (
    BUREAU_EMAIL,
    PASSWORD,
    Person,
    approve_listing,
    bootstrap_bureau,
    cli,
    credit_code,
    local_today,
    log_in,
    open_notification,
    select_winner,
    write_pdf,
)

# The browser fixtures of journeys (a)–(c); importing them skips this module too
# where Chromium is missing.
from tests.test_browser import browser, people  # noqa: F401

OWNER = "西平县示范饲料有限公司"
ASKER = "遂平县示范食品有限公司"
INSTITUTE = "驻马店市畜牧兽医研究所"
PARTNER = "黄淮学院"
EMAILS = {
    OWNER: "admin@owner5.example.cn",
    ASKER: "admin@asker5.example.cn",
    INSTITUTE: "admin@inst5.example.cn",
    PARTNER: "admin@hhu5.example.cn",
}
CHALLENGE = "饲料霉菌毒素降解酶制剂研制与应用"
SECRET = "现有混合机转速 24 转/分钟，日产颗粒饲料 300 吨。"
TEMPLATE = "技术需求保密协议（驻马店市示范文本）"
QUESTION = "请问降解酶是否需要耐受 85 ℃ 制粒温度？"
ANSWER = "需要：制粒温度 80–90 ℃，酶活保留率不低于 70%。"
SIGNER = "李文博"
NEW_PASSWORD = "Reset2026journey"
MAIL_WAIT_SECONDS = 30


@pytest.fixture
def smtp():
    """A local SMTP server keeping every mail the site sends."""
    from tests.mail_server import Inbox, free_port

    box = Inbox(free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture
def server(live_server, smtp):
    """gunicorn with two workers sending its mail to `smtp`; the bureau's account."""
    started = live_server(
        workers=2,
        env={"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)},
    )
    bootstrap_bureau(started)
    return started


def _orgs(live) -> None:
    """The organisations and their administrators, as a deployment would add them."""
    orgs = [
        (OWNER, "enterprise", "企业", 501),
        (ASKER, "enterprise", "企业", 502),
        (INSTITUTE, "institute", "科研院所", 503),
        (PARTNER, "university", "高校", 504),
    ]
    for name, kind, label, serial in orgs:
        code = credit_code(label, serial)
        cli(live, "create-org", name, "--kind", kind, "--credit-code", code,
            "--region", "驿城区", "--verified")  # fmt: skip
        cli(live, "create-user", EMAILS[name], "--org", name, "--role", "org_admin",
            "--password", PASSWORD, "--name", f"{name[:4]}管理员")  # fmt: skip


def _mails(smtp, address: str, text: str) -> list:
    """The mails to `address` whose text mentions `text`, waiting for the first."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while True:
        found = [m for m in smtp.to(address) if text in smtp.body(m)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _write_template(bureau: Person) -> None:
    bureau.menu("科技局", "保密协议模板")
    bureau.link("新建模板")
    bureau.page.get_by_label("协议名称").fill(TEMPLATE)
    bureau.page.get_by_label("协议正文").fill(
        "一、接收方对发榜企业披露的保密内容负有保密义务。\n"
        "二、保密期限为自签署之日起三年。"
    )
    bureau.click("保存")
    bureau.expect_flash("保密协议模板已创建")


def _post_challenge(owner: Person) -> int:
    owner.nav("技术需求")
    owner.link("发布技术需求")
    page = owner.page
    page.get_by_label("需求名称").fill(CHALLENGE)
    page.get_by_label("技术领域").select_option(label="农业")
    page.get_by_label("关键词").fill("霉菌毒素、降解酶、饲料")
    page.get_by_label("公开摘要").fill("饲料中玉米赤霉烯酮等霉菌毒素的生物降解。")
    page.get_by_label("问题描述").fill(
        "我公司颗粒饲料原料玉米霉菌毒素偶有超标，需要耐制粒温度的降解酶制剂。"
    )
    page.get_by_label("技术指标").fill("玉米赤霉烯酮降解率不低于 90%。")
    page.get_by_label("保密内容").fill(SECRET)
    page.get_by_label("榜额（万元）").fill("60")
    # Firms may bid too (the asker does): universities and institutes by default.
    page.get_by_label("企业", exact=True).check()
    deadline = local_today() + timedelta(days=30)
    page.get_by_label("揭榜截止日期").fill(deadline.isoformat())
    owner.click("保存草稿")
    owner.expect_flash("草稿已保存")
    owner.click("提交审核")
    owner.expect_flash("已提交科技局审核")
    return owner.id_in_url(r"/challenges/(\d+)")


def _bid(person: Person, challenge_id: int, price: str, members: str = "") -> None:
    person.open(f"/challenges/{challenge_id}")
    person.link("揭榜申报")
    page = person.page
    page.get_by_label("解决方案概述").fill("筛选耐热玉米赤霉烯酮水解酶并包被保护。")
    page.get_by_label("技术路线").fill("菌种筛选、定向改造、包被工艺、饲喂试验。")
    page.get_by_label("报价（万元）").fill(price)
    page.get_by_label("实施周期（月）").fill("12")
    page.get_by_label("团队情况").fill("酶工程与动物营养团队 6 人。")
    if members:
        page.get_by_label("联合体成员").fill(members)
    person.click("提交申报")
    person.expect_flash("申报已提交")


def _clarify(owner: Person, asker: Person, challenge_id: int) -> None:
    """The firm asks; the owner publishes the question and answer as a 澄清."""
    asker.open(f"/challenges/{challenge_id}")
    asker.link("向发布方提问")
    asker.page.get_by_label("消息内容").fill(f"我们是{ASKER}。{QUESTION}")
    asker.click("发送提问")
    asker.expect_flash("消息已发送")

    open_notification(owner, "发来新消息")
    owner.expect_heading(CHALLENGE)
    expect(owner.page.locator(".message-list")).to_contain_text(QUESTION)
    owner.page.get_by_label("消息内容").fill(ANSWER)
    owner.click("发送")
    owner.expect_flash("消息已发送")
    # The question is drafted from the asker's message; the owner takes the
    # asker's name out before publishing it to everyone.
    question = owner.page.get_by_label(re.compile("^问题"))
    expect(question).to_have_value(re.compile(re.escape(QUESTION)))
    question.fill(QUESTION)
    owner.page.get_by_label(re.compile("^答复")).fill(ANSWER)
    owner.page.get_by_label("我确认将以上问答公开给所有揭榜方", exact=False).check()
    owner.click("发布澄清")
    owner.expect_flash("澄清已发布")


def _sign_nda(institute: Person, tmp_path) -> None:
    """The institute signs the NDA, reads the secret and downloads the PDF."""
    main = institute.page.locator("main")
    expect(main).not_to_contain_text(SECRET)
    institute.link("阅读并签署保密协议")
    expect(main).to_contain_text("保密期限为自签署之日起三年")
    institute.page.get_by_label("姓名").fill(SIGNER)
    institute.page.get_by_label("职务").fill("副所长")
    institute.page.get_by_label("本人已阅读上述协议全文", exact=False).check()
    institute.click("签署")
    institute.expect_flash("已签署保密协议")
    expect(main).to_contain_text(SECRET)
    with institute.page.expect_download() as download:
        institute.link("下载已签署的协议（PDF）")
    saved = tmp_path / "nda.pdf"
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-"), data[:20]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert SIGNER in text and INSTITUTE in text and CHALLENGE in text, text


def _extend_deadline(
    owner: Person, bureau: Person, bidder: Person, challenge_id: int
) -> str:
    """The owner moves the deadline later; the bureau approves; returns it."""
    old = (local_today() + timedelta(days=30)).isoformat()
    new = (local_today() + timedelta(days=45)).isoformat()
    owner.open(f"/challenges/{challenge_id}")
    owner.link("修改")
    owner.page.get_by_label("揭榜截止日期").fill(new)
    owner.click("保存修改")
    owner.expect_flash("重要修改已提交科技局审核")
    # The owner sees the change waiting; until the bureau approves, bidders
    # see the published date.
    expect(owner.page.locator("#change-history")).to_contain_text(new)
    bidder.open(f"/challenges/{challenge_id}")
    expect(bidder.page.locator("main")).to_contain_text(old)
    expect(bidder.page.locator("main")).not_to_contain_text(new)

    bureau.menu("科技局", "信息审核")
    bureau.link("已发布信息的重要修改", exact=False)
    change = bureau.card(CHALLENGE)
    expect(change.locator("tbody")).to_contain_text(new)
    change.get_by_label("我已核对修改内容，确认生效").check()
    bureau.click("审核通过，修改生效", change)
    bureau.expect_flash(f"修改已生效：{CHALLENGE}")
    return new


def _deal_messages(
    institute: Person, owner: Person, partner: Person, tmp_path
) -> None:
    """Both sides write on the deal's thread, one message with a PDF."""
    plan = write_pdf(tmp_path / "实施方案.pdf", "Implementation plan")
    open_notification(institute, "贵机构的申报已中选")
    deal_id = institute.id_in_url(r"/deals/(\d+)")
    institute.link("进入会话", institute.page.locator("#messages"))
    assert institute.id_in_url(r"/messages/deal/(\d+)") == deal_id
    page = institute.page
    page.get_by_label("消息内容").fill("实施方案见附件，请贵公司确认试验场地。")
    page.get_by_label("附件").set_input_files(str(plan))
    institute.click("发送")
    institute.expect_flash("消息已发送")
    mine = page.locator(".message-list > li", has_text="实施方案见附件")
    expect(mine).to_contain_text("对方未读")

    # The owner finds the unread message in the header and the inbox.
    owner.open("/")
    expect(owner.page.locator(".unread-messages")).to_be_visible()
    owner.nav("消息")
    owner.link(CHALLENGE, owner.page.locator(".list-group-item-primary"), exact=False)
    message = owner.page.locator(".message-list > li", has_text="实施方案见附件")
    expect(message).to_contain_text(f"{INSTITUTE[:4]}管理员")
    with owner.page.expect_download() as download:
        owner.link("实施方案.pdf", message)
    assert download.value.path().read_bytes() == plan.read_bytes()
    owner.page.get_by_label("消息内容").fill("方案已收到，试验场地安排在西平厂区。")
    owner.click("发送")
    owner.expect_flash("消息已发送")
    owner.screenshot("e_deal_thread_owner")

    # Each side sees the other read its message; the partner reads along.
    institute.page.reload()
    expect(institute.page.locator(".message-list")).to_contain_text("西平厂区")
    expect(mine).to_contain_text(f"已读：{OWNER[:4]}管理员（{OWNER}）")
    partner.open(f"/messages/deal/{deal_id}")
    expect(partner.page.locator(".message-list")).to_contain_text("西平厂区")
    expect(partner.page.get_by_role("link", name="实施方案.pdf")).to_be_visible()
    institute.screenshot("e_deal_thread_institute")


def _reset_password(server, people, smtp, asker: Person) -> None:  # noqa: F811
    """The firm's administrator resets a forgotten password through the mail."""
    email = EMAILS[ASKER]
    forgetful = people(server, "忘记密码")
    forgetful.open("/")
    forgetful.link("登录", forgetful.page.get_by_label("主导航"))
    forgetful.link("忘记密码？")
    forgetful.page.get_by_label("登录邮箱").fill(email)
    forgetful.click("发送重置链接")
    forgetful.expect_flash("重置密码的链接已发送到该邮箱")
    [mail] = _mails(smtp, email, "/auth/reset/")
    found = re.search(r"https?://[^/\s]+(/auth/reset/\S+)", smtp.body(mail))
    assert found, smtp.body(mail)
    forgetful.open(found.group(1))
    # Labels carry a required mark: "新密码*".
    forgetful.page.get_by_label(re.compile(r"^新密码\W*$")).fill(NEW_PASSWORD)
    forgetful.page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    forgetful.click("保存密码")
    expect(forgetful.page.locator("main")).to_contain_text("密码已重置")
    forgetful.screenshot("e_password_reset")
    forgetful.link("去登录")
    forgetful.page.get_by_label("邮箱").fill(email)
    forgetful.page.get_by_label("密码").fill(NEW_PASSWORD)
    forgetful.click("登录")
    forgetful.expect_flash("欢迎")
    forgetful.assert_no_problems()
    # The reset ended the sessions logged in with the old password.
    asker.open("/messages/")
    expect(asker.page.get_by_label("邮箱")).to_be_visible()
    assert "/auth/login" in asker.page.url, asker.page.url


def test_question_nda_consortium_deal_messages_and_password_reset(
    server,
    smtp,
    people,  # noqa: F811
    tmp_path,
):
    """Journey (e): from a question to the deal's conversation, then a reset."""
    _orgs(server)
    owner = people(server, "发榜企业")
    asker = people(server, "提问企业")
    institute = people(server, "牵头院所")
    partner = people(server, "联合体高校")
    bureau = people(server, "科技局")
    for person, name in (
        (owner, OWNER),
        (asker, ASKER),
        (institute, INSTITUTE),
        (partner, PARTNER),
    ):
        log_in(person, EMAILS[name])
    log_in(bureau, BUREAU_EMAIL)

    # The bureau's NDA template; the owner's challenge, published, with it.
    _write_template(bureau)
    challenge_id = _post_challenge(owner)
    approve_listing(bureau, CHALLENGE)
    owner.open(f"/challenges/{challenge_id}")
    owner.link("设置协议、查看签署记录")
    owner.page.get_by_label("保密协议").select_option(label=f"{TEMPLATE}（第 1 版）")
    owner.click("保存")
    owner.expect_flash("保密协议设置已保存")

    # A question becomes a clarification every bidder reads, without the asker.
    _clarify(owner, asker, challenge_id)
    institute.nav("技术需求")
    institute.link(CHALLENGE)
    assert institute.id_in_url(r"/challenges/(\d+)") == challenge_id
    clarifications = institute.page.locator("#clarifications")
    expect(clarifications).to_contain_text(QUESTION)
    expect(clarifications).to_contain_text(ANSWER)
    expect(institute.page.locator("main")).not_to_contain_text(ASKER)
    institute.screenshot("e_clarification_seen_by_bidder")

    # The institute signs the NDA and bids with the university; it confirms.
    _sign_nda(institute, tmp_path)
    owner.open(f"/ndas/challenges/{challenge_id}")
    expect(owner.page.locator("tbody")).to_contain_text(SIGNER)
    _bid(institute, challenge_id, "55", members=PARTNER)
    proposal_id = institute.id_in_url(r"/proposals/(\d+)")
    open_notification(partner, "邀请贵机构作为联合体成员")
    assert partner.id_in_url(r"/proposals/(\d+)") == proposal_id
    partner.click("确认参加")
    partner.expect_flash("已确认参加联合体")
    _bid(asker, challenge_id, "58")

    # A later deadline, approved by the bureau, reaches every bidder and member.
    new_deadline = _extend_deadline(owner, bureau, institute, challenge_id)
    notice = f"揭榜截止日期延长至 {new_deadline}"
    open_notification(partner, notice)
    assert partner.id_in_url(r"/challenges/(\d+)") == challenge_id
    expect(partner.page.locator("main")).to_contain_text(new_deadline)
    partner.screenshot("e_deadline_extended_partner")
    for person, name in ((institute, INSTITUTE), (asker, ASKER)):
        open_notification(person, notice)
        expect(person.page.locator("main")).to_contain_text(new_deadline)
        assert _mails(smtp, EMAILS[name], notice), name
    assert _mails(smtp, EMAILS[PARTNER], notice)

    # The owner shortlists the consortium's bid, closes bidding and selects it.
    owner.open(f"/challenges/{challenge_id}")
    owner.link("查看全部申报")
    owner.click("入围", owner.page.locator("tr", has_text=INSTITUTE))
    owner.expect_flash("已列入入围名单")
    owner.link(CHALLENGE, owner.page.locator("main"))
    owner.page.get_by_label("确认提前截止", exact=False).check()
    owner.click("提前截止并开始评审")
    owner.expect_flash("揭榜已截止")
    owner.link("查看全部申报")
    select_winner(owner, INSTITUTE)
    owner.screenshot("e_bid_selected")

    # The partner sees the deal, read-only, with itself as consortium member.
    open_notification(partner, "贵机构所在联合体")
    partner.expect_heading(CHALLENGE)
    expect(partner.page.locator("#consortium")).to_contain_text(PARTNER)
    expect(partner.page.locator("main")).to_contain_text("只读")
    expect(partner.page.get_by_role("button", name="添加备注")).to_have_count(0)
    stages = partner.page.get_by_role("button", name=re.compile("^改为"))
    expect(stages).to_have_count(0)
    partner.screenshot("e_deal_seen_by_partner")
    assert _mails(smtp, EMAILS[PARTNER], "的申报已中选，撮合项目已建立")
    asker.menu("user", "通知")
    expect(asker.page.locator("main")).to_contain_text("申报未中选（原因：报价）")

    _deal_messages(institute, owner, partner, tmp_path)
    _reset_password(server, people, smtp, asker)
    for someone in (owner, asker, institute, partner, bureau):
        someone.assert_no_problems()
