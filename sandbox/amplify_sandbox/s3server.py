"""A moto S3 server on 127.0.0.1 (moto.server.ThreadedMotoServer), resettable over its HTTP API."""

from __future__ import annotations

import logging
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer


class S3Server:
    """moto's server (all its services, S3 included) on ``127.0.0.1:port`` (0 = a free port)."""

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._server: ThreadedMotoServer | None = None
        self.port = 0

    def start(self) -> S3Server:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request line; presigned S3 URLs are credentials: keep them out of logs
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self._server is None:
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._requested_port, verbose=False)
            server.start()
            self.port = server.get_host_and_port()[1]
            self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the value for AWS_ENDPOINT_URL_S3."""
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Empty moto's state through its ``/moto-api/reset`` endpoint."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
