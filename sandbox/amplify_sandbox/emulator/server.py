"""The HTTP layer: the API/upload/admin server and one small static-site server per branch.

Built on the stdlib ThreadingHTTPServer (HTTP/1.1 keep-alive, one thread per connection, daemon
threads) for byte-level control: uploads are streamed to disk in chunks (never held in memory), a
bandwidth cap is applied per chunk, and connections can be dropped or stalled on demand.
Request lines are never logged: upload URLs carry credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import responses
from .exceptions import InternalFailureException, UploadError
from .knobs import Knobs
from .models import AmplifyBackend, Clock

log = logging.getLogger("amplify_sandbox.emulator")

CHUNK = 1 << 20
#: an early error answer drains a body up to this size to keep the connection; bigger ones are closed
DRAIN_LIMIT = 1 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], emulator: AmplifyEmulator) -> None:
        self.emulator = emulator
        super().__init__(("127.0.0.1", port), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that go away (timeouts, dropped uploads) are normal here; log anything else, briefly."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        log.error("the Amplify emulator failed on a request: %r", exc)


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - never log (URLs are secrets)
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str], head_only: bool = False) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _wait_or_stall(self, fault: tuple[str, Any] | None) -> bool:
        """Apply the latency knob, then an injected stall: True when the request was stalled and hung up."""
        latency = self.server.emulator.backend.add_latency()
        if latency:
            time.sleep(latency)
        if fault and fault[0] == "stall":
            self.server.emulator.stop_event.wait(fault[1])
            self._hang_up()
            return True
        return False

    def _hang_up(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _ApiHandler(_QuietHandler):
    """The Amplify API, the presigned upload URLs and the /_sandbox admin endpoints."""

    def _dispatch(self) -> None:
        emu = self.server.emulator
        backend = emu.backend
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/_sandbox/"):
            self._admin(path, parts.query)
            return
        if path.startswith("/_upload/"):
            self._upload(path, parts.query)
            return
        raw = self._read_body()
        found = responses.match(self.command, path)
        if found is None:
            self._send(
                404,
                b'{"message": "Unknown operation"}',
                {"Content-Type": "application/json", "x-amzn-ErrorType": "UnknownOperationException"},
            )
            return
        operation, params = found
        fault = backend.take_api_fault(operation)
        if self._wait_or_stall(fault):
            return
        if fault and fault[0] == "error":
            resp = responses.error_response(fault[1])
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                resp = responses.handle(backend, operation, params, parts.query, headers, raw)
            except Exception as exc:  # a bug of the emulator: answer like the service would, and say so
                log.exception("the Amplify emulator failed on %s", operation)
                resp = responses.error_response(
                    InternalFailureException(f"Emulator error in {operation}: {type(exc).__name__}: {exc}")
                )
        self._send(resp.status, resp.body, resp.headers)

    do_GET = do_POST = do_DELETE = do_PUT = _dispatch  # noqa: N815

    # -------------------------------------------------------------- admin
    def _admin(self, path: str, query: str) -> None:
        backend = self.server.emulator.backend
        raw = self._read_body()
        status, data = 200, None
        try:
            if path == "/_sandbox/knobs" and self.command == "GET":
                with backend.lock:
                    data = backend.knobs.to_dict()
            elif path == "/_sandbox/knobs" and self.command == "POST":
                data = backend.set_knobs(**json.loads(raw or b"{}"))
            elif path == "/_sandbox/counters" and self.command == "GET":
                with backend.lock:
                    data = backend.counters.to_dict()
            elif path == "/_sandbox/reset" and self.command == "POST":
                self.server.emulator.reset()
                data = {"reset": True}
            elif path.startswith("/_sandbox/logs/") and self.command == "GET":
                bits = path.split("/")
                log = backend.job_log(bits[3], bits[4], bits[5]) if len(bits) == 6 else None
                if log is None:
                    self._send(404, b"no such job\n", {"Content-Type": "text/plain"})
                else:
                    self._send(200, log.encode(), {"Content-Type": "text/plain; charset=utf-8"})
                return
            elif path == "/_sandbox/site-url" and self.command == "GET":
                q = dict(parse_qsl(query))
                data = {"url": self.server.emulator.site_url(q.get("app", ""), q.get("branch", ""))}
            else:
                status, data = 404, {"message": f"unknown admin endpoint {self.command} {path}"}
        except (ValueError, TypeError, KeyError) as exc:
            status, data = 400, {"message": str(exc)}
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    # -------------------------------------------------------------- uploads
    def _s3_error(self, err: UploadError, body_left: int) -> None:
        backend = self.server.emulator.backend
        with backend.lock:
            backend.counters.uploads_rejected += 1
        if body_left > DRAIN_LIMIT:
            self.close_connection = True
        elif body_left > 0:
            self.rfile.read(body_left)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{err.code}</Code><Message>{_xml_escape(err.message)}</Message></Error>"
        ).encode()
        self._send(err.status, xml, {"Content-Type": "application/xml"})

    def _upload(self, path: str, query: str) -> None:
        emu = self.server.emulator
        backend = emu.backend
        length_header = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if self.command != "PUT":
            self._s3_error(
                UploadError(405, "MethodNotAllowed", "Upload URLs accept PUT only."), int(length_header or 0)
            )
            return
        fault = backend.take_upload_fault()
        if self._wait_or_stall(fault):
            return
        if length_header is None or chunked:
            self.close_connection = True
            self._s3_error(
                UploadError(411, "MissingContentLength", "You must provide the Content-Length HTTP header."),
                0,
            )
            return
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            self._s3_error(UploadError(400, "InvalidArgument", "Bad Content-Length."), 0)
            return
        try:
            if length > 5 * 1024**3:
                raise UploadError(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size (5 GB)."
                )
            target = backend.resolve_upload(path, dict(parse_qsl(query)))
        except UploadError as err:
            self._s3_error(err, length)
            return
        if fault and fault[0] == "drop":
            # read part of the body, then hang up mid-transfer
            self.rfile.read(min(length // 2, CHUNK))
            self._hang_up()
            return
        tmp_dir = backend.upload_tmp_dir(target)
        md5 = hashlib.md5()  # noqa: S324 - S3's ETag / the fileMap digest
        with tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False) as out:
            tmp = Path(out.name)
            left = length
            try:
                while left:
                    chunk = self.rfile.read(min(left, CHUNK if not backend.knobs.upload_bandwidth else 65536))
                    if not chunk:
                        break
                    left -= len(chunk)
                    md5.update(chunk)
                    out.write(chunk)
                    delay = backend.bandwidth_delay(len(chunk))
                    if delay:
                        time.sleep(delay)
            except OSError:
                left = -1
        if left:  # the client went away before sending the whole body
            tmp.unlink(missing_ok=True)
            self.close_connection = True
            return
        digest = md5.hexdigest()
        content_md5 = self.headers.get("Content-MD5")
        if content_md5 is not None and content_md5 != base64.b64encode(md5.digest()).decode():
            tmp.unlink(missing_ok=True)
            self._s3_error(
                UploadError(
                    400, "BadDigest", "The Content-MD5 you specified did not match what we received."
                ),
                0,
            )
            return
        if fault and fault[0] == "fail":
            tmp.unlink(missing_ok=True)
            self._s3_error(
                UploadError(
                    500, "InternalError", "We encountered an internal error. Please try again. (injected)"
                ),
                0,
            )
            return
        try:
            backend.finish_upload(target, tmp, digest)
        except UploadError as err:
            self._s3_error(err, 0)
            return
        self._send(200, b"", {"ETag": f'"{digest}"'})


class _SiteHandler(_QuietHandler):
    """Serves one branch's live content like a static Amplify site."""

    def _serve(self, head: bool) -> None:
        emu = self.server.emulator
        app_id, branch_name = self.server.site
        self._read_body()
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        found, src = None, None
        for _ in range(3):  # a deploy may replace the content between lookup and open: look again
            found = emu.backend.site_file(app_id, branch_name, rel)
            if found is None:
                break
            try:
                src = found.opener()
                break
            except (OSError, ValueError):
                found = None
        if (
            found is None
            and rel
            and not rel.endswith("/")
            and emu.backend.site_has_dir(app_id, branch_name, rel)
        ):
            self._send(301, b"", {"Location": "/" + rel + "/"}, head)
            return
        if found is None or src is None:
            self._send(
                404,
                b"<html><body><h1>404 Not Found</h1></body></html>\n",
                {"Content-Type": "text/html; charset=utf-8"},
                head,
            )
            return
        with src:
            self.send_response(200)
            self.send_header("Content-Type", found.content_type)
            self.send_header("Content-Length", str(found.size))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if not head:
                shutil.copyfileobj(src, self.wfile, CHUNK)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _serve_in_thread(server: _Server, name: str) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
    )
    thread.start()
    return thread


class AmplifyEmulator:
    """A local Amplify Hosting on 127.0.0.1 that boto3 talks to over HTTP.

    ``port=0`` picks a free port. ``state_dir``: persist the whole state (apps, branches, jobs, live
    content, uploads) there, for a later emulator on the same folder; None keeps it in a temporary
    folder removed by :meth:`stop`. ``clock``: a callable returning epoch seconds (tests pass a
    :class:`~amplify_sandbox.emulator.models.FakeClock`).
    """

    def __init__(
        self, port: int = 0, state_dir: str | Path | None = None, clock: Clock | None = None
    ) -> None:
        self._port = port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="amplify-emulator-")
            store, persist = Path(self._tmp.name), False
        else:
            store, persist = Path(state_dir), True
            store.mkdir(parents=True, exist_ok=True)
        self.backend = AmplifyBackend(store, persist=persist, clock=clock)
        self.stop_event = threading.Event()
        self._server: _Server | None = None
        self._sites: dict[tuple[str, str], _Server] = {}
        self._sites_lock = threading.Lock()
        self.backend.on_branches_removed = self._stop_sites

    # -------------------------------------------------------------- lifecycle
    def start(self) -> AmplifyEmulator:
        if self._server is None:
            self.stop_event.clear()
            self._server = _Server(self._port, _ApiHandler, self)
            self.backend.public_url = self.endpoint
            _serve_in_thread(self._server, "amplify-emulator")
        return self

    def stop(self) -> None:
        self.stop_event.set()
        with self._sites_lock:
            sites, self._sites = list(self._sites.values()), {}
        for srv in [*sites, *([self._server] if self._server else [])]:
            srv.shutdown()
            srv.server_close()
        self._server = None
        self.backend.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> AmplifyEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- API
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the value for AWS_ENDPOINT_URL_AMPLIFY."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def knobs(self) -> Knobs:
        """The live knobs; set fields directly (``emulator.knobs.job_duration = 1``) or use set_knobs."""
        return self.backend.knobs

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        return self.backend.set_knobs(**values)

    @property
    def counters(self) -> dict[str, Any]:
        with self.backend.lock:
            return self.backend.counters.to_dict()

    def reset(self) -> None:
        """Forget all apps, branches, jobs, uploads and sites; knobs and counters to defaults."""
        self.stop_event.set()  # wake stalled requests
        with self._sites_lock:
            sites, self._sites = list(self._sites.values()), {}
        for srv in sites:
            srv.shutdown()
            srv.server_close()
        self.backend.reset()
        self.stop_event.clear()

    def _stop_sites(self, removed: list[tuple[str, str]]) -> None:
        """Stop the site servers of branches that DeleteBranch/DeleteApp removed."""
        with self._sites_lock:
            sites = [srv for key in removed if (srv := self._sites.pop(key, None)) is not None]
        for srv in sites:
            srv.shutdown()
            srv.server_close()

    def site_url(self, app_id: str, branch_name: str) -> str:
        """``http://127.0.0.1:PORT/``: the branch's live site, on its own port (started on first use)."""
        if not self.backend.has_branch(app_id, branch_name):
            raise KeyError(f"no branch {branch_name!r} in app {app_id!r}")
        with self._sites_lock:
            srv = self._sites.get((app_id, branch_name))
            if srv is None:
                srv = _Server(0, _SiteHandler, self)
                srv.site = (app_id, branch_name)
                _serve_in_thread(srv, f"amplify-site-{app_id}")
                self._sites[(app_id, branch_name)] = srv
        return f"http://127.0.0.1:{srv.server_address[1]}/"
