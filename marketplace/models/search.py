"""Where each search index replica stands in the outbox, so the outbox can be pruned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.clock import utcnow
from marketplace.models.base import Base

# The row under this name is no replica: its position is the highest outbox id
# ever pruned, so that a replica below it knows it missed rows and rebuilds.
PRUNED_MARK = "(outbox pruned through)"


class SearchReplica(Base):
    """One node's index directory and the last outbox id it applied."""

    __tablename__ = "search_replicas"

    id: Mapped[int] = mapped_column(primary_key=True)
    # host name and absolute index directory: one row per replica on disk
    name: Mapped[str] = mapped_column(String(400), unique=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    generation: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class StoredMatch(Base):
    """A published listing's explained matches, as one index state computed them.

    Valid only while this node's index is still at exactly that state
    (generation directory, Whoosh commit, outbox position) and caught up with
    the outbox (marketplace/matching/stored.py); one row per listing per
    generation directory, so each node's replica keeps its own.
    """

    __tablename__ = "stored_matches"
    __table_args__ = (
        UniqueConstraint("listing_kind", "listing_id", "generation"),
        Index("ix_stored_matches_generation_computed", "generation", "computed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_kind: Mapped[str] = mapped_column(String(20))
    listing_id: Mapped[int] = mapped_column(Integer)
    generation: Mapped[str] = mapped_column(String(64))
    index_commit: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    # {"v": format, "hits": [{kind, id, score, terms, expansions, sentence}]}
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
