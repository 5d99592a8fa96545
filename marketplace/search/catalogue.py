"""Reading the catalogue for the index: public listings, expected documents, digests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.models import Challenge, Result
from marketplace.search.documents import document_for, is_public


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
