"""The index on disk: generations swapped atomically, fed from the outbox."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as whoosh_index

from marketplace.models import Challenge, Result, SearchOutbox
from marketplace.search import analysis, dictionary
from marketplace.search.documents import build_schema, document_for, is_public, key_of

log = logging.getLogger(__name__)
CURRENT = "current"
POSITION = "outbox_position"
MODELS = {"challenge": Challenge, "result": Result}


class IndexUnavailable(RuntimeError):
    """The index is missing or unreadable; callers show a notice and rebuild."""


@dataclass
class VerifyReport:
    """What differs between the index and the database."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when the index matches the database."""
        return not (self.missing or self.extra or self.stale)


class SearchIndex:
    """One index replica under a directory, with its outbox position."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    # --- locations --------------------------------------------------------

    @property
    def current(self) -> Path:
        """The generation readers and the writer use."""
        return self.root / CURRENT

    @contextlib.contextmanager
    def writer_lock(self, blocking: bool = True) -> Iterator[bool]:
        """One writer per replica across processes (gunicorn workers, the CLI)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".writer.lock", "a+") as handle:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(handle, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def position(self) -> int:
        """The last outbox id this replica applied (0 when none)."""
        try:
            return int((self.current / POSITION).read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def _set_position(self, directory: Path, value: int) -> None:
        tmp = directory / f".{POSITION}.{secrets.token_hex(4)}"
        tmp.write_text(str(value))
        os.replace(tmp, directory / POSITION)

    # --- opening ----------------------------------------------------------

    def exists(self) -> bool:
        """Whether a readable generation is in place."""
        return self.current.exists() and whoosh_index.exists_in(str(self.current))

    def open(self):
        """The current generation, or IndexUnavailable."""
        # Queries and updates must be cut with the words the generation was
        # built with; loading is a no-op once this process has the file.
        analysis.load_words(self.current / dictionary.FILENAME)
        try:
            return whoosh_index.open_dir(str(self.current))
        except Exception as exc:  # missing, empty or garbled files
            raise IndexUnavailable(str(exc)) from exc

    # --- building ---------------------------------------------------------

    def _new_generation(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"gen-{secrets.token_hex(6)}"
        path.mkdir()
        whoosh_index.create_in(str(path), build_schema())
        return path

    def _swap_in(self, generation: Path) -> None:
        # A symlink replaced with rename() is an atomic switch for every reader.
        link = self.root / f".current-{secrets.token_hex(4)}"
        os.symlink(generation.name, link)
        if self.current.exists() and not self.current.is_symlink():
            shutil.rmtree(self.current)
        os.replace(link, self.current)
        # Searchers still open on an old generation keep their open files.
        for stale in self.root.glob("gen-*"):
            if stale != generation:
                shutil.rmtree(stale, ignore_errors=True)

    def reindex(
        self, session: Session, progress: Callable[[int], None] | None = None
    ) -> int:
        """Rebuild every public listing into a fresh generation and swap it in."""
        with self.writer_lock():
            # Read the outbox head first: changes committed while we build are
            # applied by the next sync, so nothing falls between the two.
            head = session.scalar(select(func.max(SearchOutbox.id))) or 0
            generation = self._new_generation()
            words = dictionary.catalogue_words(session)
            analysis.load_words(
                dictionary.write(generation / dictionary.FILENAME, words)
            )
            ix = whoosh_index.open_dir(str(generation))
            writer = ix.writer(procs=1, limitmb=256)
            count = 0
            for listing in iter_public_listings(session):
                writer.add_document(**document_for(listing))
                count += 1
                if progress:
                    progress(1)
            writer.commit(optimize=True)
            self._set_position(generation, head)
            self._swap_in(generation)
        # Catch up with whatever committed while the new generation was built.
        self.apply_outbox(session)
        return count

    def ensure(self, session: Session) -> bool:
        """Rebuild when the index is missing or unreadable; True if it rebuilt."""
        try:
            self.open().doc_count()
            return False
        except Exception:
            log.warning("search index at %s unreadable: rebuilding", self.root)
            self.reindex(session)
            return True

    # --- following the outbox -------------------------------------------

    def apply_outbox(self, session: Session, batch: int = 1000) -> int:
        """Apply outbox rows newer than this replica's position; returns how many."""
        applied = 0
        while True:
            with self.writer_lock(blocking=False) as locked:
                if not locked:
                    # Another process is applying; it re-reads the head after
                    # releasing the lock, so our rows are not left behind.
                    return applied
                start = self.position()
                rows = session.execute(
                    select(SearchOutbox.id, SearchOutbox.doc_kind, SearchOutbox.doc_id)
                    .where(SearchOutbox.id > start)
                    .order_by(SearchOutbox.id)
                    .limit(batch)
                ).all()
                if rows:
                    self._apply_rows(session, rows)
                    applied += len(rows)
            if len(rows) < batch and not self._behind(session):
                return applied

    def _behind(self, session: Session) -> bool:
        head = session.scalar(select(func.max(SearchOutbox.id))) or 0
        return head > self.position()

    def _apply_rows(self, session: Session, rows: list) -> None:
        keys = {(row.doc_kind, row.doc_id) for row in rows}
        ix = self.open()
        writer = ix.writer()
        try:
            for kind, doc_id in sorted(keys):
                model = MODELS.get(kind)
                listing = session.get(model, doc_id) if model else None
                doc = document_for(listing) if listing is not None else None
                if doc is None:
                    writer.delete_by_term("key", key_of(kind, doc_id))
                else:
                    writer.update_document(**doc)
            writer.commit()
        except Exception:
            writer.cancel()
            raise
        self._set_position(self.current.resolve(), rows[-1].id)

    # --- checking -------------------------------------------------------------

    def verify(self, session: Session) -> VerifyReport:
        """Compare the indexed documents with the public listings in the database."""
        report = VerifyReport()
        indexed: dict[str, dict] = {}
        try:
            with self.open().searcher() as searcher:
                for fields in searcher.all_stored_fields():
                    indexed[fields["key"]] = fields
        except IndexUnavailable:
            raise
        except Exception as exc:  # garbled segment files
            raise IndexUnavailable(f"{type(exc).__name__}: {exc}") from exc
        expected: dict[str, dict] = {}
        for listing in iter_public_listings(session):
            doc = document_for(listing)
            expected[doc["key"]] = doc
        report.missing = sorted(expected.keys() - indexed.keys())
        report.extra = sorted(indexed.keys() - expected.keys())
        for key in sorted(expected.keys() & indexed.keys()):
            want, have = expected[key], indexed[key]
            if any(want.get(f) != have.get(f) for f in ("title", "status", "keywords")):
                report.stale.append(key)
        return report


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
