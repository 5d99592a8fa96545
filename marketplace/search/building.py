"""Writing a new generation's documents with several processes at once.

jieba's search mode and Whoosh's writer are pure Python: one process builds
about 310 listings a second. Here each worker process cuts and writes a
contiguous slice of the documents as a segment of its own in the generation's
directory, and the parent then commits one table of contents naming every
segment, in slice order. No posting is rewritten, so the join costs nothing;
the segments' document numbers follow each other as one writer's would, and
BM25's statistics (document frequencies, average field lengths) are summed
over segments by the reader, so documents, terms and scores are those of a
single-process build (tests/test_search_parallel_build.py compares them).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from marketplace.search import analysis, dictionary

# Below this many documents a slice costs more to start than it saves.
PART_MIN_DOCS = 2000
# An outbox backlog this long (a bulk import, a node that was down) is applied
# as new segments written in parallel rather than through one writer; at most
# BULK_ROWS outbox rows a pass bound the documents held in memory.
BULK_FROM = 2000
BULK_ROWS = 50_000
LIMIT_MB = 256
# How often a worker tells the parent's progress bar how far it got.
REPORT_EVERY = 200


def default_procs() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def slices(total: int, parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous (start, stop) ranges covering range(total)."""
    size, extra = divmod(total, parts)
    out, start = [], 0
    for part in range(parts):
        stop = start + size + (1 if part < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def write_documents(
    directory: Path,
    docs: Sequence[dict],
    procs: int,
    progress: Callable[[int], None] | None = None,
    deletions: Sequence[str] = (),
) -> None:
    """Delete the `deletions` keys, add the documents at `directory`, commit once.

    A new generation is written with no deletions; the outbox's bulk path
    deletes every key it re-adds or removes (an update is a delete and an add).
    """
    parts = max(1, min(procs, len(docs) // PART_MIN_DOCS))
    fork = "fork" in multiprocessing.get_all_start_methods()
    if parts == 1 or not fork:
        _write_serially(directory, docs, progress, deletions)
        return
    # fork: the workers inherit the documents and the jieba dictionary already
    # loaded here instead of having them pickled over (tens of megabytes).
    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0)
    workers = []
    for number, (start, stop) in enumerate(slices(len(docs), parts)):
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(
            target=_write_part,
            args=(directory, docs, start, stop, done, send),
            name=f"search-build-{number}",
        )
        worker.start()
        send.close()
        workers.append((worker, receive))
    segments = _collect(workers, done, progress)
    writer = whoosh_index.open_dir(str(directory)).writer()
    try:
        for key in deletions:
            writer.delete_by_term("key", key)
    except Exception:
        writer.cancel()
        raise
    # The new segments follow the existing ones (deletions applied to those),
    # so the documents are numbered as one writer would have numbered them.
    writer.commit(mergetype=lambda _writer, existing: [*existing, *segments])


def _write_serially(directory: Path, docs, progress, deletions) -> None:
    writer = whoosh_index.open_dir(str(directory)).writer(limitmb=LIMIT_MB)
    try:
        for key in deletions:
            writer.delete_by_term("key", key)
        for doc in docs:
            writer.add_document(**doc)
            if progress:
                progress(1)
    except Exception:
        writer.cancel()
        raise
    # A fresh generation is one segment; an existing one merges as usual.
    writer.commit(optimize=not deletions)


def _collect(workers: list, done, progress: Callable[[int], None] | None) -> list:
    """Each worker's segment in slice order; raises if any worker failed."""
    segments: list = []
    shown = 0

    def show() -> None:
        nonlocal shown
        if progress and done.value > shown:
            progress(done.value - shown)
            shown = done.value

    try:
        for number, (worker, receive) in enumerate(workers):
            while not receive.poll(0.1):
                show()
                if not worker.is_alive() and not receive.poll():
                    raise RuntimeError(
                        f"index build worker {number} failed "
                        f"(exit code {worker.exitcode})"
                    )
            segments.append(receive.recv())
    finally:
        for worker, receive in workers:
            if len(segments) < len(workers) and worker.is_alive():
                worker.terminate()
            worker.join()
            receive.close()
    show()
    return segments


def _write_part(directory: Path, docs, start: int, stop: int, done, send) -> None:
    """In a worker: write docs[start:stop] as one segment and send it back."""
    # A no-op after fork (the parent loaded it); a fresh process would need it.
    analysis.load_words(directory / dictionary.FILENAME)
    ix = whoosh_index.open_dir(str(directory))
    # _lk=False: the parent holds the replica's writer lock and commits the
    # table of contents; this writer only writes its own segment's files.
    writer = SegmentWriter(ix, _lk=False, limitmb=LIMIT_MB // 2)
    pending = 0
    for doc in docs[start:stop]:
        writer.add_document(**doc)
        pending += 1
        if pending == REPORT_EVERY:
            with done.get_lock():
                done.value += pending
            pending = 0
    segment = writer._finalize_segment()
    # No writer._finish(): it would delete the temporary directory the other
    # workers share; the parent's commit removes it once all are done.
    with done.get_lock():
        done.value += pending
    send.send(segment)
    send.close()
