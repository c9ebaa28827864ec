"""The presigned upload URLs' PUTs: S3's answers, the body streamed to disk, its checks, the faults.

A body is streamed to a temporary file in 1 MiB chunks (64 KiB under a bandwidth cap) with its md5
computed on the way, never held in memory, then checked (fileMap md5, Content-MD5, zip) and handed to
the backend, which moves it in place unless its job was started meanwhile. Errors are S3-style XML.
Which slot a URL opens, and whether it is still open, is the model's rule (jobs.py's
:func:`~.jobs.upload_target`); this module calls the backend, never the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from . import faults
from .content import check_zip
from .exceptions import UploadError
from .httpd import CHUNK, QuietHandler, Response
from .jobs import UploadTarget
from .signing import Presigned, UploadAddress

if TYPE_CHECKING:
    from .models import AmplifyBackend

#: applies the latency knob and an injected stall to a request: True when it stalled and hung up
WaitOrStall = Callable[[object], bool]

#: an early error answer drains a body up to this size to keep the connection; bigger ones are closed
DRAIN_LIMIT = 1 << 20


def check_signed_md5(target: UploadTarget, content_md5: str | None) -> None:
    """A URL that signs Content-MD5 accepts only the fileMap's md5 in that header (S3: the header is
    part of the signature)."""
    if not target.md5_signed or target.expected_md5 is None:
        return
    if content_md5 != base64.b64encode(bytes.fromhex(target.expected_md5)).decode():
        raise UploadError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method. (this URL signs Content-MD5)",
        )


def s3_error(err: UploadError) -> Response:
    message = err.message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{err.code}</Code><Message>{message}</Message></Error>"
    ).encode()
    return Response(err.status, xml, {"Content-Type": "application/xml"})


def _reject(req: QuietHandler, backend: AmplifyBackend, err: UploadError, body_left: int = 0) -> None:
    """Answer an S3 error; drain a small unread body, close the connection on a big one."""
    backend.faults.count("uploads_rejected")
    if body_left > DRAIN_LIMIT:
        req.close_connection = True
    elif body_left > 0:
        req.rfile.read(body_left)
    req.send(s3_error(err))


def _receive(
    req: QuietHandler, backend: AmplifyBackend, length: int, tmp_dir: Path
) -> tuple[Path, bytes] | None:
    """Stream ``length`` body bytes to a temporary file under the bandwidth cap; None if cut short."""
    md5 = hashlib.md5()  # noqa: S324 - S3's ETag / the fileMap digest
    with tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False) as out:
        tmp = Path(out.name)
        left = length
        try:
            while left:
                chunk = req.rfile.read(min(left, CHUNK if not backend.knobs.upload_bandwidth else 65536))
                if not chunk:
                    break
                left -= len(chunk)
                md5.update(chunk)
                out.write(chunk)
                delay = backend.faults.bandwidth_delay(len(chunk))
                if delay:
                    time.sleep(delay)
        except OSError:
            left = -1
    if left:  # the client went away before sending the whole body
        tmp.unlink(missing_ok=True)
        req.close_connection = True
        return None
    return tmp, md5.digest()


def handle_put(
    req: QuietHandler, backend: AmplifyBackend, wait_or_stall: WaitOrStall, path: str, query: str
) -> None:
    """Answer one request to an upload URL (``wait_or_stall``: the API server's latency and stall)."""
    length_header = req.headers.get("Content-Length")
    chunked = "chunked" in (req.headers.get("Transfer-Encoding") or "").lower()
    if req.command != "PUT":
        _reject(
            req,
            backend,
            UploadError(405, "MethodNotAllowed", "Upload URLs accept PUT only."),
            int(length_header or 0),
        )
        return
    fault = backend.faults.upload()
    if wait_or_stall(fault):
        return
    if length_header is None or chunked:
        req.close_connection = True
        _reject(
            req,
            backend,
            UploadError(411, "MissingContentLength", "You must provide the Content-Length HTTP header."),
        )
        return
    try:
        length = int(length_header)
    except ValueError:
        req.close_connection = True
        _reject(req, backend, UploadError(400, "InvalidArgument", "Bad Content-Length."))
        return
    try:
        if length > backend.knobs.max_upload_bytes:
            raise UploadError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        address = UploadAddress.parse(path)
        if address is None:
            raise UploadError(404, "NoSuchKey", "The specified key does not exist.")
        target = backend.resolve_upload(address, Presigned.from_query(dict(parse_qsl(query))))
        check_signed_md5(target, req.headers.get("Content-MD5"))
    except UploadError as err:
        _reject(req, backend, err, length)
        return
    if isinstance(fault, faults.Drop):  # read part of the body, then hang up mid-transfer
        req.rfile.read(min(length // 2, CHUNK))
        req.hang_up()
        return
    received = _receive(req, backend, length, backend.upload_tmp_dir(target))
    if received is None:
        return
    tmp, md5 = received
    digest = md5.hex()
    try:
        content_md5 = req.headers.get("Content-MD5")
        if content_md5 is not None and content_md5 != base64.b64encode(md5).decode():
            raise UploadError(
                400, "BadDigest", "The Content-MD5 you specified did not match what we received."
            )
        if isinstance(fault, faults.Fail):
            raise UploadError(
                500, "InternalError", "We encountered an internal error. Please try again. (injected)"
            )
        if target.expected_md5 is not None and digest != target.expected_md5:
            raise UploadError(
                400,
                "BadDigest",
                f"The md5 of the uploaded body ({digest}) does not match the fileMap's "
                f"({target.expected_md5}).",
            )
        if target.slot == "zip":
            check_zip(tmp)
        backend.commit_upload(target, tmp)
    except UploadError as err:
        _reject(req, backend, err)
        return
    finally:
        tmp.unlink(missing_ok=True)
    req.send(Response(200, b"", {"ETag": f'"{digest}"'}))
