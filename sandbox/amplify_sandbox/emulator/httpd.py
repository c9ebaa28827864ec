"""The HTTP plumbing shared by the API server and the site servers (stdlib ThreadingHTTPServer).

HTTP/1.1 keep-alive, one daemon thread per connection, byte-level control of the socket (so uploads
can be streamed, dropped or stalled). Request lines are never logged: upload URLs carry credentials.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("amplify_sandbox.emulator")

CHUNK = 1 << 20


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", port), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that go away (timeouts, dropped uploads) are normal here; log anything else, briefly."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        log.error("the Amplify emulator failed on a request: %r", exc)

    def serve_in_thread(self, name: str) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )
        thread.start()
        return thread

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def stop_servers(servers: Iterable[Server]) -> None:
    for srv in servers:
        srv.shutdown()
        srv.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - never log (URLs are secrets)
        return

    def send(self, resp: Response, head_only: bool = False) -> None:
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head_only:
            self.wfile.write(resp.body)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def hang_up(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
