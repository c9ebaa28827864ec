"""FILES mode's md5 pass: every file read once, before any job exists, for CreateDeployment's fileMap.

Small files are read in windows (one ranged GET per <= 2 MiB of a zip, `plan.group_reads`). When all
of them fit in `KEEP_BUDGET`, their final bytes are kept for the upload (no second read; an upload
retry sends exactly the bytes the md5 was taken of); when they do not, none is kept and the upload
reads them again by window (files_upload.py): keeping part of them would only add the budget to the
peak memory of the largest sites. Other files are streamed (one ranged GET each), at most
`LARGE_STREAMS` large ones at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import plan as planning
from .deadline import Deadline
from .logs import event
from .markers import substitute_bytes
from .parallel import run_parallel
from .s3io import window_contents
from .sources import Source, content

KEEP_BUDGET = 32 * 1024 * 1024  # FILES mode: small files' final bytes kept for their upload when all fit
# Threads reading windows, so window buffers (<= plan.WINDOW each) held at once: in the md5 pass and
# in the upload stage (files_upload.py), where a buffer is held until its last file is uploaded.
WINDOWS_IN_FLIGHT = 4
# Large files (over plan.SMALL_FILE) streamed S3 -> md5 or S3 -> PUT at once. Measured on 2 cores, 1 GiB
# of 1 MiB files in FILES mode: 16 streams 12.8 s, 32 streams 18.9 s (CPU-bound: more threads only
# contend); small files are latency-bound and use every worker.
LARGE_STREAMS = 16


@dataclass
class Digests:
    """After the md5 pass: path -> (md5 hex, size) of every file, and the final bytes of small files
    kept for their upload (at most `budget` bytes in all; popped once uploaded)."""

    digests: dict[str, tuple[str, int]] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)
    budget: int = KEEP_BUDGET
    kept_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, data: bytes) -> None:
        self.digests[path] = (hashlib.md5(data, usedforsecurity=False).hexdigest(), len(data))
        with self.lock:
            if self.kept_bytes + len(data) <= self.budget:
                self.kept_bytes += len(data)
                self.kept[path] = data


def md5_pass(
    s3: Any,
    sources: Sequence[Source],
    entries: Sequence[planning.Entry],
    workers: int,
    deadline: Deadline,
    budget: int | None = None,
) -> Digests:
    """md5 and size of every file; small files' bytes kept when they all fit in the budget
    (KEEP_BUDGET; sizes before markers, so markers may still leave a few files out)."""
    budget = KEEP_BUDGET if budget is None else budget
    windows, singles = planning.group_reads(entries)
    small_total = sum(e.size for w in windows for e in w.entries)
    found = Digests(budget=budget if small_total <= budget else 0)
    large = threading.Semaphore(LARGE_STREAMS)

    def stream(e: planning.Entry, abort: threading.Event) -> None:
        h = hashlib.md5(usedforsecurity=False)
        n = 0
        with large if not planning.is_small(e.info) else contextlib.nullcontext():
            for chunk in content(s3, sources[e.source_index], e):
                if abort.is_set():
                    return
                h.update(chunk)
                n += len(chunk)
        found.digests[e.path] = (h.hexdigest(), n)

    def window(w: planning.Window, abort: threading.Event) -> None:
        src = sources[w.source_index]
        by_info = {id(e.info): e for e in w.entries}
        if abort.is_set():
            return
        contents = window_contents(s3, src.bucket, src.key, [e.info for e in w.entries], src.size, w.end)
        for info, data in contents:
            e = by_info[id(info)]
            if data is None:  # its data lies beyond the window (odd local header): stream it
                stream(e, abort)
            else:
                found.add(e.path, substitute_bytes(data, src.markers))

    started = time.monotonic()
    # Windows on WINDOWS_IN_FLIGHT threads only, then the streams on every worker: buffers of ~2 MiB
    # made on many threads would each stay in that thread's malloc arena (measured: +25 MiB peak RSS
    # at 20,000 files when any of 32 threads could read a window).
    run_parallel(windows, window, min(workers, WINDOWS_IN_FLIGHT), deadline, "reading the sources (md5)")
    run_parallel(singles, stream, workers, deadline, "reading the sources (md5)")
    event(
        "prepare",
        files=len(found.digests),
        bytes=sum(n for _, n in found.digests.values()),
        windows=len(windows),
        streamed=len(singles),
        kept_bytes=found.kept_bytes,
        seconds=time.monotonic() - started,
    )
    return found
