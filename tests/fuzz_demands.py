"""Fuzz specs for the problem box and the unmet-demand pages.

tests/test_fuzz_forms.py adds them to its SPECS with `demand_specs(S)`, as it
does for tests/fuzz_delivery.py.
"""

from __future__ import annotations

import itertools
from typing import Any

from marketplace.extensions import db
from marketplace.models import UnmetDemand

_serial = itertools.count(1)
PROBLEM = {"text": "面粉放久了生虫、结块。\n希望不加防腐剂延长保鲜期，联系 13912345678"}
LEADS = ["agency:/demands/", "agency:/demands/?open=1", "bureau:/demands/"]


def _lead(w: Any) -> dict:
    def add():
        demand = UnmetDemand(
            text=f"模糊测试线索 {next(_serial)}：污泥脱水困难",
            text_hash=f"{next(_serial):064d}",
            best_score=8.5,
        )
        db.session.add(demand)
        db.session.flush()
        return demand.id

    return {"d": w.run(add)}


def demand_specs(S) -> list:
    """The specs, built with test_fuzz_forms' spec builder."""
    # fmt: off
    return [
        S("/match", "anon", "/match", PROBLEM, None,
          ["self:/match", "self:/demands/kept", *LEADS, "agency:/deals/"],
          examples=15),
        S("/demands/draft", "firm", "/demands/draft", PROBLEM, None,
          ["firm:/challenges/mine", "bureau:/bureau/reviews", *LEADS], examples=12),
        S("/demands/draft", "anon", "/demands/draft", PROBLEM, None,
          ["self:/demands/kept", *LEADS], examples=8),
        S("/demands/<int:demand_id>/take", "agency", "/demands/{d}/take", {}, _lead,
          LEADS, examples=5),
    ]
    # fmt: on
