"""The presigned upload URLs' PUTs: S3's answers, the body streamed to disk, its checks, the faults.

A body is streamed to a temporary file in 1 MiB chunks (64 KiB under a bandwidth cap) with its md5
computed on the way, never held in memory, then checked (fileMap md5, Content-MD5, zip) and handed to
the backend, which moves it in place unless its job was started meanwhile. Errors are S3-style XML.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from . import faults
from .exceptions import UploadError
from .httpd import CHUNK, Response
from .jobs import Job
from .signing import Presigned, UploadAddress

if TYPE_CHECKING:
    from .server import ApiHandler

#: an early error answer drains a body up to this size to keep the connection; bigger ones are closed
DRAIN_LIMIT = 1 << 20


@dataclass(frozen=True)
class UploadTarget:
    """What an upload URL resolved to (the backend checked it); the bytes are streamed outside its lock."""

    app_id: str
    branch_name: str
    job_id: int
    slot: str  # "zip" or the fileMap slot number
    final_path: Path
    expected_md5: str | None  # fileMap mode: the md5 the body must have
    #: the URL signs Content-MD5 (knob upload_content_md5=required): the PUT must carry it, equal to
    #: the fileMap's md5, or S3 answers 403 SignatureDoesNotMatch
    md5_signed: bool = False


def upload_target(job: Job, app_id: str, branch_name: str, slot: str, jdir: Path, now: float) -> UploadTarget:
    """Where the upload of ``slot`` of a (signature-checked) job goes; UploadError when it may not."""
    if job.started or job.final_status:
        raise UploadError(
            403,
            "AccessDenied",
            f"Access Denied: job {job.job_id} is already {job.status(now)}; its upload URLs are "
            "closed (emulator rule).",
        )
    if slot == "zip" and job.mode == "ZIP":
        return UploadTarget(app_id, branch_name, job.job_id, slot, jdir / "site.zip", None)
    if job.mode == "FILES" and slot.isdigit() and int(slot) < len(job.names):
        assert job.file_map is not None
        md5 = job.file_map[job.names[int(slot)]].lower()
        return UploadTarget(app_id, branch_name, job.job_id, slot, jdir / "files" / slot, md5, job.md5_signed)
    raise UploadError(403, "AccessDenied", "Access Denied (no such upload slot).")


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


def check_zip(path: Path) -> None:
    """A deployment zip must at least have a readable central directory (emulator rule)."""
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UploadError(
            400, "InvalidZip", f"The uploaded body is not a valid zip file ({exc}) (emulator rule)."
        ) from exc


def s3_error(err: UploadError) -> Response:
    message = err.message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{err.code}</Code><Message>{message}</Message></Error>"
    ).encode()
    return Response(err.status, xml, {"Content-Type": "application/xml"})


def _reject(req: ApiHandler, err: UploadError, body_left: int = 0) -> None:
    """Answer an S3 error; drain a small unread body, close the connection on a big one."""
    req.server.emulator.backend.faults.count("uploads_rejected")
    if body_left > DRAIN_LIMIT:
        req.close_connection = True
    elif body_left > 0:
        req.rfile.read(body_left)
    req.send(s3_error(err))


def _receive(req: ApiHandler, length: int, tmp_dir: Path) -> tuple[Path, bytes] | None:
    """Stream ``length`` body bytes to a temporary file under the bandwidth cap; None if cut short."""
    backend = req.server.emulator.backend
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


def handle_put(req: ApiHandler, path: str, query: str) -> None:
    """Answer one request to an upload URL."""
    backend = req.server.emulator.backend
    length_header = req.headers.get("Content-Length")
    chunked = "chunked" in (req.headers.get("Transfer-Encoding") or "").lower()
    if req.command != "PUT":
        _reject(
            req, UploadError(405, "MethodNotAllowed", "Upload URLs accept PUT only."), int(length_header or 0)
        )
        return
    fault = backend.faults.upload()
    if req.wait_or_stall(fault):
        return
    if length_header is None or chunked:
        req.close_connection = True
        _reject(
            req, UploadError(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        )
        return
    try:
        length = int(length_header)
    except ValueError:
        req.close_connection = True
        _reject(req, UploadError(400, "InvalidArgument", "Bad Content-Length."))
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
        _reject(req, err, length)
        return
    if isinstance(fault, faults.Drop):  # read part of the body, then hang up mid-transfer
        req.rfile.read(min(length // 2, CHUNK))
        req.hang_up()
        return
    received = _receive(req, length, backend.upload_tmp_dir(target))
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
        _reject(req, err)
        return
    finally:
        tmp.unlink(missing_ok=True)
    req.send(Response(200, b"", {"ETag": f'"{digest}"'}))
