"""Reading the catalogue for the index: public listings, expected documents, digests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.models import Challenge, Result
from marketplace.search.documents import document_for, is_public, key_of

MODELS = {"challenge": Challenge, "result": Result}


def stored_names(schema) -> list[str]:
    """The fields a document keeps (what verify and the digest compare)."""
    return sorted(name for name, kind in schema.items() if kind.stored)


def canonical(value: Any) -> str:
    """One spelling of a stored value, for comparing and hashing."""
    if value is None or value == "":
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def expected_documents(session: Session) -> dict[str, dict]:
    """The documents the database says the index should hold, by key."""
    return {
        doc["key"]: doc
        for doc in (document_for(listing) for listing in iter_public_listings(session))
    }


def digest(documents: Iterable[dict], names: list[str]) -> str:
    """A hash of the documents' stored fields, independent of their order."""
    lines = sorted(
        json.dumps([canonical(doc.get(name)) for name in names], ensure_ascii=False)
        for doc in documents
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def load_listings(session: Session, model, ids: list[int]) -> list:
    """Listings by id with what their documents need, 500 a query."""
    out = []
    for start in range(0, len(ids), 500):
        out += session.scalars(
            select(model)
            .where(model.id.in_(ids[start : start + 500]))
            .options(selectinload(model.field), selectinload(model.org))
        ).all()
    return out


def iter_public_listings(session: Session) -> Iterable[Challenge | Result]:
    """Every listing a visitor may see, loaded in batches."""
    for model in (Challenge, Result):
        last = 0
        while True:
            chunk = session.scalars(
                select(model)
                .where(model.id > last)
                .options(selectinload(model.field), selectinload(model.org))
                .order_by(model.id)
                .limit(1000)
            ).all()
            if not chunk:
                break
            for listing in chunk:
                if is_public(listing):
                    yield listing
            last = chunk[-1].id


@dataclass
class VerifyReport:
    """What differs between the index and the database."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    # key -> the stored fields whose value differs
    fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """True when the index matches the database."""
        return not (self.missing or self.extra or self.stale)


def compare(
    indexed_documents: Iterable[dict], expected: dict[str, dict], stored: list[str]
) -> VerifyReport:
    """The differences between the indexed documents and the expected ones."""
    report = VerifyReport()
    indexed: dict[str, dict] = {}
    for fields in indexed_documents:
        if fields["key"] in indexed:  # the same listing twice
            report.fields.setdefault(fields["key"], []).append("key")
        indexed[fields["key"]] = fields
    report.missing = sorted(expected.keys() - indexed.keys())
    report.extra = sorted(indexed.keys() - expected.keys())
    for key in sorted(expected.keys() & indexed.keys()):
        want, have = expected[key], indexed[key]
        differs = [
            name
            for name in stored
            if canonical(want.get(name)) != canonical(have.get(name))
        ]
        if differs:
            report.fields.setdefault(key, []).extend(differs)
    report.stale = sorted(report.fields)
    return report


def changed_documents(read: Session, rows: list) -> list[tuple[str, dict | None]]:
    """Each outbox row's listing key and document (None: remove it from the index)."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        wanted.setdefault(row.doc_kind, set()).add(row.doc_id)
    found: dict[tuple[str, int], dict | None] = {}
    for kind, ids in wanted.items():
        model = MODELS.get(kind)
        for listing in load_listings(read, model, sorted(ids)) if model else ():
            found[(kind, listing.id)] = document_for(listing)
    return [
        (key_of(kind, doc_id), found.get((kind, doc_id)))
        for kind, doc_id in sorted({(r.doc_kind, r.doc_id) for r in rows})
    ]
