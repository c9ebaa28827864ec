"""FILES mode's upload stage: one PUT per file on `workers` threads, reading the sources as little as
possible and holding a bounded amount of the site in memory.

- A file kept by the md5 pass (files_pass.py) is sent from memory.
- Any other small file is read again *by window*: the files not kept are grouped again
  (`plan.group_reads`), each window is fetched with ONE ranged GET (`s3io.read_window`), and its
  files are handed to the workers, who inflate each from the shared buffer, substitute markers and
  check it against the md5 of the fileMap before sending it. At most `WINDOWS_IN_FLIGHT` window
  buffers (<= `plan.WINDOW` each) are held at once; a buffer is dropped when its last file is
  uploaded. Workers prefer files of fetched windows over new fetches, and new fetches over kept or
  large files, so buffers drain before more are read, and reads overlap with the PUTs of kept files.
- A large file (or a file whose data lies beyond its window) is streamed from its zip entry, at most
  `files_pass.LARGE_STREAMS` at once.

Every retry of a PUT sends the same bytes (a file's content is inflated once and held until its PUT
is done). The first error stops the other workers (`abort`) and is raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import plan as planning
from .deadline import Deadline
from .files_pass import LARGE_STREAMS, WINDOWS_IN_FLIGHT
from .logs import Progress
from .markers import substitute_bytes
from .s3io import WindowBuffer, read_window
from .settings import Settings
from .sources import Source, content
from .upload import UploadError, content_md5, put


def guard(chunks: Iterable[bytes], deadline: Deadline, what: str) -> Iterator[bytes]:
    """`chunks`, failing with UploadError once the deadline has passed."""
    for chunk in chunks:
        if deadline.expired():
            raise UploadError(f"upload of {what} did not finish before the deadline")
        yield chunk


@dataclass
class _Fetched:
    """A window whose buffer is held until its last file is uploaded."""

    buffer: WindowBuffer
    left: int


@dataclass(frozen=True)
class _Task:
    kind: str  # "fetch" (a window), "window" (a file of a fetched window), "kept", "stream"
    entry: planning.Entry | None = None
    window: planning.Window | None = None
    fetched: _Fetched | None = None


class _Work:
    """The tasks and their order, shared by the workers (one lock)."""

    def __init__(self, windows: Sequence[planning.Window], others: Iterable[_Task], limit: int) -> None:
        self.cond = threading.Condition()
        self.to_fetch: deque[planning.Window] = deque(windows)
        self.ready: deque[_Task] = deque()  # files of fetched windows
        self.others: deque[_Task] = deque(others)  # kept files and streams
        self.limit = limit
        self.in_flight = 0  # windows fetched or being fetched whose files are not all uploaded
        self.running = 0
        self.error: BaseException | None = None
        self.fetches = 0

    def take(self, fetcher: bool) -> _Task | None:
        """The next task, or None when everything is done or a task has failed. Only a `fetcher`
        reads windows."""
        with self.cond:
            while True:
                if self.error is not None:
                    return None
                task: _Task | None = None
                if self.ready:
                    task = self.ready.popleft()
                elif fetcher and self.to_fetch and self.in_flight < self.limit:
                    self.in_flight += 1
                    self.fetches += 1
                    task = _Task("fetch", window=self.to_fetch.popleft())
                elif self.others:
                    task = self.others.popleft()
                elif self.running == 0 and not self.to_fetch:
                    return None
                if task is not None:
                    self.running += 1
                    return task
                self.cond.wait()

    def fetched(self, fetched: _Fetched, files: list[_Task], streams: list[_Task]) -> None:
        with self.cond:
            self.ready.extend(files)
            self.others.extendleft(streams)
            if not files:
                self.in_flight -= 1
            self.cond.notify_all()

    def window_file_done(self, fetched: _Fetched) -> None:
        with self.cond:
            fetched.left -= 1
            if fetched.left == 0:
                self.in_flight -= 1
                fetched.buffer.buf = b""  # the buffer goes now, not when the last reference does
                self.cond.notify_all()

    def finished(self, error: BaseException | None = None) -> None:
        with self.cond:
            self.running -= 1
            if error is not None and self.error is None:
                self.error = error
            self.cond.notify_all()


def upload_files(
    s3: Any,
    sources: Sequence[Source],
    entries: Sequence[planning.Entry],
    urls: Mapping[str, str],
    digests: Mapping[str, str],
    sizes: Mapping[str, int],
    kept: dict[str, bytes],
    settings: Settings,
    deadline: Deadline,
) -> None:
    """PUT every entry's final bytes to `urls[path]`; `kept` is emptied as its files are sent."""
    progress = Progress(len(entries), sum(sizes.values()), settings.progress_interval)
    rest = [e for e in entries if e.path not in kept]
    windows, singles = planning.group_reads(rest)
    others = [_Task("kept", entry=e) for e in entries if e.path in kept]
    others += [_Task("stream", entry=e) for e in singles]
    work = _Work(windows, others, WINDOWS_IN_FLIGHT)
    large = threading.Semaphore(LARGE_STREAMS)
    abort = threading.Event()

    def send(e: planning.Entry, body: Callable[[], Iterable[bytes]]) -> None:
        md5 = content_md5(digests[e.path])  # S3 verifies every file against the fileMap's md5
        put(urls[e.path], body, sizes[e.path], e.path, deadline, settings.upload, abort, md5)
        progress.add(1, sizes[e.path])

    def fetch(w: planning.Window) -> None:
        src = sources[w.source_index]
        buffer = read_window(s3, src.bucket, src.key, [e.info for e in w.entries], src.size, w.end)
        fetched = _Fetched(buffer, 0)
        files: list[_Task] = []
        streams: list[_Task] = []
        for e in w.entries:
            if buffer.data_slice(e.info) is None:  # its data lies beyond the window: stream it
                streams.append(_Task("stream", entry=e))
            else:
                files.append(_Task("window", entry=e, fetched=fetched))
        fetched.left = len(files)
        work.fetched(fetched, files, streams)

    def from_window(e: planning.Entry, fetched: _Fetched) -> None:
        try:
            raw = fetched.buffer.content(e.info)
            assert raw is not None  # data_slice() found it inside the buffer
            data = substitute_bytes(raw, sources[e.source_index].markers)
            del raw
            if hashlib.md5(data, usedforsecurity=False).hexdigest() != digests[e.path]:
                raise UploadError(
                    f"{e.path!r:.80} changed in its source between the md5 pass and its upload; deploy again"
                )
        finally:
            work.window_file_done(fetched)  # the buffer is no longer needed for this file
        send(e, lambda: guard(iter((data,)), deadline, e.path))

    def run(task: _Task) -> None:
        if task.kind == "fetch":
            assert task.window is not None
            fetch(task.window)
            return
        e = task.entry
        assert e is not None
        if task.kind == "window":
            assert task.fetched is not None
            from_window(e, task.fetched)
        elif task.kind == "kept":
            data = kept[e.path]  # the same bytes the md5 was taken of, on every attempt
            send(e, lambda: guard(iter((data,)), deadline, e.path))
            kept.pop(e.path, None)
        else:
            src = sources[e.source_index]
            with large if not planning.is_small(e.info) else contextlib.nullcontext():
                send(e, lambda: guard(content(s3, src, e), deadline, e.path))

    def worker(fetcher: bool) -> None:
        while (task := work.take(fetcher)) is not None:
            if deadline.expired():
                work.finished(UploadError("uploads did not finish before the deadline"))
                break
            try:
                run(task)
            except BaseException as exc:
                abort.set()
                work.finished(exc)
                break
            work.finished()

    threads = max(1, min(settings.workers, len(entries)))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        # Only WINDOWS_IN_FLIGHT of the threads read windows: a ~2 MiB buffer made on a thread stays
        # in that thread's malloc arena, and 32 such arenas add up (see files_pass).
        for future in [pool.submit(worker, i < WINDOWS_IN_FLIGHT) for i in range(threads)]:
            future.result()
    if work.error is not None:
        raise work.error
    progress.done(windows=work.fetches) if work.fetches else progress.done()
