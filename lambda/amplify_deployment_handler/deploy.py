"""One deployment, start to end: plan, prepare, wait for the branch, create, upload, start, poll.

The imperative shell around the pure parts (props, plan, markers, jobs). Every failure surfaces as
DeploymentError with a short reason; a job created here is stopped again when anything fails before
it has been started, so the branch is not left blocked and the live site stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import plan as planning
from .amplify import Amplify, AmplifyError, BranchBusy
from .deadline import Deadline
from .logs import DEFAULT_PROGRESS_INTERVAL, Progress, event
from .markers import substitute, substitute_bytes
from .props import FILES, DeploymentProps
from .rules import DEFAULT_FUNCTION_TIMEOUT_S, DEFAULT_UPLOAD_WORKERS
from .s3io import (
    CHUNK,
    SourceError,
    entry_chunks,
    head_size,
    object_chunks,
    open_zip,
    raw_entry_chunks,
    window_contents,
)
from .upload import UploadError, UploadPolicy, close_connections, put

T = TypeVar("T")


class DeploymentError(Exception):
    """The deployment failed; the message is the reason CloudFormation shows."""


@dataclass(frozen=True)
class Settings:
    abandoned_after_s: float = DEFAULT_FUNCTION_TIMEOUT_S
    workers: int = DEFAULT_UPLOAD_WORKERS
    upload: UploadPolicy = field(default_factory=UploadPolicy)
    tmp_dir: str | None = None
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL  # seconds between upload progress lines


@dataclass(frozen=True)
class Result:
    job_id: str
    file_count: int
    byte_count: int


@dataclass
class _Source:
    bucket: str
    key: str
    size: int
    markers: tuple[tuple[bytes, bytes], ...]


def _content(s3: Any, src: _Source, entry: planning.Entry) -> Iterator[bytes]:
    return substitute(entry_chunks(s3, src.bucket, src.key, entry.info, src.size), src.markers)


def _guard(chunks: Iterable[bytes], deadline: Deadline, what: str) -> Iterator[bytes]:
    for chunk in chunks:
        if deadline.expired():
            raise UploadError(f"upload of {what} did not finish before the deadline")
        yield chunk


def _parallel(
    items: Sequence[T],
    work: Callable[[T, threading.Event], None],
    workers: int,
    deadline: Deadline,
    stage: str,
) -> None:
    """Run work(item, abort) on a thread pool; the first error sets abort, cancels the rest and is
    raised."""
    abort = threading.Event()

    def run(item: T) -> None:
        if abort.is_set():
            return
        if deadline.expired():
            raise UploadError(f"{stage} did not finish before the deadline")
        work(item, abort)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures: list[Future[None]] = [pool.submit(run, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception()), None)
        if failed is not None:
            abort.set()
            for f in futures:
                f.cancel()
            exc = failed.exception()
            assert exc is not None
            raise exc


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _raw_copy_supported(out: zipfile.ZipFile) -> bool:
    """Raw copies use zipfile internals that have been stable for years (FileHeader, filelist,
    NameToInfo, start_dir); if a future Python drops one, entries are recompressed instead."""
    return hasattr(zipfile.ZipInfo, "FileHeader") and all(
        hasattr(out, a) for a in ("fp", "filelist", "NameToInfo", "start_dir", "_didModify")
    )


def _copy_raw(out: zipfile.ZipFile, path: str, info: zipfile.ZipInfo, chunks: Iterable[bytes]) -> None:
    """Append an entry's compressed bytes unchanged (no decompress/recompress)."""
    zi = zipfile.ZipInfo(path, date_time=info.date_time)
    zi.compress_type = info.compress_type
    zi.CRC, zi.compress_size, zi.file_size = info.CRC, info.compress_size, info.file_size
    zi.external_attr = info.external_attr
    zi.create_system = info.create_system
    zi.flag_bits = info.flag_bits & 0x6  # keep deflate's level bits; sizes go in the local header
    fp: Any = out.fp
    zi.header_offset = fp.tell()
    zip64 = zi.file_size > zipfile.ZIP64_LIMIT or zi.compress_size > zipfile.ZIP64_LIMIT
    fp.write(zi.FileHeader(zip64))
    for chunk in chunks:
        fp.write(chunk)
    out.filelist.append(zi)
    out.NameToInfo[zi.filename] = zi
    out.start_dir = fp.tell()
    out._didModify = True  # type: ignore[attr-defined]


def build_merged_zip(
    s3: Any, sources: Sequence[_Source], entries: Sequence[planning.Entry], tmp_dir: str | None
) -> tuple[str, int]:
    """Write the merged site to a spool zip in tmp_dir; (path, bytes of site content)."""
    fd, path = tempfile.mkstemp(prefix="amplify-site-", suffix=".zip", dir=tmp_dir)
    try:
        return _write_merged_zip(s3, sources, entries, fd, path)
    except OSError as exc:
        os.unlink(path)
        if exc.errno == errno.ENOSPC:
            raise planning.PlanError(_NO_SPACE) from exc
        raise
    except BaseException:
        os.unlink(path)
        raise


_NO_SPACE = (
    "the merged site zip does not fit in /tmp: raise the function's ephemeral storage "
    "(ephemeral_storage_size) or use UploadMode FILES"
)


def _write_merged_zip(
    s3: Any, sources: Sequence[_Source], entries: Sequence[planning.Entry], fd: int, path: str
) -> tuple[str, int]:
    content_bytes = 0
    with os.fdopen(fd, "w+b") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
        raw_ok = _raw_copy_supported(out)
        for e in entries:
            src = sources[e.source_index]
            if not src.markers and raw_ok:
                _copy_raw(out, e.path, e.info, raw_entry_chunks(s3, src.bucket, src.key, e.info, src.size))
                content_bytes += e.size
                continue
            zi = zipfile.ZipInfo(e.path, date_time=e.info.date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = e.info.external_attr
            with out.open(zi, "w", force_zip64=e.size > 1 << 30) as w:
                for chunk in _content(s3, src, e):
                    w.write(chunk)
                    content_bytes += len(chunk)
    return path, content_bytes


KEEP_BUDGET = 32 * 1024 * 1024  # FILES mode: final bytes of small files kept for their upload
WINDOWS_IN_FLIGHT = 8  # window buffers (<= plan.WINDOW each) held at once in the md5 pass
# Large files (over plan.SMALL_FILE) streamed S3 -> md5 or S3 -> PUT at once. Measured on 2 cores, 1 GiB
# of 1 MiB files in FILES mode: 16 streams 12.8 s, 32 streams 18.9 s (CPU-bound: more threads only
# contend); small files are latency-bound and use every worker.
LARGE_STREAMS = 16


@dataclass
class _Prepared:
    """FILES mode after the md5 pass: path -> (md5 hex, size) of every file, and the final bytes of
    small files kept for their upload (at most `budget` bytes in all; popped once uploaded)."""

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


def _md5_all(
    s3: Any,
    sources: Sequence[_Source],
    entries: Sequence[planning.Entry],
    workers: int,
    deadline: Deadline,
    budget: int | None = None,
) -> _Prepared:
    """md5 and size of every file. Small files are read in windows (one ranged GET per <= 2 MiB of a
    zip) and their final bytes kept for the upload while the budget lasts; other files are streamed."""
    prepared = _Prepared(budget=KEEP_BUDGET if budget is None else budget)
    windows, singles = planning.group_reads(entries)
    in_flight = threading.Semaphore(WINDOWS_IN_FLIGHT)
    large = threading.Semaphore(LARGE_STREAMS)

    def stream(e: planning.Entry, abort: threading.Event) -> None:
        h = hashlib.md5(usedforsecurity=False)
        n = 0
        with large if not planning.is_small(e.info) else contextlib.nullcontext():
            for chunk in _content(s3, sources[e.source_index], e):
                if abort.is_set():
                    return
                h.update(chunk)
                n += len(chunk)
        prepared.digests[e.path] = (h.hexdigest(), n)

    def window(w: planning.Window, abort: threading.Event) -> None:
        src = sources[w.source_index]
        by_info = {id(e.info): e for e in w.entries}
        with in_flight:
            if abort.is_set():
                return
            contents = window_contents(s3, src.bucket, src.key, [e.info for e in w.entries], src.size, w.end)
            for info, data in contents:
                e = by_info[id(info)]
                if data is None:  # its data lies beyond the window (odd local header): stream it
                    stream(e, abort)
                else:
                    prepared.add(e.path, substitute_bytes(data, src.markers))

    def one(item: planning.Window | planning.Entry, abort: threading.Event) -> None:
        if isinstance(item, planning.Window):
            window(item, abort)
        else:
            stream(item, abort)

    items: list[planning.Window | planning.Entry] = [*windows, *singles]
    started = time.monotonic()
    _parallel(items, one, workers, deadline, "reading the sources (md5)")
    event(
        "prepare",
        files=len(prepared.digests),
        bytes=sum(n for _, n in prepared.digests.values()),
        windows=len(windows),
        streamed=len(singles),
        kept_bytes=prepared.kept_bytes,
        seconds=time.monotonic() - started,
    )
    return prepared


def _read_sources(s3: Any, props: DeploymentProps) -> tuple[list[_Source], list[planning.SourceListing]]:
    sources: list[_Source] = []
    listings: list[planning.SourceListing] = []
    for i, s in enumerate(props.sources):
        size = head_size(s3, s.bucket, s.key)
        with open_zip(s3, s.bucket, s.key, size) as zf:
            listings.append(planning.list_source(zf.infolist(), i, f"Sources[{i}]"))
        sources.append(_Source(s.bucket, s.key, size, s.markers))
    return sources, listings


def deploy(
    props: DeploymentProps,
    s3: Any,
    amplify_client: Any,
    deadline: Deadline,
    settings: Settings = Settings(),
    sleep: Callable[[float], None] | None = None,
) -> Result:
    try:
        return _deploy(props, s3, amplify_client, deadline, settings, sleep)
    except (planning.PlanError, SourceError, AmplifyError, UploadError) as exc:
        raise DeploymentError(str(exc)) from exc


def _deploy(
    props: DeploymentProps,
    s3: Any,
    amplify_client: Any,
    deadline: Deadline,
    settings: Settings,
    sleep: Callable[[float], None] | None,
) -> Result:
    sources, listings = _read_sources(s3, props)
    plan = planning.make_plan(props, listings)
    how = "FILES" if plan.mode == FILES else ("ZIP direct" if plan.direct else "ZIP merged")
    event("plan", mode=how, sources=len(sources), files=plan.file_count, bytes=plan.byte_count)
    if not plan.has_index_html:
        event("plan", logging.WARNING, warning="no index.html at the site root; Amplify will answer 404 at /")

    spool: str | None = None
    try:
        file_map: dict[str, str] | None = None
        sizes: dict[str, int] = {}
        kept: dict[str, bytes] = {}
        zip_size = 0
        byte_count = plan.byte_count
        if plan.mode == FILES:
            prepared = _md5_all(s3, sources, plan.entries, settings.workers, deadline)
            file_map = {p: md5 for p, (md5, _) in prepared.digests.items()}
            sizes = {p: n for p, (_, n) in prepared.digests.items()}
            kept = prepared.kept
            del prepared
            byte_count = sum(sizes.values())
        elif plan.direct:
            zip_size = sources[0].size
            planning.check_zip_size(zip_size, "the source zip")
        else:
            estimate = planning.estimated_zip_size(plan, props)
            planning.check_zip_size(estimate, "the merged site zip")
            if shutil.disk_usage(settings.tmp_dir or tempfile.gettempdir()).free < estimate:
                raise planning.PlanError(_NO_SPACE)
            started = time.monotonic()
            spool, byte_count = build_merged_zip(s3, sources, plan.entries, settings.tmp_dir)
            zip_size = os.path.getsize(spool)
            planning.check_zip_size(zip_size, "the merged site zip")
            event("prepare", merged_zip_bytes=zip_size, seconds=time.monotonic() - started)

        amp = Amplify(amplify_client, props.app_id, props.branch_name, deadline, sleep=sleep or time.sleep)
        created = _create_when_free(amp, file_map, settings.abandoned_after_s)
        job_id = str(created.get("jobId"))
        event("job", job_id=job_id, action="created")
        try:
            _upload(plan, created, sources, s3, sizes, kept, zip_size, spool, deadline, settings)
            amp.start(job_id)
        except BaseException as exc:
            stopped = amp.stop(job_id, quiet_errors=True)
            if isinstance(exc, (UploadError, SourceError, AmplifyError)):
                if stopped:
                    raise DeploymentError(f"{exc}; job {job_id} stopped, the live site is unchanged") from exc
                raise DeploymentError(
                    f"{exc}; job {job_id} could not be stopped (it blocks the branch until stopped), "
                    "the live site is unchanged"
                ) from exc
            raise
        event("job", job_id=job_id, action="started")
        amp.poll(job_id)
        return Result(job_id, plan.file_count, byte_count)
    finally:
        close_connections()
        if spool is not None:
            os.unlink(spool)


def _create_when_free(amp: Amplify, file_map: dict[str, str] | None, abandoned_after_s: float) -> Any:
    """Wait for a free branch, then CreateDeployment; if another job took the branch in between (a
    concurrent deployment), wait again."""
    while True:
        amp.wait_until_free(abandoned_after_s)
        try:
            return amp.create(file_map)
        except BranchBusy:
            if amp.deadline.remaining() < 2:
                raise
            event("wait", action="waiting", why="another job took the branch before CreateDeployment")


def _upload(
    plan: planning.Plan,
    created: Mapping[str, Any],
    sources: Sequence[_Source],
    s3: Any,
    sizes: Mapping[str, int],
    kept: dict[str, bytes],
    zip_size: int,
    spool: str | None,
    deadline: Deadline,
    settings: Settings,
) -> None:
    if plan.mode == FILES:
        urls = created.get("fileUploadUrls") or {}
        missing = next((e.path for e in plan.entries if e.path not in urls), None)
        if missing is not None:
            raise UploadError(f"CreateDeployment returned no upload URL for {missing!r:.80}")

        progress = Progress(len(plan.entries), sum(sizes.values()), settings.progress_interval)
        large = threading.Semaphore(LARGE_STREAMS)

        def one(e: planning.Entry, abort: threading.Event) -> None:
            src = sources[e.source_index]
            data = kept.get(e.path)  # the same bytes the md5 was taken of, on every attempt
            body: Callable[[], Iterable[bytes]]
            if data is not None:
                body = lambda: _guard(iter((data,)), deadline, e.path)  # noqa: E731
            else:
                body = lambda: _guard(_content(s3, src, e), deadline, e.path)  # noqa: E731
            with large if data is None and not planning.is_small(e.info) else contextlib.nullcontext():
                put(urls[e.path], body, sizes[e.path], e.path, deadline, settings.upload, abort)
            kept.pop(e.path, None)
            progress.add(1, sizes[e.path])

        _parallel(plan.entries, one, settings.workers, deadline, "uploads")
        progress.done()
        return
    url = created.get("zipUploadUrl")
    if not url:
        raise UploadError("CreateDeployment returned no zipUploadUrl")
    progress = Progress(1, zip_size, settings.progress_interval)
    if plan.direct:
        src = sources[0]
        chunks: Callable[[], Iterable[bytes]] = lambda: object_chunks(s3, src.bucket, src.key)[0]  # noqa: E731
    else:
        assert spool is not None
        path = spool
        chunks = lambda: _file_chunks(path)  # noqa: E731

    def body() -> Iterator[bytes]:
        progress.rewind()  # each attempt sends the zip from its start
        for chunk in _guard(chunks(), deadline, "the site zip"):
            progress.add(0, len(chunk))
            yield chunk

    attempts = put(url, body, zip_size, "the site zip", deadline, settings.upload)
    progress.add(1)
    progress.done(attempts=attempts)
