"""A loopback HTTP proxy in front of the emulator's API or moto S3, for the soak's faults.

Every request is forwarded over real HTTP. Two kinds of rules, armed per deployment and cleared after:

- ``at_call(n, action)``: run ``action()`` right before forwarding the n-th request (1-based) that
  passes through the proxy from now on. The soak arms an emulator knob (a throttle, a stall) for a
  chosen call of the handler this way, not only for its first ones.
- ``cut(after, skip, times)``: of the GETs whose path contains ``match``, let ``skip`` through, then
  send the headers (with the full Content-Length) and only ``after`` bytes of the body of the next
  ``times`` ones, and close the connection: an S3 read cut mid-stream.

When the upstream closes a connection without answering (the emulator's stall, its "reset" lost
answer), the proxy closes its client's connection the same way, silently. It never logs a request
(URLs are credentials).
"""

from __future__ import annotations

import http.client
import http.server
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class _Cut:
    after: int
    match: str
    skip: int
    times: int


class Proxy:
    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._lock = threading.Lock()
        self._calls = 0
        self._actions: dict[int, list[Callable[[], Any]]] = {}
        self._cuts: list[_Cut] = []
        self.cuts_done = 0
        self.actions_done = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - URLs are secrets
                pass

            def _any(self) -> None:
                proxy._serve(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _any  # noqa: N815

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (ConnectionError, TimeoutError, OSError):
                    self.close_connection = True

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="soak-proxy")
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- arming ------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every rule and restart the call count (between deployments)."""
        with self._lock:
            self._calls = 0
            self._actions.clear()
            self._cuts.clear()
            self.cuts_done = 0
            self.actions_done = 0

    def at_call(self, n: int, action: Callable[[], Any]) -> None:
        with self._lock:
            self._actions.setdefault(max(1, n), []).append(action)

    def cut(self, after: int, match: str, skip: int = 0, times: int = 1) -> None:
        with self._lock:
            self._cuts.append(_Cut(after, match, skip, times))

    def _take(self, method: str, path: str) -> tuple[list[Callable[[], Any]], int | None]:
        with self._lock:
            self._calls += 1
            actions = self._actions.pop(self._calls, [])
            self.actions_done += len(actions)
            for cut in self._cuts:
                if method == "GET" and cut.match in path and cut.times > 0:
                    if cut.skip > 0:
                        cut.skip -= 1
                        continue
                    cut.times -= 1
                    return actions, cut.after
            return actions, None

    # -- forwarding --------------------------------------------------------------------------------
    def _serve(self, req: http.server.BaseHTTPRequestHandler) -> None:
        method = req.command
        actions, cut = self._take(method, urllib.parse.unquote(urllib.parse.urlsplit(req.path).path))
        for action in actions:
            action()
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(self._host, self._port, timeout=300)
        try:
            upstream.request(method, req.path, body=body, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
            status, reason, out_headers = resp.status, resp.reason, resp.getheaders()
        except (http.client.HTTPException, OSError):
            # the upstream closed without an answer (a stall, a reset): do the same to the client
            req.close_connection = True
            _shut(req.connection)
            return
        finally:
            upstream.close()
        req.send_response_only(status, reason)
        for name, value in out_headers:
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                req.send_header(name, value)
        upstream_length = next((v for k, v in out_headers if k.lower() == "content-length"), "0")
        req.send_header("Content-Length", upstream_length if method == "HEAD" else str(len(data)))
        if cut is not None and method != "HEAD" and len(data) > 1:
            cut = max(1, min(cut, len(data) - 1))
            req.send_header("Connection", "close")
            req.end_headers()
            req.wfile.write(data[:cut])
            req.wfile.flush()
            with self._lock:
                self.cuts_done += 1
            req.close_connection = True
            _shut(req.connection)
            return
        req.end_headers()
        if method != "HEAD":
            req.wfile.write(data)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
