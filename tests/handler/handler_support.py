"""Helpers for the handler's tests: zips in memory, a CloudFormation response receiver over HTTPS with a
self-signed certificate for 127.0.0.1, CloudFormation-shaped events and a Lambda-like context."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import json
import ssl
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/site/0b7c2a10-0000-4000-8000-000000000000"
RESPONSE_SECRET = "X-Amz-Signature=cfnresponsesecret0123456789"


def make_zip(files: Mapping[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class Receiver:
    """Stands in for CloudFormation's presigned response URL: records each PUT body by path."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.responses.setdefault(self.path.split("?")[0], []).append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, request_id: str) -> str:
        return f"https://127.0.0.1:{self.port}/cfn/{request_id}?{RESPONSE_SECRET}"

    def response(self, request_id: str) -> dict[str, Any]:
        got = self.responses.get(f"/cfn/{request_id}", [])
        assert len(got) == 1, f"expected exactly one response, got {len(got)}"
        return got[0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeContext:
    """The parts of a Lambda context that crhelper and the handler use."""

    function_name = "amplify-deployment-handler"
    aws_request_id = "test-request"

    def __init__(self, seconds: float = 120.0) -> None:
        self._end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def cfn_event(
    request_type: str,
    props: Mapping[str, Any],
    receiver: Receiver,
    physical_id: str | None = None,
    old_props: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    token = "arn:aws:lambda:us-east-1:123456789012:function:amplify-deployment-handler"
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": token,
        "ResponseURL": receiver.url(request_id),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "ResourceType": "Custom::AmplifyDeployment",
        "LogicalResourceId": "SiteDeployment",
        "ResourceProperties": {"ServiceToken": token, **props},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_props is not None:
        event["OldResourceProperties"] = {"ServiceToken": token, **old_props}
    return event
