"""A what-if prototype of the FILES-mode change proposed in docs/performance.md (bench only: it is
never shipped; bench/runner.py installs it over the real handler when a run asks for it).

Today (lambda/amplify_deployment_handler/deploy.py) FILES mode makes two ranged GETs per file: one
in `_md5_all` (to learn the file's md5 and size for the fileMap) and one more in `_upload` (to send
it). With small files, per-request cost dominates: 5,000 files -> 10,000 GETs.

The prototype changes only `_md5_all` and `_content`:
- small entries (compressed and uncompressed at most SMALL) are read in *windows*: consecutive
  entries of a source, in zip order, fetched with one ranged GET of at most WINDOW bytes, then
  parsed (local header), inflated, CRC-checked, marker-substituted and hashed from that buffer;
- their final bytes are kept in memory (at most BUDGET, 32 MiB, in total) so `_upload` sends them without
  reading S3 again; entries over the budget, large entries and anything unusual take today's path.
"""

from __future__ import annotations

import hashlib
import threading
import zipfile
import zlib
from typing import Any

WINDOW = 2 << 20
SMALL = 256 << 10
BUDGET = 32 << 20


def install() -> None:
    from amplify_deployment_handler import deploy, s3io
    from amplify_deployment_handler.markers import substitute_bytes

    cache: dict[str, bytes] = {}
    lock = threading.Lock()
    used = [0]
    original_content = deploy._content

    def _content(s3: Any, src: Any, e: Any) -> Any:
        data = cache.get(e.path)
        if data is not None:
            return iter((data,))
        return original_content(s3, src, e)

    def _span_end(e: Any) -> int:
        i = e.info
        return (
            i.header_offset + 30 + len(i.orig_filename.encode("utf-8")) + len(i.extra) + 512 + i.compress_size
        )

    def _md5_all(s3: Any, sources: Any, entries: Any, workers: int, deadline: Any) -> dict:
        out: dict[str, tuple[str, int]] = {}
        small: dict[int, list[Any]] = {}
        items: list[tuple[str, Any]] = []
        for e in entries:
            i = e.info
            if i.compress_size <= SMALL and i.file_size <= SMALL and i.compress_type in (0, 8):
                small.setdefault(e.source_index, []).append(e)
            else:
                items.append(("entry", e))
        for idx, es in small.items():
            es.sort(key=lambda e: e.info.header_offset)
            window: list[Any] = []
            for e in es:
                if window and _span_end(e) - window[0].info.header_offset > WINDOW:
                    items.append(("window", (idx, window)))
                    window = []
                window.append(e)
            if window:
                items.append(("window", (idx, window)))

        def hash_stream(e: Any, abort: threading.Event) -> None:
            h = hashlib.md5(usedforsecurity=False)
            n = 0
            for chunk in original_content(s3, sources[e.source_index], e):
                if abort.is_set():
                    return
                h.update(chunk)
                n += len(chunk)
            out[e.path] = (h.hexdigest(), n)

        def one(item: tuple[str, Any], abort: threading.Event) -> None:
            kind, value = item
            if kind == "entry":
                return hash_stream(value, abort)
            idx, window = value
            src = sources[idx]
            start = window[0].info.header_offset
            end = min(src.size, _span_end(window[-1])) - 1
            body = s3io._get_range(s3, src.bucket, src.key, start, end)
            try:
                buf = body.read()
            finally:
                body.close()
            for e in window:
                if abort.is_set():
                    return
                i = e.info
                off = i.header_offset - start
                hlen = s3io._local_header_len(
                    buf[off : off + 30 + 4096], s3io.s3_label(src.bucket, src.key), i.filename
                )
                raw = buf[off + hlen : off + hlen + i.compress_size]
                if len(raw) != i.compress_size:
                    hash_stream(e, abort)
                    continue
                data = zlib.decompress(raw, -15) if i.compress_type == zipfile.ZIP_DEFLATED else raw
                if len(data) != i.file_size or zlib.crc32(data) != i.CRC:
                    raise s3io.SourceError(
                        f"source {s3io.s3_label(src.bucket, src.key)}: {i.filename!r:.60} is corrupt"
                    )
                data = substitute_bytes(data, src.markers)
                out[e.path] = (hashlib.md5(data, usedforsecurity=False).hexdigest(), len(data))
                with lock:
                    if used[0] + len(data) <= BUDGET:
                        used[0] += len(data)
                        cache[e.path] = data

        deploy._parallel(items, one, workers, deadline, "reading the sources (md5)")
        return out

    deploy._md5_all = _md5_all
    deploy._content = _content


def install_chunk(size: int) -> None:
    """What-if for the ZIP direct stream: read S3 and send to the upload URL in `size` pieces
    instead of 256 KiB (s3io.CHUNK and upload.CHUNK_SEND are read at call time)."""
    from amplify_deployment_handler import s3io, upload

    s3io.CHUNK = size
    upload.CHUNK_SEND = size
