"""Site URLs that stay put: the port each branch's (and each app's domain) site server had, kept in
the state folder (``site-ports.json``), so the next emulator on that folder serves it on the same port
while the port is free: a browser tab left open keeps working after ``amplify-sandbox deploy`` again.
A port taken by another process is replaced by a free one (and that one remembered); a new site avoids
the ports other sites remember."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .httpd import Server

S = TypeVar("S", bound=Server)


class PortBook:
    """Remembered ports by key (``branch <appId> <branch>``, ``domains <appId>``); ``path`` None keeps
    them in memory only."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ports: dict[str, int] = {}
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text())
            except ValueError:
                loaded = {}
            if isinstance(loaded, dict):
                self._ports = {k: v for k, v in loaded.items() if isinstance(v, int) and 0 < v < 65536}

    def get(self, key: str) -> int | None:
        with self._lock:
            return self._ports.get(key)

    def serve(self, key: str, make: Callable[[int], S]) -> S:
        """``make(port)`` on the remembered port, else (none, or taken: OSError) on a free one; the
        port it got is remembered."""
        remembered = self.get(key)
        server = None
        if remembered:
            try:
                server = make(remembered)
            except OSError:
                server = None
        for _ in range(20):  # a free port that another site remembers would move that site next run
            if server is not None:
                break
            candidate = make(0)
            with self._lock:
                taken = candidate.port in {p for k, p in self._ports.items() if k != key}
            if not taken:
                server = candidate
            else:
                candidate.server_close()
        if server is None:
            server = make(0)
        with self._lock:
            self._ports[key] = server.port
            if self.path is not None:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self._ports, indent=1, sort_keys=True))
                tmp.replace(self.path)
        return server
