"""The enterprise-demand benchmark's figures and data files (bench/demands_eval.py)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import demands_eval  # noqa: E402


def test_ndcg_uses_every_judged_record_as_the_ideal():
    judged = {"a": 3, "b": 2, "c": 0, "d": 1}
    scores = demands_eval.score_demand(["b", "x", "a"], judged)
    got = (2**2 - 1) / 1 + 0 + (2**3 - 1) / 2
    ideal = 7 / 1 + 3 / math.log2(3) + 1 / 2
    assert scores.ndcg["exp"] == pytest.approx(got / ideal)
    lin = (2 + 3 / 2) / (3 + 2 / math.log2(3) + 1 / 2)
    assert scores.ndcg["lin"] == pytest.approx(lin)
    # P@5 counts grade ≥ 2 over five places, even when fewer were returned.
    assert scores.p5 == pytest.approx(2 / 5)
    assert scores.unjudged == 1
    assert scores.returned == 3


def test_a_demand_with_nothing_relevant_scores_zero_not_nan():
    scores = demands_eval.score_demand(["a", "b"], {"a": 0})
    assert scores.ndcg == {"exp": 0.0, "lin": 0.0}
    assert not scores.judged_any


def test_later_judgment_overrides_and_bad_grades_are_refused(tmp_path):
    rows = [
        {"demand": "d001", "record": "csl-dev-0001", "grade": 1, "reason": "x"},
        {"demand": "d001", "record": "csl-dev-0001", "grade": 3, "reason": "y"},
    ]
    path = tmp_path / "judgments.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert demands_eval.load_judgments(tmp_path) == {"d001": {"csl-dev-0001": 3}}
    path.write_text(json.dumps({**rows[0], "grade": 4}), encoding="utf-8")
    with pytest.raises(ValueError):
        demands_eval.load_judgments(tmp_path)


def test_the_demand_set_is_well_formed():
    demands = demands_eval.load_demands(demands_eval.DEMANDS_DIR)
    assert len(demands) >= 60
    assert len({d["id"] for d in demands}) == len(demands)
    assert all(d.get("note") for d in demands)
    for form in demands_eval.FORMS:
        share = sum(d["form"] == form for d in demands) / len(demands)
        assert 0.25 <= share <= 0.42
    for demand in demands:
        if demand["form"] == "challenge":
            assert 200 <= len(demand["text"]) <= 600


def test_judgments_name_csl_records_of_the_corpus():
    records = [json.loads(line) for line in demands_eval.common.CSL_FILE.open()]
    tech = {r["id"] for r in demands_eval.technology_records(records)}
    assert len(tech) == 1365
    ids = {d["id"] for d in demands_eval.load_demands(demands_eval.DEMANDS_DIR)}
    for demand, graded in demands_eval.load_judgments(demands_eval.DEMANDS_DIR).items():
        assert demand in ids
        assert set(graded) <= tech
