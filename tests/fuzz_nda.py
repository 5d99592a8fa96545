"""Fuzz specs for the NDA forms: templates, a listing's NDA, signing.

tests/test_fuzz_forms.py adds them to its SPECS with `nda_specs(S)`.
"""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.extensions import db
from marketplace.models import Challenge, Result

TEMPLATE = {
    "name": "通用保密协议",
    "text": "一、严格保密。\n二、仅用于评估。",
    "active": "y",
}
SIGN = {"full_name": "李四", "position": "总工程师", "confirm": "y"}


def _template(w: Any) -> dict:
    response = w.client("bureau").post("/ndas/new", data=TEMPLATE)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return {"t": int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])}


def _listing(w: Any, kind: str) -> dict:
    """A listing whose owner wrote its own NDA, and that NDA's current version."""
    if kind == "challenges":
        lid, owner, model = w.challenge(), "firm", Challenge
    else:
        lid, owner, model = w.result(), "institute", Result
    own = {"choice": "own", "own_text": "自拟保密协议正文。"}
    response = w.client(owner).post(f"/ndas/{kind}/{lid}", data=own)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]

    def version() -> int:
        return permissions.current_nda_version(db.session.get(model, lid)).id

    return {"l": lid, "v": w.run(version), **_template(w)}


def nda_specs(S) -> list:
    """The specs, built with test_fuzz_forms' spec builder."""
    # fmt: off
    return [
        S("/ndas/new", "bureau", "/ndas/new", TEMPLATE, None,
          ["bureau:/ndas/"], examples=10),
        S("/ndas/<int:template_id>/edit", "bureau", "/ndas/{t}/edit",
          {**TEMPLATE, "text": "一、严格保密。\n二、期限五年。"},
          _template, ["bureau:/ndas/", "bureau:/ndas/{t}", "firm:/ndas/{t}"],
          examples=10),
        S("/ndas/challenges/<int:challenge_id>", "firm", "/ndas/challenges/{l}",
          lambda w, c: {"choice": "own", "own_text": "修订的保密协议。"},
          lambda w: _listing(w, "challenges"),
          ["firm:/ndas/challenges/{l}", "firm:/challenges/{l}",
           "institute:/challenges/{l}"], examples=10),
        S("/ndas/results/<int:result_id>", "institute", "/ndas/results/{l}",
          lambda w, c: {"choice": str(c["t"]), "own_text": ""},
          lambda w: _listing(w, "results"),
          ["institute:/ndas/results/{l}", "institute:/results/{l}",
           "firm:/results/{l}"], examples=10),
        S("/ndas/challenges/<int:challenge_id>/sign", "institute",
          "/ndas/challenges/{l}/sign",
          lambda w, c: {**SIGN, "version_id": str(c["v"])},
          lambda w: _listing(w, "challenges"),
          ["institute:/challenges/{l}", "firm:/ndas/challenges/{l}"], examples=10),
        S("/ndas/results/<int:result_id>/sign", "firm", "/ndas/results/{l}/sign",
          lambda w, c: {**SIGN, "version_id": str(c["v"])},
          lambda w: _listing(w, "results"),
          ["firm:/results/{l}", "institute:/ndas/results/{l}"], examples=10),
    ]
    # fmt: on
