"""Page helpers for the browser journeys in tests/test_browser.py.

Each `Person` is one user in a browser context of their own (own cookies, own
session), driving the real pages: navigation links, menus, forms and buttons,
exactly as someone at a desk would. Nothing here talks to the database.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Locator, Page, expect

from marketplace.creditcode import make_credit_code
from tests.sample_files import one_page_pdf

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "Journey2026pass"
# Generous: the first search in a worker loads jieba's dictionary, and CI machines
# may be busy. A passing step never waits for it.
STEP_TIMEOUT_MS = 30_000
BUREAU_NAME = "驻马店市科学技术局"
BUREAU_EMAIL = "staff@bureau.example.cn"

# GB 32100 registration authority and type per organisation kind label.
_REGISTRATION = {"企业": "91", "技术转移机构": "91", "科研院所": "12", "高校": "12"}


def _counted(label: str) -> re.Pattern:
    """`label` exactly, or followed by its unread count (消息 2, 通知 3)."""
    return re.compile(rf"^{re.escape(label)}(\s.*)?$")


class Person:
    """One user with a browser context (and so a login session) of their own."""

    def __init__(self, browser: Browser, base_url: str, name: str):
        self.name = name
        self.context = browser.new_context(
            base_url=base_url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1280, "height": 900},
        )
        self.context.set_default_timeout(STEP_TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"JS: {exc}"))
        self.page.on("response", self._check_response)

    def _check_response(self, response) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} {response.url}")

    # --- moving around ---------------------------------------------------------

    def open(self, path: str) -> Page:
        """Type an address into the browser (only for entry points)."""
        self.page.goto(path)
        return self.page

    def nav(self, label: str) -> None:
        """Click a link in the site's top navigation."""
        self.page.get_by_label("主导航").get_by_role(
            "link", name=_counted(label)
        ).click()
        self.page.wait_for_load_state()

    def menu(self, toggle: str, item: str) -> None:
        """Open a navigation dropdown (科技局, or the user's own menu) and pick."""
        navbar = self.page.get_by_label("主导航")
        if toggle == "user":
            navbar.locator(".user-menu-toggle").click()
        else:
            navbar.get_by_role("button", name=toggle, exact=True).click()
        navbar.locator(".dropdown-menu.show .dropdown-item").filter(
            has_text=_counted(item)
        ).click()
        self.page.wait_for_load_state()

    def click(
        self,
        name: str,
        scope: Locator | None = None,
        role: str = "button",
        exact: bool = True,
    ) -> None:
        """Click a button (or link) by its visible name, within `scope` if given."""
        where = scope if scope is not None else self.page
        where.get_by_role(role, name=name, exact=exact).click()
        self.page.wait_for_load_state()

    def link(self, name: str, scope: Locator | None = None, exact=True) -> None:
        """Follow a link by its visible text."""
        self.click(name, scope, role="link", exact=exact)

    def card(self, text: str) -> Locator:
        """The card on the page that mentions `text` (innermost such card)."""
        return self.page.locator(".card", has_text=text).last

    # --- reading the page ------------------------------------------------------

    def expect_flash(self, text: str) -> None:
        """The page shows a flash message containing `text`."""
        expect(self.page.locator(".flash-area")).to_contain_text(text)

    def expect_heading(self, text: str) -> None:
        """The page's main heading contains `text`."""
        expect(self.page.locator("main h1")).to_contain_text(text)

    def id_in_url(self, pattern: str) -> int:
        """The number the current address carries, e.g. r'/deals/(\\d+)'."""
        found = re.search(pattern, self.page.url)
        assert found, (pattern, self.page.url)
        return int(found.group(1))

    def screenshot(self, name: str) -> Path:
        """Save the whole current page under test-artifacts/browser/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_no_problems(self) -> None:
        """No page answered with a server error and no script failed."""
        assert not self.problems, f"{self.name}: {self.problems}"

    def close(self) -> None:
        """Close the context (the browser stays for the next person)."""
        self.context.close()


# --- accounts -------------------------------------------------------------------


def credit_code(kind_label: str, serial: int, region: str = "411702") -> str:
    """A valid unified social credit code for a sign-up form."""
    return make_credit_code(region, serial, _REGISTRATION[kind_label])


def cli(server, *args: str) -> str:
    """Run `flask --app wsgi ARGS` on the server's database; fail with its stderr."""
    done = server.flask(*args, check=False)
    assert done.returncode == 0, (args, done.returncode, done.stderr[-3000:])
    return done.stdout


def bootstrap_bureau(server) -> None:
    """Create the bureau and its staff account from the command line.

    That is how a deployment starts: the bureau cannot sign up through the site.
    """
    cli(
        server,
        "create-org",
        BUREAU_NAME,
        "--kind",
        "bureau",
        "--credit-code",
        make_credit_code("411700", 1, "11"),
        "--region",
        "驿城区",
        "--verified",
    )
    cli(
        server,
        "create-user",
        BUREAU_EMAIL,
        "--org",
        BUREAU_NAME,
        "--role",
        "org_admin",
        "--password",
        PASSWORD,
        "--name",
        "科技局审核员",
    )


def sign_up(
    person: Person,
    kind_label: str,
    org_name: str,
    email: str,
    serial: int,
    region: str = "驿城区",
    *,
    database_url: str,
) -> None:
    """Register an organisation and its administrator, confirm the e-mail, log in.

    `database_url` is the server's database: without MAIL_SERVER the
    confirmation mail waits in its queue, where the test reads the link.
    """
    person.open("/")
    person.link("注册")
    page = person.page
    page.get_by_label("机构类型").select_option(label=kind_label)
    page.get_by_label("所在县区").select_option(label=region)
    page.get_by_label("机构名称").fill(org_name)
    page.get_by_label("统一社会信用代码").fill(credit_code(kind_label, serial))
    page.get_by_label("联系人姓名").fill(f"{person.name}联系人")
    page.get_by_label("登录邮箱").fill(email)
    # Labels carry a required mark: "密码*".
    page.get_by_label(re.compile(r"^密码\W*$")).fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    person.click("提交注册")
    # The same answer whether or not the e-mail had an account; then log in.
    person.expect_flash("注册申请已提交")
    confirm_email(person, database_url, email)
    log_in(person, email)
    person.menu("user", "我的机构")
    person.expect_heading(org_name)


def confirm_email(person: Person, database_url: str, email: str) -> None:
    """Open the confirmation link mailed to the address and press its button."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            body = conn.execute(
                text(
                    "SELECT body FROM outgoing_mails WHERE to_address = :address"
                    " ORDER BY id DESC"
                ),
                {"address": email},
            ).scalar()
    finally:
        engine.dispose()
    found = re.search(r"https?://[^/\s]+(/auth/confirm/\S+)", body or "")
    assert found, f"no confirmation link mailed to {email}"
    person.open(found.group(1))
    person.click("确认邮箱")
    expect(person.page.get_by_role("status")).to_contain_text("邮箱已确认")


def log_in(person: Person, email: str) -> None:
    """Log in from the navigation bar's 登录 button."""
    person.open("/")
    person.link("登录", person.page.get_by_label("主导航"))
    person.page.get_by_label("邮箱").fill(email)
    person.page.get_by_label("密码").fill(PASSWORD)
    person.click("登录")
    person.expect_flash("欢迎")


def verify_organisations(bureau: Person, *names: str) -> None:
    """Bureau staff approve the named organisations in the 机构审核 queue."""
    bureau.menu("科技局", "机构审核")
    for name in names:
        bureau.click("审核通过", bureau.card(name))
        bureau.expect_flash(f"已通过：{name}")


def approve_listing(bureau: Person, title: str) -> None:
    """Bureau staff publish a listing from the 信息审核 queue."""
    bureau.menu("科技局", "信息审核")
    bureau.click("审核通过并发布", bureau.card(title))
    bureau.expect_flash(f"已通过并发布：{title}")


def open_notification(person: Person, text: str) -> None:
    """Open the user's notifications and follow the one mentioning `text`."""
    person.menu("user", "通知")
    item = person.page.locator(".list-group-item", has_text=text).first
    item.get_by_role("button").first.click()
    person.page.wait_for_load_state()


def select_winner(owner: Person, bidder: str, reason: str = "报价") -> None:
    """From the list of bids, open the bidder's bid and select it (reason, tick)."""
    owner.link("选定中选…", owner.page.locator("tr", has_text=bidder))
    form = owner.page.locator("#select-form")
    # The reason the other bidders are told is asked only when there are others.
    others = form.get_by_label("未中选原因", exact=False)
    if others.count():
        others.select_option(label=reason)
    form.get_by_label("确认选定中选", exact=False).check()
    owner.click("选定中选", form)
    owner.expect_flash("已选定中选方")


# --- files ------------------------------------------------------------------------


def write_pdf(path: Path, line: str = "Technical proposal") -> Path:
    """A small but well-formed one-page PDF written to `path`."""
    path.write_bytes(one_page_pdf(line))
    return path


def local_today() -> date:
    """Today in the city (Asia/Shanghai), as the server counts days."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()
