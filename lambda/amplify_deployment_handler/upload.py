"""PUT bytes to a presigned upload URL (stdlib http.client) with timeouts and retries.

The URL is a bearer credential: it never appears in an exception, a reason or a log line; errors
name the file being uploaded instead.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .deadline import Deadline
from .error_codes import s3_xml_error_code, s3_xml_error_message
from .logs import event
from .retry import backoff
from .s3io import SourceError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class UploadPolicy:
    attempts: int = 5
    timeout: float = 60.0  # socket timeout: a stalled connect/send/receive fails the attempt
    backoff_base: float = 0.5
    backoff_max: float = 8.0


def content_md5(md5_hex: str) -> str:
    """The Content-MD5 header of a body whose md5 is `md5_hex`: base64 of the 16 digest bytes."""
    return base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")


class UploadError(Exception):
    """An upload failed for good; the message names the file, never the URL."""


class _Connections(threading.local):
    """One keep-alive connection per thread and host."""

    def __init__(self) -> None:
        self.by_host: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}


_local = _Connections()
_ssl_context: ssl.SSLContext | None = None


def _connection(scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
    global _ssl_context
    key = (scheme, host, port)
    conn = _local.by_host.get(key)
    if conn is None:
        if scheme == "https":
            if _ssl_context is None:
                _ssl_context = ssl.create_default_context()
            conn = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=_ssl_context, blocksize=CHUNK_SEND
            )
        elif scheme == "http":
            conn = http.client.HTTPConnection(host, port, timeout=timeout, blocksize=CHUNK_SEND)
        else:
            raise UploadError(f"unsupported upload URL scheme {scheme!r}")
        _local.by_host[key] = conn
    return conn


def _drop(scheme: str, host: str, port: int | None) -> None:
    conn = _local.by_host.pop((scheme, host, port), None)
    if conn is not None:
        conn.close()


CHUNK_SEND = 256 * 1024


def close_connections() -> None:
    """Close this thread's kept-alive upload connections (a warm Lambda must not reuse a connection
    the server may have closed meanwhile: a big body would be sent before that shows)."""
    for key in list(_local.by_host):
        _drop(*key)


def put(
    url: str,
    body: Callable[[], Iterable[bytes]],
    length: int,
    what: str,
    deadline: Deadline,
    policy: UploadPolicy = UploadPolicy(),
    abort: threading.Event | None = None,
    content_md5: str | None = None,
) -> int:
    """PUT `length` bytes from a fresh `body()` iterable per attempt; returns the attempts used.
    `content_md5` (base64 of the body's md5) is sent as Content-MD5: S3 then verifies the body.

    Retries 5xx/408/429 answers, connection errors, timeouts and source read errors with backoff;
    stops at once on other 4xx answers, at the deadline, or when `abort` is set.
    """
    headers = {"Content-Length": str(length)}
    if content_md5 is not None:
        headers["Content-MD5"] = content_md5
    parts = urlsplit(url)
    scheme, host, port = parts.scheme, parts.hostname or "", parts.port
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    last = ""
    for attempt in range(1, policy.attempts + 1):
        if abort is not None and abort.is_set():
            raise UploadError(f"upload of {what} cancelled")
        timeout = min(policy.timeout, max(0.5, deadline.remaining()))
        try:
            conn = _connection(scheme, host, port, timeout)
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            conn.request("PUT", target, body=body(), headers=headers)
            resp = conn.getresponse()
            answer = resp.read(4096)
            while resp.read(65536):
                pass
            if 200 <= resp.status < 300:
                if resp.will_close:
                    _drop(scheme, host, port)
                return attempt
            _drop(scheme, host, port)
            code = s3_xml_error_code(answer)
            last = f"HTTP {resp.status}{' ' + code if code else ''}"
            if resp.status == 403 and "expired" in s3_xml_error_message(answer).lower():
                raise UploadError(
                    f"upload of {what} refused: its upload URL has expired ({last}: Request has expired); "
                    "the deployment outlived the URL's lifetime: retry it"
                )
            if resp.status not in RETRY_STATUSES:
                raise UploadError(f"upload of {what} refused: {last}")
        except UploadError:
            _drop(scheme, host, port)
            raise
        except (OSError, http.client.HTTPException, SourceError) as exc:
            _drop(scheme, host, port)
            if isinstance(exc, (socket.timeout, TimeoutError)):
                last = "timed out"
            elif isinstance(exc, SourceError):
                last = str(exc)
            else:
                last = type(exc).__name__
        if attempt == policy.attempts:
            break
        pause = backoff(attempt, policy.backoff_base, policy.backoff_max)
        if deadline.remaining() < pause + 1:
            raise UploadError(f"upload of {what} failed ({last}); no time left to retry")
        event("retry", msg=f"upload: {what} attempt {attempt} failed ({last}), retrying")
        if abort is not None:
            if abort.wait(pause):
                raise UploadError(f"upload of {what} cancelled")
        else:
            time.sleep(pause)
    raise UploadError(f"upload of {what} failed after {policy.attempts} attempts ({last})")
