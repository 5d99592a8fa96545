"""A real SMTP server on a free local port (aiosmtpd), keeping what it receives."""

from __future__ import annotations

import email
import re
import socket
from email import policy

LINK = re.compile(r"http://127\.0\.0\.1:5000(/\S+)")


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """Collects every message the server accepts."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[email.message.EmailMessage] = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        """Begin listening (again) on the port."""
        # Imported here: tests that only read the queue need no SMTP server.
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: the SMTP server is down."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """Messages addressed to one recipient."""
        return [m for m in self.messages if address in str(m["To"])]

    @staticmethod
    def body(message) -> str:
        """The decoded text of a message."""
        return message.get_body(preferencelist=("plain",)).get_content()

    def link(self, address: str) -> str:
        """The local path of the link in the newest mail to the address."""
        [path] = LINK.findall(self.body(self.to(address)[-1]))
        return path


def queued_link(db, address: str) -> str:
    """The local path of the link in the newest queued mail to the address.

    Without MAIL_SERVER (the test default) mails stay in the queue, unsent.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from marketplace.models import OutgoingMail

    with Session(db.engine) as session:  # a read of its own: rows committed now
        body = session.scalars(
            select(OutgoingMail.body)
            .where(OutgoingMail.to_address == address)
            .order_by(OutgoingMail.id.desc())
        ).first()
    [path] = LINK.findall(body or "")
    return path
