"""`flask --app wsgi mail …`: deliver the queue and write the daily digests (cron)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.mail.digest import queue_digests
from marketplace.mail.queue import deliver_due

mail_cli = AppGroup("mail", help="E-mail: the outgoing queue and the daily digest.")


@mail_cli.command("send")
def send() -> None:
    """Send every queued mail that is due; failures are retried later with back-off."""
    if not current_app.config.get("MAIL_SERVER"):
        click.echo(
            "未配置 MAIL_SERVER：邮件保留在发信箱（系统管理 → 发信箱），未发送。"
        )
        return
    sent, failed = deliver_due()
    click.echo(f"已发送 {sent} 封，失败 {failed} 封（稍后重试）。")


@mail_cli.command("digest")
def digest() -> None:
    """Queue the daily digest of unread notifications for those who chose it."""
    queued = queue_digests()
    db.session.commit()
    click.echo(f"已生成 {queued} 封每日汇总邮件。")
