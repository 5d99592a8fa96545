"""What of a listing goes into the index: only what a public visitor may see."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema

from marketplace.models import Challenge, Result
from marketplace.permissions import PUBLIC_CHALLENGE_STATES, PUBLIC_RESULT_STATES
from marketplace.search.analysis import chinese_analyzer


def _date_field(**options) -> DATETIME:
    field = DATETIME(**options)
    field.shift_step = 0  # DATETIME takes no such argument; see build_schema
    return field


def build_schema() -> Schema:
    """Text fields, facets as sortable columns, numbers as single terms.

    Field boosts live in the query (query.TUNING), not here: a boost set on the
    field multiplies every stored term weight, which saturates BM25's term
    frequency early and cannot be changed without a rebuild.
    """
    analyzer = chinese_analyzer()
    # phrase=False: no positions are stored. Nothing runs phrase queries and the
    # highlighter re-reads the stored text, so positions were only cost (about
    # a tenth of Whoosh's indexing time, measured on the CSL records).
    text = {"analyzer": analyzer, "phrase": False}
    # shift_step=0: one term per number. The default tiers index 16 terms for a
    # 64-bit number (8 for a date) so that range queries run fast; no range query
    # runs on these fields, and the tiers were about a third of all postings.
    number = {"stored": True, "shift_step": 0}
    return Schema(
        key=ID(unique=True, stored=True),
        kind=ID(stored=True, sortable=True),
        doc_id=NUMERIC(int, bits=64, **number),
        title=TEXT(stored=True, **text),
        keywords=TEXT(stored=True, **text),
        body=TEXT(**text),
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        field=ID(stored=True, sortable=True),
        # A result's discipline (学科) as shown on its page; matching uses it to
        # find which part of the catalogue a free-text demand is about.
        discipline=ID(stored=True),
        region=ID(stored=True, sortable=True),
        maturity=NUMERIC(int, sortable=True, **number),
        status=ID(stored=True, sortable=True),
        org_id=NUMERIC(int, bits=64, **number),
        amount=NUMERIC(int, bits=64, sortable=True, **number),
        published=_date_field(stored=True, sortable=True),
        closes=_date_field(stored=True),
    )


def key_of(kind: str, doc_id: int) -> str:
    """The index key of a listing."""
    return f"{kind}:{doc_id}"


def _when(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def is_public(listing: Any) -> bool:
    """Whether an anonymous visitor may see the listing (so it may be indexed)."""
    if isinstance(listing, Challenge):
        return listing.status in PUBLIC_CHALLENGE_STATES
    return listing.status in PUBLIC_RESULT_STATES


def document_for(listing: Challenge | Result) -> dict | None:
    """The index document of a public listing, or None when it must not be found."""
    if listing is None or not is_public(listing):
        return None
    keywords = " ".join(listing.keywords or [])
    if isinstance(listing, Challenge):
        # The confidential detail is never indexed.
        text = [listing.public_summary, listing.description, listing.technical_targets]
        kind, maturity, amount = "challenge", None, listing.bounty_fen
        region, closes = listing.region_code, listing.deadline
    else:
        text = [listing.abstract, listing.benefit, listing.discipline]
        kind, maturity, amount = "result", listing.trl, listing.price_fen
        region, closes = listing.org.region_code, listing.valid_until
    # The body is all the public text, title and keywords included, so that
    # one field scores the listing as a whole (a word's frequency saturates
    # once, as in plain BM25); the title and keywords fields add their boosts.
    # Summing three separately saturated fields instead favoured a word that
    # merely appears in all three over the listing that is about it.
    body = "\n".join([listing.title, keywords, *text])
    doc = {
        "key": key_of(kind, listing.id),
        "kind": kind,
        "doc_id": listing.id,
        "title": listing.title,
        "keywords": keywords,
        "body": body,
        "tags": ",".join(k.lower() for k in listing.keywords or []),
        "field": listing.field.code if listing.field else "",
        "discipline": getattr(listing, "discipline", "") or "",
        "region": region or "",
        "status": str(listing.status),
        # An anonymous challenge's poster stays out of the index altogether, so
        # that no query, facet or stored field can tie the two together.
        "org_id": 0 if getattr(listing, "anonymous", False) else listing.org_id,
    }
    optional = {
        "maturity": maturity,
        "amount": amount,
        "published": _when(listing.published_at),
        "closes": _when(closes),
    }
    doc.update({k: v for k, v in optional.items() if v is not None})
    return doc
