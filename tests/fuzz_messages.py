"""Fuzz specs for the message threads: asking, writing, clarifying, reviewing.

tests/test_fuzz_forms.py adds them to its SPECS with `message_specs(S)`.
"""

from __future__ import annotations

from typing import Any

from marketplace.extensions import db
from marketplace.models import Deal
from tests.fuzz_delivery import _project

MESSAGE = {"body": "请问温控精度要求是多少？\n附上我们的参数表。"}
CLARIFY = {"question": "能否放宽温控精度？", "answer": "不能。", "confirm": "y"}
REVIEW = {"complaint": "TS-2026-01", "reason": "企业投诉", "confirm": "y"}
INBOXES = ["firm:/messages/", "institute:/messages/", "firm:/", "institute:/"]


def _challenge(w: Any) -> dict:
    return {"c": w.challenge()}


def _result(w: Any) -> dict:
    return {"r": w.result()}


def _thread(w: Any) -> dict:
    """The institute asked the firm's challenge: the thread and the challenge."""
    cid = w.challenge()
    url = f"/messages/challenge/{cid}/ask"
    response = w.client("institute").post(url, data={"body": "提问"})
    assert response.status_code == 302, response.status_code
    return {"c": cid, "t": int(response.headers["Location"].rsplit("/", 1)[1])}


def _deal(w: Any) -> dict:
    firm, inst = w.org("firm"), w.org("institute")

    def add() -> int:
        deal = Deal(title="冷链撮合", demand_org_id=firm.id, supply_org_id=inst.id)
        db.session.add(deal)
        db.session.flush()
        return deal.id

    return {"deal": w.run(add)}


def message_specs(S) -> list:
    """The specs, built with test_fuzz_forms' spec builder."""
    # fmt: off
    return [
        S("/messages/challenge/<int:challenge_id>/ask", "institute",
          "/messages/challenge/{c}/ask", MESSAGE, _challenge, INBOXES,
          files=True, examples=10),
        S("/messages/result/<int:result_id>/ask", "firm",
          "/messages/result/{r}/ask", MESSAGE, _result, INBOXES, examples=6),
        S("/messages/<int:thread_id>", "firm", "/messages/{t}", MESSAGE, _thread,
          ["institute:/messages/{t}", *INBOXES], files=True, examples=10),
        S("/messages/<int:thread_id>/clarifications", "firm",
          "/messages/{t}/clarifications", CLARIFY, _thread,
          ["anon:/challenges/{c}", "institute:/challenges/{c}"], examples=8),
        S("/messages/<int:thread_id>/review", "bureau", "/messages/{t}/review",
          REVIEW, _thread, ["firm:/messages/{t}"], examples=6),
        S("/messages/deal/<int:deal_id>", "firm", "/messages/deal/{deal}", MESSAGE,
          _deal, ["institute:/deals/{deal}", *INBOXES], examples=6),
        S("/messages/project/<int:project_id>", "institute",
          "/messages/project/{project}", MESSAGE, _project,
          ["firm:/projects/{project}", *INBOXES, "bureau:/messages/"], examples=6),
    ]
    # fmt: on
