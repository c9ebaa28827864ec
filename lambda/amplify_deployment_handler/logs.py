"""Structured log lines: one small JSON object per line, `{"stage": ..., <fields>}`, for CloudWatch.

`event()` writes one line; `Progress` writes upload progress at most every `interval` seconds plus
one final line. String fields are cut to 300 characters and any `http(s)://...` in them becomes
`<url>`: upload URLs and the ResponseURL are credentials and never reach a log line.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("amplify_deployment_handler")

DEFAULT_PROGRESS_INTERVAL = 5.0
_URL = re.compile(r"(?i)https?://\S+")
_TEXT_MAX = 300


def mask_urls(text: str) -> str:
    """`text` with every `http(s)://...` replaced by `<url>` (presigned URLs are credentials)."""
    return _URL.sub("<url>", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        text = mask_urls(value)
        return text if len(text) <= _TEXT_MAX else text[: _TEXT_MAX - 3] + "..."
    if isinstance(value, float):
        return round(value, 2)
    return value


def line(stage: str, **fields: Any) -> str:
    """The JSON text of one log line (fields whose value is None are left out)."""
    body = {"stage": stage, **{k: _clean(v) for k, v in fields.items() if v is not None}}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def event(stage: str, level: int = logging.INFO, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, "%s", line(stage, **fields))


class Progress:
    """Upload progress shared by the worker threads: `add()` after each file (or chunk) logs a line
    when `interval` seconds have passed since the last one; `done()` logs the final line."""

    def __init__(
        self,
        files_total: int,
        bytes_total: int,
        interval: float = DEFAULT_PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files = 0
        self.bytes = 0
        self.lines = 0  # progress lines written (not counting the final one)
        self._interval = interval
        self._clock = clock
        self._start = self._last = clock()
        self._lock = threading.Lock()

    def add(self, files: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.files += files
            self.bytes += nbytes
            now = self._clock()
            if now - self._last < self._interval:
                return
            self._last = now
            self.lines += 1
            fields = self._fields(now)
        event("upload", **fields)

    def rewind(self) -> None:
        """Start the byte count again (a retried attempt sends the same bytes again)."""
        with self._lock:
            self.bytes = 0

    def done(self, **extra: Any) -> None:
        with self._lock:
            fields = self._fields(self._clock())
        event("upload", done=True, **fields, **extra)

    def _fields(self, now: float) -> dict[str, Any]:
        seconds = max(now - self._start, 1e-9)
        return {
            "files": self.files,
            "files_total": self.files_total,
            "bytes": self.bytes,
            "bytes_total": self.bytes_total,
            "mb_per_s": self.bytes / 1e6 / seconds,
            "seconds": now - self._start,
        }
