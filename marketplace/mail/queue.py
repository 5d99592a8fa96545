"""Queue mails in the caller's transaction; send due ones over SMTP, with back-off."""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.models import MailKind, MailStatus, OutgoingMail

log = logging.getLogger(__name__)

QUEUED = "mail_queued"
# A claimed mail is not due again for this long, so a sender that dies between
# claiming and sending delays it but never loses it.
CLAIM_SECONDS = 600
MAX_BACKOFF_SECONDS = 6 * 3600


def enqueue(kind: MailKind, to_address: str, subject: str, body: str) -> OutgoingMail:
    """Add a mail to the session; it is sent only if the caller's commit holds."""
    mail = OutgoingMail(
        kind=kind, to_address=to_address, subject=subject[:200], body=body
    )
    db.session.add(mail)
    # Kept for the send right after the commit (no flush here: the caller's
    # other objects may not be complete yet).
    db.session.info.setdefault(QUEUED, []).append(mail)
    if not current_app.config.get("MAIL_SERVER"):
        # No SMTP server (the demo): the log and the 发信箱 page show it.
        log.info(
            "mail kept (no MAIL_SERVER) to=%s subject=%s\n%s", to_address, subject, body
        )
    return mail


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: doubling from MAIL_RETRY_SECONDS, capped."""
    base = int(current_app.config.get("MAIL_RETRY_SECONDS", 60))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _message(mail: OutgoingMail) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = Address(addr_spec=mail.to_address)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="marketplace.local")
    message.set_content(mail.body, charset="utf-8")
    return message


def _connect() -> smtplib.SMTP:
    config = current_app.config
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    timeout = float(config.get("MAIL_TIMEOUT", 10))
    if config.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    return smtp


def _claim(session: Session, mail_id: int, now: datetime) -> bool:
    # Only one sender wins a mail: the cron command and an after-commit send
    # may look at the same row at once.
    claimed = session.execute(
        update(OutgoingMail)
        .where(
            OutgoingMail.id == mail_id,
            OutgoingMail.status == MailStatus.PENDING,
            OutgoingMail.next_attempt_at <= now,
        )
        .values(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
            attempts=OutgoingMail.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return claimed.rowcount == 1


def deliver_due(
    now: datetime | None = None, ids: list[int] | None = None, limit: int = 500
) -> tuple[int, int]:
    """Send the mails that are due (or those of `ids`); returns (sent, failed)."""
    if not current_app.config.get("MAIL_SERVER"):
        return 0, 0
    now = now or utcnow()
    sent = failed = 0
    smtp: smtplib.SMTP | None = None
    with Session(db.engine) as session:
        query = select(OutgoingMail.id).where(
            OutgoingMail.status == MailStatus.PENDING,
            OutgoingMail.next_attempt_at <= now,
        )
        if ids is not None:
            query = query.where(OutgoingMail.id.in_(ids))
        due = session.scalars(query.order_by(OutgoingMail.id).limit(limit)).all()
        try:
            for mail_id in due:
                if not _claim(session, mail_id, now):
                    continue
                mail = session.get(OutgoingMail, mail_id, populate_existing=True)
                try:
                    if smtp is None:
                        smtp = _connect()
                    smtp.send_message(_message(mail))
                except (OSError, smtplib.SMTPException) as error:
                    failed += 1
                    mail.next_attempt_at = now + backoff(mail.attempts)
                    mail.last_error = f"{type(error).__name__}: {error}"[:300]
                    session.commit()
                    log.warning("mail %s not sent: %s", mail_id, mail.last_error)
                    if smtp is not None:
                        _close(smtp)
                    smtp = None
                    continue
                mail.status = MailStatus.SENT
                mail.sent_at = utcnow()
                mail.last_error = ""
                session.commit()
                sent += 1
        finally:
            if smtp is not None:
                _close(smtp)
    return sent, failed


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    # As the search outbox: only the outermost commit, and never a savepoint's.
    if session.in_nested_transaction():
        return
    queued = session.info.pop(QUEUED, None)
    if not queued or not has_app_context():
        return
    config = current_app.config
    if not config.get("MAIL_SERVER") or not config.get("MAIL_SEND_ON_COMMIT", True):
        return
    try:
        # Only this commit's mails: a request never works off the backlog.
        deliver_due(ids=[_identity(mail) for mail in queued])
    except Exception:  # best effort: the cron command sends whatever is left
        log.exception("sending mail after commit failed")


def _identity(mail: OutgoingMail) -> int | None:
    # The committed row's key, read without a query (the object is expired).
    identity = inspect(mail).identity
    return identity[0] if identity else None


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(QUEUED, None)
