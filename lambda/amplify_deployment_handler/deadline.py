"""Our own deadline, kept comfortably inside the Lambda's remaining time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .rules import DEFAULT_FUNCTION_TIMEOUT_S


def safety_margin(remaining_s: float) -> float:
    """Time kept back at the end of an invocation for StopJob and the response to CloudFormation:
    10% of what is left, at least 2 s and at most 30 s."""
    return min(30.0, max(2.0, remaining_s * 0.1))


class Deadline:
    """``seconds`` from now; ``margin``: the time kept back after it (safety_margin), part of which
    StopJob may use (``grace``)."""

    def __init__(
        self, seconds: float, clock: Callable[[], float] = time.monotonic, margin: float = 0.0
    ) -> None:
        self._clock = clock
        self._end = clock() + seconds
        self.margin = margin

    @classmethod
    def from_context(cls, context: object, clock: Callable[[], float] = time.monotonic) -> Deadline:
        get = getattr(context, "get_remaining_time_in_millis", None)
        remaining = get() / 1000.0 if callable(get) else float(DEFAULT_FUNCTION_TIMEOUT_S)
        margin = safety_margin(remaining)
        return cls(max(0.0, remaining - margin), clock, margin)

    def remaining(self, extra: float = 0.0) -> float:
        """Seconds left until the deadline (plus ``extra`` seconds past it), at least 0."""
        return max(0.0, self._end + extra - self._clock())

    def earlier(self, seconds: float) -> Deadline:
        """This deadline less ``seconds`` (same clock and margin)."""
        sooner = Deadline(0.0, self._clock, self.margin)
        sooner._end = self._end - seconds
        return sooner

    def for_uploads(self) -> Deadline:
        """The uploads' deadline: a grace before this one. An upload that fails at it leaves the
        StopJob that releases the branch two graces (as the poll's GetJob does): a failed upload's
        StopJob throttled in a 1 s grace could not go through (soak final-6, lane 1, deployment 8)."""
        return self.earlier(self.grace())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def grace(self) -> float:
        """Seconds past the deadline a StopJob (and the read that confirms it) may take: half the
        margin, at least 1 s; the rest of the margin is for the answer to CloudFormation."""
        return max(1.0, self.margin / 2)


@dataclass(frozen=True)
class Timing:
    """The handler's time: the monotonic clock of its deadline and the sleep of its waits (index.py
    uses the real ones; a test passes simulated ones to run a long wait quickly)."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
