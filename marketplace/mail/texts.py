"""The mails the platform writes, in Chinese; each one is queued, never sent here."""

from __future__ import annotations

from flask import url_for

from marketplace.mail.links import LIFETIME_WORDS, make_token, site_url
from marketplace.mail.queue import enqueue
from marketplace.models import MailKind, OutgoingMail, User

SITE = "技术转移撮合平台"
FOOTER = f"\n\n——\n{SITE}（本邮件由系统发出，请勿直接回复）\n"


def _link(endpoint: str, token: str) -> str:
    return site_url(url_for(endpoint, token=token))


def send_password_reset(user: User) -> OutgoingMail:
    """The link that lets the owner of the address choose a new password."""
    link = _link("auth.reset_password", make_token(user, "reset"))
    body = (
        f"{user.name or user.email}，您好：\n\n"
        f"有人（可能是您本人）申请重置您在{SITE}的登录密码。"
        f"如需重置，请在 {LIFETIME_WORDS['reset']}内打开下面的链接设置新密码"
        "（链接只能使用一次）：\n\n"
        f"{link}\n\n如果不是您本人操作，请忽略本邮件，您的密码不会改变。"
    )
    return enqueue(MailKind.RESET, user.email, f"{SITE}：重置密码", body + FOOTER)


def send_invitation(user: User, inviter: User | None) -> OutgoingMail:
    """An invitation to join the organisation; the invitee sets their own password."""
    link = _link("auth.accept_invitation", make_token(user, "invite"))
    who = f"{inviter.name or inviter.email}" if inviter is not None else "机构管理员"
    body = (
        f"{user.name or user.email}，您好：\n\n"
        f"{who}邀请您以“{user.role.label}”身份加入{SITE}上的“{user.org.name}”。\n"
        f"请在 {LIFETIME_WORDS['invite']}内打开下面的链接，自行设置登录密码"
        "（管理员看不到您的密码）：\n\n"
        f"{link}\n\n"
        "链接过期后，可在登录页点“忘记密码”用本邮箱重新设置。"
        "如果您不认识邀请人，请忽略本邮件。"
    )
    subject = f"{SITE}：邀请您加入{user.org.name}"
    return enqueue(MailKind.INVITATION, user.email, subject, body + FOOTER)


def send_confirmation(user: User) -> OutgoingMail:
    """The link that confirms a new account's e-mail address."""
    link = _link("auth.confirm_email", make_token(user, "confirm"))
    body = (
        f"{user.name or user.email}，您好：\n\n"
        f"感谢注册{SITE}（机构：{user.org.name}）。请在 {LIFETIME_WORDS['confirm']}"
        "内打开下面的链接确认邮箱，确认后即可登录：\n\n"
        f"{link}\n\n如果您没有注册过，请忽略本邮件，该账号将无法登录。"
    )
    return enqueue(
        MailKind.CONFIRM_EMAIL, user.email, f"{SITE}：确认邮箱", body + FOOTER
    )


def send_signup_taken(user: User) -> OutgoingMail:
    """Tell an account's owner that someone tried to sign up with their address."""
    body = (
        f"{user.name or user.email}，您好：\n\n"
        f"有人刚刚尝试用您的邮箱在{SITE}注册新机构账号。您的邮箱已有账号，"
        "因此没有创建新账号。\n\n"
        f"如果是您本人，请直接登录：{site_url(url_for('auth.login'))}\n"
        f"忘记密码可在此重置：{site_url(url_for('auth.forgot_password'))}\n\n"
        "如果不是您本人，无需处理。"
    )
    subject = f"{SITE}：有人尝试用您的邮箱注册"
    return enqueue(MailKind.SIGNUP_TAKEN, user.email, subject, body + FOOTER)


def send_notification(user: User, message: str, link: str) -> OutgoingMail:
    """One in-app notification, also by mail (the user chose 每条通知都发邮件)."""
    body = f"{user.name or user.email}，您好：\n\n{message}\n"
    if link:
        body += f"\n查看：{site_url(link)}\n"
    body += (
        f"\n不想收到这类邮件？请在通知设置中修改：{site_url('/notifications/settings')}"
    )
    subject = f"{SITE}通知：{message[:60]}"
    return enqueue(MailKind.NOTIFICATION, user.email, subject, body + FOOTER)


def send_digest(user: User, lines: list[tuple[str, str]]) -> OutgoingMail:
    """The day's unread notifications in one mail."""
    items = "\n".join(
        f"{n}. {message}" + (f"\n   {site_url(link)}" if link else "")
        for n, (message, link) in enumerate(lines, start=1)
    )
    body = (
        f"{user.name or user.email}，您好：\n\n"
        f"您有 {len(lines)} 条未读通知：\n\n{items}\n\n"
        f"全部通知：{site_url('/notifications/')}\n"
        f"修改邮件设置：{site_url('/notifications/settings')}"
    )
    subject = f"{SITE}：{len(lines)} 条未读通知汇总"
    return enqueue(MailKind.DIGEST, user.email, subject, body + FOOTER)
