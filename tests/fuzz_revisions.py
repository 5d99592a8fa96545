"""Fuzz specs for editing published listings and the bureau's change queue.

tests/test_fuzz_forms.py adds them to its SPECS with `revision_specs(S)`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marketplace.extensions import db
from marketplace.models import Challenge, ChangeKind, ChangeStatus, ListingChange
from tests.dates import iso

# make_challenge's and make_result's dates, which the forms must send unchanged
# (a result's date is renewed, not revised) or later (a challenge's deadline).
DEADLINE_DAYS, VALID_DAYS = 30, 365


def _challenge_form(w: Any, ctx: dict) -> dict:
    return {
        "title": "锂电池回收技术需求（修改）", "description": "需要低能耗回收工艺。",
        "technical_targets": "回收率 ≥ 97%", "public_summary": "寻求回收方案",
        "confidential_detail": "工艺参数保密", "field": "environment",
        "region": "411702", "keywords": "锂电池、回收", "bounty": "80",
        "deadline": iso(DEADLINE_DAYS),
        "allowed_bidder_kinds": ["university", "institute"],
        "consortium_allowed": "y", "contact_name": "王经理",
        "contact_phone": "0396-1234567", "contact_email": "wang@example.cn",
    }  # fmt: skip


def _result_form(w: Any, ctx: dict) -> dict:
    return {
        "title": "高效生物膜处理工艺（修改）", "abstract": "COD 去除率达 97%。",
        "field": str(w.field()), "discipline": "环境工程", "keywords": "生物膜",
        "trl": "7", "ip_type": "发明专利", "ip_numbers": "ZL2020100000001",
        "transfer_modes": ["转让"], "price": "45", "benefit": "年节约 100 万元",
        "valid_until": iso(VALID_DAYS), "contact_name": "李老师",
        "contact_phone": "0396-7654321", "contact_email": "li@example.cn",
    }  # fmt: skip


def _pending(w: Any) -> dict:
    """A fresh open challenge with a material change waiting for the bureau."""
    challenge_id = w.challenge()

    def add() -> int:
        challenge = db.session.get(Challenge, challenge_id)
        later = challenge.deadline + timedelta(days=20)
        change = ListingChange(
            challenge_id=challenge_id,
            kind=ChangeKind.MATERIAL,
            status=ChangeStatus.PENDING,
            changes={
                "bounty_fen": [challenge.bounty_fen, 80_000_000],
                "deadline": [challenge.deadline.isoformat(), later.isoformat()],
            },
        )
        db.session.add(change)
        db.session.flush()
        return change.id

    return {"c": challenge_id, "change": w.run(add)}


SHOWN = ["firm:/challenges/{c}", "anon:/challenges/{c}", "bureau:/bureau/changes"]


def revision_specs(S) -> list:
    """The specs, built with test_fuzz_forms' spec builder."""
    # fmt: off
    return [
        S("/challenges/<int:challenge_id>/revise", "firm", "/challenges/{c}/revise",
          _challenge_form, lambda w: {"c": w.challenge()},
          [*SHOWN, "firm:/challenges/{c}/revise", "anon:/search?q=锂电池回收"],
          examples=15),
        S("/results/<int:result_id>/revise", "institute", "/results/{r}/revise",
          _result_form, lambda w: {"r": w.result()},
          ["institute:/results/{r}", "anon:/results/{r}", "bureau:/bureau/changes",
           "institute:/results/{r}/revise", "anon:/search?q=生物膜处理"],
          examples=12),
        S("/bureau/changes/<int:change_id>/approve", "bureau",
          "/bureau/changes/{change}/approve", {"note": "同意", "confirm": "y"},
          _pending, SHOWN, examples=7),
        S("/bureau/changes/<int:change_id>/reject", "bureau",
          "/bureau/changes/{change}/reject", {"reason": "请说明下调原因"},
          _pending, SHOWN, examples=7),
        S("/listing-changes/<int:change_id>/withdraw", "firm",
          "/listing-changes/{change}/withdraw", {}, _pending, SHOWN, examples=4),
    ]
    # fmt: on
