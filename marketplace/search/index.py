"""The index on disk: generations swapped atomically, fed from the outbox."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session
from whoosh import index as whoosh_index

from marketplace.database import read_only, writing
from marketplace.models import SearchOutbox
from marketplace.search import (
    analysis,
    associations,
    building,
    dictionary,
    replicas,
)
from marketplace.search.catalogue import (  # noqa: F401  (callers import these here)
    VerifyReport,
    canonical,
    changed_documents,
    compare,
    digest,
    expected_documents,
    iter_public_listings,
    load_listings,
    stored_names,
)
from marketplace.search.documents import build_schema, document_for

log = logging.getLogger(__name__)
CURRENT = "current"
POSITION = "outbox_position"
# Whoosh names each commit's table of contents _MAIN_<generation>.toc.
TOC = re.compile(r"^_MAIN_(\d+)\.toc$")
KEEP = 1000


@dataclass(frozen=True)
class IndexState:
    """Which generation directory, which Whoosh commit, which outbox position."""

    directory: str
    generation: int
    position: int


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A short read transaction of its own, that never takes a write lock."""
    with Session(read_only(engine)) as session:
        try:
            yield session
        finally:
            session.rollback()


class IndexUnavailable(RuntimeError):
    """The index is missing or unreadable; callers show a notice and rebuild."""


class SearchIndex:
    """One index replica under a directory, with its outbox position."""

    def __init__(
        self, root: str | os.PathLike, keep: int = KEEP, procs: int | None = None
    ):
        self.root = Path(root)
        self.keep = keep
        # Worker processes for a rebuild or a long backlog (None: one a core).
        self.procs = procs

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

    def position(self, directory: Path | None = None) -> int:
        """The last outbox id this replica applied (0 when none)."""
        try:
            path = (directory or self.current) / POSITION
            return int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def state(self) -> IndexState:
        """The generation and position on disk now (cheap: a readlink, a listdir).

        The position is read before the commit number: the writer commits first
        and then writes the position, so the pair never claims more than is
        in the commit.
        """
        directory = self.current.resolve()
        position = self.position(directory)
        try:
            names = os.listdir(directory)
        except OSError:
            names = []
        commits = [int(m.group(1)) for n in names if (m := TOC.match(n))]
        return IndexState(directory.name, max(commits, default=-1), position)

    def _set_position(self, directory: Path, value: int) -> None:
        tmp = directory / f".{POSITION}.{secrets.token_hex(4)}"
        tmp.write_text(str(value))
        os.replace(tmp, directory / POSITION)

    # --- opening ----------------------------------------------------------

    def exists(self) -> bool:
        """Whether a readable generation is in place."""
        for _ in range(3):
            try:
                return self.current.exists() and whoosh_index.exists_in(
                    str(self.current)
                )
            except FileNotFoundError:
                # Whoosh lists the TOC files, then opens the newest: another
                # process's commit in between deletes it for a newer one (or a
                # reindex swaps the generation). Either way one is there.
                continue
        return True

    def open(self, directory: Path | None = None):
        """The current (or the given) generation, or IndexUnavailable."""
        directory = directory or self.current
        # Queries and updates must be cut with the words the generation was
        # built with; loading is a no-op once this process has the file.
        analysis.load_words(directory / dictionary.FILENAME)
        try:
            return whoosh_index.open_dir(str(directory))
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
        self,
        session: Session,
        progress: Callable[[int], None] | None = None,
        procs: int | None = None,
    ) -> int:
        """Rebuild every public listing into a fresh generation and swap it in.

        `procs` worker processes cut and write the documents (default: one a
        core); see building.py.
        """
        with self.writer_lock():
            count = self._build(session, progress, procs)
        # Catch up with whatever committed while the new generation was built.
        self.apply_outbox(session)
        return count

    def ensure(self, session: Session) -> bool:
        """Rebuild when the index is missing or unreadable; True if it rebuilt."""
        if self._readable():
            return False
        return self._rebuild_unless(session, self._readable)

    def rebuild_from(self, session: Session, seen: IndexState) -> bool:
        """Rebuild the index that failed at `seen`, unless another process did."""
        return self._rebuild_unless(session, lambda: self.state() != seen)

    def _rebuild_unless(self, session: Session, done: Callable[[], bool]) -> bool:
        # Another process (a web worker, a follower) may have rebuilt the index
        # while we waited for the lock: one rebuild is enough.
        with self.writer_lock():
            if done():
                return False
            log.warning("search index at %s: rebuilding", self.root)
            self._build(session)
        self.apply_outbox(session)
        return True

    def _readable(self) -> bool:
        try:
            self.open().doc_count()
            return True
        except Exception:
            return False

    def _build(
        self,
        session: Session,
        progress: Callable[[int], None] | None = None,
        procs: int | None = None,
    ) -> int:
        """Build a new generation and swap it in; the caller holds the lock."""
        engine = session.get_bind()
        with reading(engine) as read:
            # Read the outbox head first: changes committed while we build
            # are applied by the next sync, so nothing falls between the two.
            head = replicas.head(read)
            generation = self._new_generation()
            words = dictionary.catalogue_words(read)
            analysis.load_words(
                dictionary.write(generation / dictionary.FILENAME, words)
            )
            docs, texts = [], []
            for listing in iter_public_listings(read):
                doc = document_for(listing)
                docs.append(doc)
                if len(texts) < associations.MAX_DOCS:
                    texts.append((doc["body"], listing.keywords or ()))
        associations.write(
            generation / associations.FILENAME, associations.learn(texts)
        )
        # The database is left before Whoosh writes a byte.
        building.write_documents(
            generation, docs, procs or self.procs or building.default_procs(), progress
        )
        self._set_position(generation, head)
        self._swap_in(generation)
        self._record(session, head)
        return len(docs)

    # --- following the outbox -------------------------------------------

    def apply_outbox(
        self,
        session: Session,
        batch: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Apply outbox rows newer than this replica's position; returns how many.

        The rows and the documents they name are read in a short read
        transaction of their own; Whoosh writes after it ended, so no database
        lock is held while the index commits. A long backlog (a bulk import) is
        written by worker processes as new segments (building.BULK_FROM). A
        replica behind the pruned part of the outbox cannot know what it
        missed and rebuilds. `progress` is told of each outbox row applied.
        """
        engine = session.get_bind()
        applied = 0
        while True:
            with self.writer_lock(blocking=False) as locked:
                if not locked:
                    # Another process is applying; it re-reads the head after
                    # releasing the lock, so our rows are not left behind.
                    return applied
                start = self.position()
                with reading(engine) as read:
                    missed = start < replicas.pruned_through(read)
                    bulk = replicas.head(read) - start >= building.BULK_FROM
                    limit = building.BULK_ROWS if bulk else batch
                    rows = [] if missed else self._rows(read, start, limit)
                    changes = changed_documents(read, rows)
                if rows:
                    if bulk:
                        self._write_bulk(changes, rows[-1].id, progress)
                    else:
                        self._write(changes, rows[-1].id)
                    applied += len(rows)
                    if progress and not bulk:
                        progress(len(rows))
                    self._record(session, rows[-1].id)
            if missed:
                log.warning(
                    "search index at %s is behind the pruned outbox: rebuilding",
                    self.root,
                )
                return applied + self.reindex(session)
            if len(rows) < batch and not self._behind(engine):
                return applied

    def _rows(self, read: Session, start: int, batch: int) -> list:
        return read.execute(
            select(SearchOutbox.id, SearchOutbox.doc_kind, SearchOutbox.doc_id)
            .where(SearchOutbox.id > start)
            .order_by(SearchOutbox.id)
            .limit(batch)
        ).all()

    def _behind(self, engine: Engine) -> bool:
        with reading(engine) as read:
            return replicas.head(read) > self.position()

    def _write_bulk(
        self,
        changes: list[tuple[str, dict | None]],
        position: int,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """A long backlog: new segments written by worker processes, one commit."""
        directory = self.current.resolve()
        self.open()  # loads the generation's dictionary before any cutting
        docs = [doc for _, doc in changes if doc is not None]
        # An update is a delete and an add, as update_document does it.
        building.write_documents(
            directory,
            docs,
            self.procs or building.default_procs(),
            progress,
            deletions=[key for key, _ in changes],
        )
        if progress:
            progress(len(changes) - len(docs))
        self._set_position(directory, position)

    def _write(self, changes: list[tuple[str, dict | None]], position: int) -> None:
        writer = self.open().writer()
        try:
            for key, doc in changes:
                if doc is None:
                    writer.delete_by_term("key", key)
                else:
                    writer.update_document(**doc)
            writer.commit()
        except Exception:
            writer.cancel()
            raise
        self._set_position(self.current.resolve(), position)

    def _record(self, session: Session, position: int) -> None:
        """Store this replica's position and prune the outbox (best effort)."""
        engine = session.get_bind()
        own = session() if isinstance(session, scoped_session) else session
        if engine.dialect.name == "sqlite" and own.in_transaction():
            # The caller's own transaction may hold SQLite's write lock (a
            # command's always does, database.py) and would block us. The next
            # sync records the position instead.
            return
        try:
            with writing(), Session(engine) as write, write.begin():
                replicas.record(
                    write,
                    replicas.replica_name(self.root),
                    position,
                    self.current.resolve().name,
                    self.keep,
                )
        except Exception:  # the index is right; pruning waits for the next sync
            log.exception("could not record the search replica's position")

    # --- checking -------------------------------------------------------------

    def verify(self, session: Session) -> VerifyReport:
        """Compare every stored field of every document with the database."""
        try:
            with self.open().searcher() as searcher:
                stored = stored_names(searcher.schema)
                indexed = list(searcher.all_stored_fields())
        except IndexUnavailable:
            raise
        except Exception as exc:  # garbled segment files
            raise IndexUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return compare(indexed, expected_documents(session), stored)
