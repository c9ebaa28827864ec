"""upload.put against a scripted HTTP server on 127.0.0.1: retries, refusals, stalls, no URL in errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from amplify_deployment_handler.deadline import Deadline
from amplify_deployment_handler.upload import UploadError, UploadPolicy, put

FAST = UploadPolicy(attempts=4, timeout=2.0, backoff_base=0.01, backoff_max=0.02)
SECRET = "X-Amz-Signature=uploadsecret"


class Script:
    def __init__(self) -> None:
        self.plan: list[str] = []  # per request: "ok", "500", "403", "stall"
        self.bodies: list[bytes] = []
        self.lengths: list[str | None] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_PUT(self) -> None:  # noqa: N802
            action = script.plan.pop(0) if script.plan else "ok"
            if action == "stall":
                time.sleep(1.5)
                self.close_connection = True
                return
            length = self.headers.get("Content-Length")
            body = self.rfile.read(int(length or 0))
            script.bodies.append(body)
            script.lengths.append(length)
            status = {"ok": 200, "500": 500, "403": 403}[action]
            answer = b"" if status == 200 else b"<Error><Code>Injected</Code></Error>"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/_upload/slot?{SECRET}", script
    srv.shutdown()
    srv.server_close()


def body() -> Iterator[bytes]:
    yield b"hello "
    yield b"world"


def test_put_sends_the_body_with_content_length(server):
    url, script = server
    assert put(url, body, 11, "index.html", Deadline(30), FAST) == 1
    assert script.bodies == [b"hello world"] and script.lengths == ["11"]


def test_put_retries_server_errors_then_succeeds(server):
    url, script = server
    script.plan = ["500", "500", "ok"]
    assert put(url, body, 11, "index.html", Deadline(30), FAST) == 3
    assert script.bodies == [b"hello world"] * 3


def test_put_retries_a_stalled_request(server):
    url, script = server
    script.plan = ["stall", "ok"]
    policy = UploadPolicy(attempts=3, timeout=0.5, backoff_base=0.01, backoff_max=0.02)
    assert put(url, body, 11, "index.html", Deadline(30), policy) == 2


def test_put_gives_up_naming_the_file_not_the_url(server):
    url, script = server
    script.plan = ["500"] * 10
    with pytest.raises(UploadError) as err:
        put(url, body, 11, "css/site.css", Deadline(30), FAST)
    message = str(err.value)
    assert message == "upload of css/site.css failed after 4 attempts (HTTP 500 Injected)"
    assert "127.0.0.1" not in message and "Signature" not in message


def test_put_does_not_retry_a_refusal(server):
    url, script = server
    script.plan = ["403", "ok"]
    with pytest.raises(UploadError, match=r"^upload of a.txt refused: HTTP 403 Injected$"):
        put(url, body, 11, "a.txt", Deadline(30), FAST)
    assert len(script.bodies) == 1


def test_put_stops_when_no_time_is_left(server):
    url, script = server
    script.plan = ["500"] * 10
    with pytest.raises(UploadError, match="no time left to retry"):
        put(url, body, 11, "a.txt", Deadline(0.5), UploadPolicy(attempts=5, backoff_base=1.0))


def test_put_retries_when_the_source_read_fails(server):
    from amplify_deployment_handler.s3io import SourceError

    url, script = server
    calls = {"n": 0}

    def flaky() -> Iterator[bytes]:
        calls["n"] += 1
        yield b"hello "
        if calls["n"] == 1:
            raise SourceError("cannot read s3://b/k: ReadTimeoutError")
        yield b"world"

    assert put(url, flaky, 11, "a.txt", Deadline(30), FAST) == 2
    assert script.bodies[-1] == b"hello world"
