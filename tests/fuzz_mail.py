"""Fuzz specs for the mailed-link forms and the mail settings.

tests/test_fuzz_forms.py adds them to its SPECS with `mail_specs(S)`.
"""

from __future__ import annotations

from typing import Any

from marketplace.extensions import db
from marketplace.mail.links import make_token
from marketplace.models import User

NEW = {"password": "Fuzz-Passw0rd-9", "confirm": "Fuzz-Passw0rd-9"}


def _account(w: Any, kind: str) -> dict:
    """A fresh account and a good link for it; the visitor holding it is anonymous."""
    account = w.factory.user(w.org("firm"))

    def token() -> str:
        user = db.session.get(User, account.id)
        if kind != "reset":
            user.email_confirmed_at = None
        db.session.flush()
        return make_token(user, kind)

    return {
        "client": w.client("anon"),
        "token": w.run(token),
        "email": account.email,
    }


def mail_specs(S) -> list:
    """The specs, built with test_fuzz_forms' spec builder."""
    # fmt: off
    return [
        S("/auth/forgot", "self", "/auth/forgot",
          lambda w, c: {"email": c["email"]}, lambda w: _account(w, "reset"),
          ["self:/auth/forgot", "self:/auth/login"], examples=8),
        S("/auth/reset/<token>", "self", "/auth/reset/{token}", NEW,
          lambda w: _account(w, "reset"), ["self:/auth/login"], examples=8),
        S("/auth/invitation/<token>", "self", "/auth/invitation/{token}", NEW,
          lambda w: _account(w, "invite"), ["self:/auth/login"], examples=8),
        S("/auth/confirm/<token>", "self", "/auth/confirm/{token}", {},
          lambda w: _account(w, "confirm"), ["self:/auth/login"], examples=4),
        S("/notifications/settings", "firm", "/notifications/settings",
          {"preference": "digest"}, None,
          ["firm:/notifications/settings", "firm:/notifications/"], examples=6),
    ]
    # fmt: on
