"""The local stand-in for CloudFormation's response bucket: an HTTPS server on 127.0.0.1.

Each custom resource request gets its own ResponseURL shaped like CloudFormation's presigned S3 URL
(``/cloudformation-custom-resource-response-<region>/<stack|logical|request>?X-Amz-...&X-Amz-Signature=``).
The signature is a random secret per request: a PUT with the wrong one is refused (403) as S3 would.
The server's certificate is signed by a throw-away local CA made with ``cryptography``; the Lambda
subprocess trusts it through ``SSL_CERT_FILE`` (crhelper answers with ``HTTPSConnection`` and
``ssl.create_default_context()``, which honours that variable).

ResponseURLs are credentials: this module never logs them; :func:`redact` removes them from text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import json
import re
import secrets
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_RESPONSE_BYTES = 4096


@dataclass
class Response:
    """What the handler PUT to its ResponseURL (already checked), or why it was refused."""

    status: str
    reason: str
    physical_resource_id: str | None
    data: dict[str, Any]
    no_echo: bool = False
    error: str | None = None  # set when the body was refused (CloudFormation fails the resource)


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A local CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "amplify-sandbox local CloudFormation CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_path, cert_path, key_path


@dataclass
class _Pending:
    stack_id: str
    logical_id: str
    request_id: str
    signature: str
    url: str
    response: Response | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)  # every JSON body PUT, in order


class ResponseReceiver:
    """Start with :meth:`start` (or as a context manager); :meth:`new_url` per request.

    ``bucket``: the first segment of the URLs' path (default CloudFormation's regional response
    bucket, ``cloudformation-custom-resource-response-<region without dashes>``).
    """

    def __init__(self, tls_dir: Path, region: str = "us-east-1", bucket: str | None = None) -> None:
        self.tls_dir = tls_dir
        self.region = region
        self.bucket = bucket or f"cloudformation-custom-resource-response-{region.replace('-', '')}"
        self.ca_file: Path | None = None
        self._pending: dict[str, _Pending] = {}  # path -> pending
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ResponseReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._server is not None:
            return
        self.ca_file, cert, key = make_tls_files(self.tls_dir)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # never log URLs
                return

            def do_PUT(self) -> None:  # noqa: N802
                receiver._handle_put(self)

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(405)
                self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="cfn-response-receiver", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return int(self._server.server_address[1])

    def new_url(self, stack_id: str, logical_id: str, request_id: str) -> str:
        """A presigned-looking ResponseURL for one request. Treat it as a secret."""
        signature = secrets.token_hex(32)
        now = dt.datetime.now(dt.UTC)
        resource = urllib.parse.quote(f"{stack_id}|{logical_id}|{request_id}", safe="")
        path = f"/{self.bucket}/{resource}"
        query = urllib.parse.urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": now.strftime("%Y%m%dT%H%M%SZ"),
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Expires": "7200",
                "X-Amz-Credential": f"AKIA{secrets.token_hex(8).upper()}/{now:%Y%m%d}/{self.region}"
                "/s3/aws4_request",
                "X-Amz-Signature": signature,
            }
        )
        url = f"https://127.0.0.1:{self.port}{path}?{query}"
        with self._lock:
            self._pending[path] = _Pending(stack_id, logical_id, request_id, signature, url)
        return url

    def response_for(self, url: str) -> Response | None:
        with self._lock:
            pending = self._pending.get(urllib.parse.urlsplit(url).path)
            return pending.response if pending else None

    def answers(self, url: str) -> list[dict[str, Any]]:
        """Every JSON object PUT to ``url``, in order, checked or not (:meth:`response_for` is the
        first one, as CloudFormation reads it)."""
        with self._lock:
            pending = self._pending.get(urllib.parse.urlsplit(url).path)
            return list(pending.answers) if pending else []

    def forget(self, url: str) -> None:
        with self._lock:
            self._pending.pop(urllib.parse.urlsplit(url).path, None)

    def secrets_to_redact(self) -> list[str]:
        with self._lock:
            return [p.url for p in self._pending.values()] + [p.signature for p in self._pending.values()]

    def _handle_put(self, request: http.server.BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(split.query)
        with self._lock:
            pending = self._pending.get(split.path)
        if pending is None or query.get("X-Amz-Signature", [""])[0] != pending.signature:
            request.send_response(403)
            request.end_headers()
            request.wfile.write(b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
            return
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        response = _check_body(body, pending)
        with self._lock:
            if pending.response is None:  # CloudFormation takes the first answer
                pending.response = response
            with contextlib.suppress(ValueError):
                doc = json.loads(body)
                if isinstance(doc, dict):
                    pending.answers.append(doc)
        request.send_response(200)
        request.send_header("Content-Length", "0")
        request.end_headers()


def _check_body(body: bytes, pending: _Pending) -> Response:
    def refused(error: str) -> Response:
        return Response(status="FAILED", reason=error, physical_resource_id=None, data={}, error=error)

    if len(body) > MAX_RESPONSE_BYTES:
        return refused(
            f"Response object is too long ({len(body)} bytes; CloudFormation accepts at most "
            f"{MAX_RESPONSE_BYTES})"
        )
    try:
        doc = json.loads(body)
    except ValueError:
        return refused("Response is not valid JSON")
    if not isinstance(doc, dict):
        return refused("Response is not a JSON object")
    status = doc.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        return refused(f"Response has an invalid Status {status!r} (SUCCESS or FAILED)")
    for key, expected in (
        ("StackId", pending.stack_id),
        ("RequestId", pending.request_id),
        ("LogicalResourceId", pending.logical_id),
    ):
        if doc.get(key) != expected:
            return refused(f"Response {key} {doc.get(key)!r} does not match the request's {expected!r}")
    physical = doc.get("PhysicalResourceId")
    if physical is not None and not isinstance(physical, str):
        physical = str(physical)
    data = doc.get("Data") or {}
    if not isinstance(data, dict):
        return refused("Response Data must be a JSON object")
    return Response(
        status=status,
        reason=str(doc.get("Reason") or ""),
        physical_resource_id=physical or None,
        data=data,
        no_echo=bool(doc.get("NoEcho")),
    )


_SIGNATURE = re.compile(r"(X-Amz-Signature=|Signature=)[0-9A-Za-z%/+=]+")


def url_signature(url: str) -> str:
    """The ``X-Amz-Signature`` of a presigned URL (a secret of its own), or ``""``."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("X-Amz-Signature", [""])[0]


def redact(text: str, secret_values: list[str]) -> str:
    """Remove the given secrets (ResponseURLs, signatures) and any presigned-URL signature from text."""
    for value in secret_values:
        if value and value in text:
            text = text.replace(value, "<redacted>")
    return _SIGNATURE.sub(r"\1<redacted>", text)
