"""Where each search index replica stands in the outbox, so the outbox can be pruned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base, utcnow

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
