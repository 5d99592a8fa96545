"""Fuzz specs for listing attachments and organisations' verification documents.

tests/test_fuzz_forms.py adds them to its SPECS with `file_specs(S)`, as it does
for tests/fuzz_delivery.py.
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import ListingAttachment, OrgDocument
from tests.sample_files import PDF

MULTIPART = "multipart/form-data"


def _upload(w: Any, who: str, url: str, **data: str) -> None:
    body = {**data, "attachments": [(io.BytesIO(PDF), "图纸.pdf")]}
    response = w.client(who).post(url, data=body, content_type=MULTIPART)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def _listing_file(w: Any) -> dict:
    """A challenge with one confidential file on it."""
    challenge_id = w.challenge()
    _upload(w, "firm", f"/files/listings/challenge/{challenge_id}", confidential="y")
    newest = select(ListingAttachment.id).order_by(ListingAttachment.id.desc())
    return {"c": challenge_id, "f": w.run(db.session.scalar, newest)}


def _org_document(w: Any) -> dict:
    """The firm's organisation with one verification document."""
    org_id = w.org("firm").id
    _upload(w, "firm", f"/files/orgs/{org_id}", kind="business_licence")
    newest = select(OrgDocument.id).order_by(OrgDocument.id.desc())
    return {"org": org_id, "d": w.run(db.session.scalar, newest)}


def _with_file(**data: str):
    """Valid values plus a good file, fresh for every request."""
    # The fuzzer replaces the file with its own; tests/test_hidden_fields.py
    # posts it as it is, so that its plain request really stores something.
    return lambda w, ctx: {**data, "attachments": (io.BytesIO(PDF), "图纸.pdf")}


def file_specs(S) -> list:
    """The specs, built with test_fuzz_forms' spec builder."""
    shown = [f"{who}:/challenges/{{c}}" for who in ("firm", "anon", "institute")]
    org_pages = ["firm:/files/orgs/{org}", "firm:/orgs/{org}", "bureau:/orgs/{org}"]
    # fmt: off
    return [
        S("/files/listings/<kind>/<int:listing_id>", "firm",
          "/files/listings/challenge/{c}",
          _with_file(label="设备规格书", confidential="y"),
          lambda w: {"c": w.challenge()},
          [*shown, "firm:/files/listings/challenge/{c}"], files=True, examples=12),
        S("/files/listings/<kind>/<int:listing_id>", "institute",
          "/files/listings/result/{r}", _with_file(label="专利证书"),
          lambda w: {"r": w.result()},
          ["institute:/results/{r}", "anon:/results/{r}", "firm:/results/{r}"],
          files=True, examples=6),
        S("/files/listing-files/<int:listing_file_id>/remove", "firm",
          "/files/listing-files/{f}/remove", {"confirm": "y"}, _listing_file,
          [*shown, "firm:/files/listings/challenge/{c}"], examples=5),
        S("/files/orgs/<int:org_id>", "firm", "/files/orgs/{org}",
          _with_file(kind="business_licence"), lambda w: {"org": w.org("firm").id},
          [*org_pages, "bureau:/bureau/verifications"], files=True, examples=10),
        S("/files/org-documents/<int:document_id>/remove", "firm",
          "/files/org-documents/{d}/remove", {"confirm": "y"}, _org_document,
          org_pages, examples=5),
    ]
    # fmt: on
