"""Two changes to moto's S3 server, applied in the benchmark's own process only (never in tests).

1. **Ranged GETs cost O(range), as on S3.** moto 5 answers `GET Range: bytes=a-b` by reading the
   *whole* object out of its spool file (`FakeKey.value`) and slicing it. On a 1 GiB zip read entry
   by entry that is ~1 GiB of copying per entry, and on a 20 MB zip of 5,000 small files it is
   ~20 MB per file: a moto artefact that would dominate the handler's time (real S3 does not do
   this). Here a simple `bytes=a-b` GET reads only bytes a..b from the spool file.
2. **Counting.** Every GetObject answer's body bytes and the number of GET/HEAD requests are added
   to `COUNTERS`. This is how "bytes read from S3" is measured: on the server side, body bytes only
   (HTTP headers, ~400 bytes per response, are not counted). GETs of a presigned URL (a signature in
   the query string: Amplify fetching a PULL-mode sourceUrl) are counted apart
   (`presigned_get_*`): the handler's own reads sign in headers.

Everything else (routing, headers, Content-Range, errors) is moto's own code.
"""

from __future__ import annotations

import re
import threading
from typing import Any

NAMES = ("get_body_bytes", "get_requests", "head_requests", "presigned_get_bytes", "presigned_get_requests")
COUNTERS = {n: 0 for n in NAMES}
_lock = threading.Lock()
_shared: Any = None  # a multiprocessing.Array("q", 3) when moto runs in its own process
_tls = threading.local()
_SIMPLE_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


class _RangeContent:
    """Looks like the whole object to moto's `_handle_range_header` (len = object size), but holds
    only the requested range; slicing with exactly that range returns it."""

    def __init__(self, data: bytes, begin: int, total: int) -> None:
        self.data, self.begin, self.total = data, begin, total

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def __getitem__(self, item: Any) -> bytes:
        if not isinstance(item, slice) or item.step not in (None, 1):
            raise TypeError("only a contiguous slice is supported")
        start = item.start - self.begin
        stop = min(item.stop, self.total) - self.begin
        if start < 0 or stop > len(self.data):
            raise IndexError("slice outside the fetched range")
        return self.data[start:stop]


def _add(name: str, n: int) -> None:
    if _shared is not None:
        with _shared.get_lock():
            _shared[NAMES.index(name)] += n
        return
    with _lock:
        COUNTERS[name] += n


def reset_counters() -> dict[str, int]:
    with _lock:
        before = dict(COUNTERS)
        for k in COUNTERS:
            COUNTERS[k] = 0
    return before


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(COUNTERS)


def apply(shared: Any = None) -> None:
    global _shared
    _shared = shared
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    if getattr(S3Response, "_bench_patched", False):
        return
    original_key_response = S3Response.key_response
    value_prop = FakeKey.value
    original_getter = value_prop.fget

    def value_getter(self: Any) -> Any:
        rng = getattr(_tls, "range", None)
        if rng is None:
            return original_getter(self)
        begin, end = rng
        with self.lock:
            buf = self._value_buffer
            buf.seek(0, 2)
            total = buf.tell()
            if begin >= total:  # let moto answer InvalidRange from the whole value
                buf.seek(0)
                return buf.read()
            buf.seek(begin)
            data = buf.read(min(end, total - 1) - begin + 1)
        return _RangeContent(data, begin, total)

    FakeKey.value = property(value_getter, value_prop.fset)  # type: ignore[method-assign]

    def key_response(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        method = request.method
        rng = request.headers.get("range") or ""
        m = _SIMPLE_RANGE.match(rng.strip()) if method == "GET" else None
        if m and int(m.group(1)) <= int(m.group(2)):
            _tls.range = (int(m.group(1)), int(m.group(2)))
        try:
            status, resp_headers, body = original_key_response(self, request, full_url, headers)
        finally:
            _tls.range = None
        if method == "GET":
            # A presigned GET (a signature in the query) is Amplify fetching a sourceUrl (PULL mode),
            # not the handler, whose SDK calls sign in headers: counted apart.
            presigned = "Signature=" in full_url
            _add("presigned_get_requests" if presigned else "get_requests", 1)
            if 200 <= int(status) < 300 and isinstance(body, (bytes, bytearray)):
                _add("presigned_get_bytes" if presigned else "get_body_bytes", len(body))
        elif method == "HEAD":
            _add("head_requests", 1)
        if isinstance(body, _RangeContent):  # a range moto did not slice (should not happen)
            body = body.data
        return status, resp_headers, body

    S3Response.key_response = key_response  # type: ignore[method-assign]
    S3Response._bench_patched = True  # type: ignore[attr-defined]


def _serve(conn: Any, shared: Any) -> None:
    """Body of the S3 server process: patched moto on 127.0.0.1, port sent back on `conn`."""
    import logging

    from moto.server import ThreadedMotoServer

    apply(shared)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    conn.send(server.get_host_and_port()[1])
    conn.recv()  # until the parent says stop (or goes away)
    server.stop()


class S3Process:
    """moto S3 (patched as above) in a process of its own, so that it does not share a GIL with the
    Amplify emulator: S3 and Amplify are separate services. Counters live in shared memory."""

    def __init__(self) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.shared = ctx.Array("q", len(NAMES))
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.shared), daemon=True, name="bench-moto-s3")

    def __enter__(self) -> S3Process:
        self._proc.start()
        self.port = int(self._conn.recv())
        self.pid = self._proc.pid
        self.endpoint = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.terminate()

    def reset_counters(self) -> None:
        with self.shared.get_lock():
            for i in range(len(NAMES)):
                self.shared[i] = 0

    def snapshot(self) -> dict[str, int]:
        with self.shared.get_lock():
            return {n: int(self.shared[i]) for i, n in enumerate(NAMES)}
