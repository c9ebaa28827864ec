"""The emulator's time: any callable returning epoch seconds; tests pass a :class:`FakeClock`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]


class FakeClock:
    """A clock for tests: starts at ``start`` (epoch seconds) and moves only with :meth:`advance`."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now
