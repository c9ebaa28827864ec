"""A tiny HTTP fault injector on 127.0.0.1, put in front of moto S3 or the Amplify emulator.

Every request is forwarded to the upstream server over real HTTP; rules armed by a test change what
happens to the next matching request(s):

- ``cut_body(after, match, times, skip)``: forward, then send the answer's headers (with the full
  Content-Length) and only the first ``after`` bytes of its body (half of a smaller body), and close
  the connection: a read that fails mid-stream.
- ``before(match, action, times)``: call ``action()`` and then forward. Used to arm an emulator knob
  right before one particular operation (e.g. throttle StopJob, not every call).

``match(method, path)`` sees the raw request target's path (no query). Counters: ``cuts``,
``hits`` (per rule name), ``requests`` (method, path) in order.
"""

from __future__ import annotations

import http.client
import http.server
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Match = Callable[[str, str], bool]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class _Rule:
    name: str
    match: Match
    times: int
    cut_after: int | None = None
    action: Callable[[], Any] | None = None
    skip: int = 0


@dataclass
class FaultProxy:
    upstream: str
    cuts: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.upstream)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - URLs are secrets
                pass

            def _any(self) -> None:
                proxy._serve(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _any  # noqa: N815

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- arming --------------------------------------------------------------------------------
    def cut_body(
        self, after: int, match: Match = lambda m, p: m == "GET", times: int = 1, skip: int = 0
    ) -> None:
        """Cut the body of `times` matching answers after `after` bytes, letting the first `skip`
        matching requests through untouched."""
        with self._lock:
            self._rules.append(_Rule(f"cut{len(self._rules)}", match, times, cut_after=after, skip=skip))

    def before(self, name: str, match: Match, action: Callable[[], Any], times: int = 1) -> None:
        with self._lock:
            self._rules.append(_Rule(name, match, times, action=action))

    def _take(self, method: str, path: str) -> _Rule | None:
        with self._lock:
            self.requests.append((method, path))
            for rule in self._rules:
                if rule.times > 0 and rule.match(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.times -= 1
                    self.hits[rule.name] = self.hits.get(rule.name, 0) + 1
                    return rule
        return None

    # -- forwarding ----------------------------------------------------------------------------
    def _serve(self, req: http.server.BaseHTTPRequestHandler) -> None:
        method = req.command
        path = urllib.parse.urlsplit(req.path).path
        rule = self._take(method, path)
        if rule is not None and rule.action is not None:
            rule.action()
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(self._host, self._port, timeout=120)
        try:
            upstream.request(method, req.path, body=body, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
            status, reason, out_headers = resp.status, resp.reason, resp.getheaders()
        finally:
            upstream.close()
        req.send_response_only(status, reason)
        for name, value in out_headers:
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                req.send_header(name, value)
        upstream_length = next((v for k, v in out_headers if k.lower() == "content-length"), "0")
        req.send_header("Content-Length", upstream_length if method == "HEAD" else str(len(data)))
        cut = rule.cut_after if rule is not None else None
        if cut is not None and len(data) > 1:
            cut = min(cut, len(data) // 2)  # a small body is cut in its middle
        if cut is not None and method != "HEAD" and 0 < cut < len(data):
            req.send_header("Connection", "close")
            req.end_headers()
            req.wfile.write(data[:cut])
            req.wfile.flush()
            with self._lock:
                self.cuts += 1
            req.close_connection = True
            try:
                req.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        req.end_headers()
        if method != "HEAD":
            req.wfile.write(data)


# Amplify operations by method and path (botocore's REST routes; branch names arrive %2F-encoded).
_OPS = {
    "ListJobs": ("GET", re.compile(r"^/apps/[^/]+/branches/[^/]+/jobs$")),
    "GetJob": ("GET", re.compile(r"^/apps/[^/]+/branches/[^/]+/jobs/[^/]+$")),
    "StopJob": ("DELETE", re.compile(r"^/apps/[^/]+/branches/[^/]+/jobs/[^/]+/stop$")),
    "CreateDeployment": ("POST", re.compile(r"^/apps/[^/]+/branches/[^/]+/deployments$")),
    "StartDeployment": ("POST", re.compile(r"^/apps/[^/]+/branches/[^/]+/deployments/start$")),
}


def amplify_operation(name: str) -> Match:
    method, pattern = _OPS[name]
    return lambda m, p: m == method and bool(pattern.match(p))
