"""Fault injection: the knobs consumed per request, and the counters that record what was injected.

:class:`Faults` owns the live :class:`~.knobs.Knobs` and :class:`~.knobs.Counters` and their lock. The
HTTP layer asks it, once per request, what to do to that request (:meth:`Faults.api_call`,
:meth:`Faults.upload`); the backend asks it whether a starting job must fail (:meth:`Faults.job_failure`).
A decision is a small value (:class:`Stall`, :class:`Throttle`, :class:`Refuse`, :class:`Drop`,
:class:`Fail`), so a new kind of fault is one more class and one more branch where the request is
handled.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from .exceptions import ERRORS_BY_CODE, AmplifyError, LimitExceededException, TooManyRequestsException
from .knobs import LOSABLE_OPERATIONS, Counters, Knobs


@dataclass(frozen=True)
class Stall:
    """Accept the request, answer nothing for ``seconds``, then close the connection."""

    seconds: float


@dataclass(frozen=True)
class Throttle:
    """Answer the API call with ``error`` (HTTP 429) instead of running it."""

    error: AmplifyError


@dataclass(frozen=True)
class Refuse:
    """Answer the API call with ``error`` (its status from the model) instead of running it."""

    error: AmplifyError


@dataclass(frozen=True)
class Drop:
    """Read part of the upload's body, then close the connection without an answer."""


@dataclass(frozen=True)
class Fail:
    """Read the upload's body in full, then answer HTTP 500 InternalError."""


ApiFault = Stall | Throttle | Refuse
UploadFault = Stall | Drop | Fail


class Faults:
    """The live knobs and counters; every read-modify-write of them goes through this lock."""

    def __init__(self) -> None:
        self.knobs = Knobs()
        self.counters = Counters()
        self._lock = threading.Lock()
        self._bandwidth_next = 0.0

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        """Set several knobs at once (validated, all or none); returns all knobs."""
        with self._lock:
            self.knobs.update(values)
            return self.knobs.to_dict()

    def knobs_dict(self) -> dict[str, Any]:
        with self._lock:
            return self.knobs.to_dict()

    def counters_dict(self) -> dict[str, Any]:
        with self._lock:
            return self.counters.to_dict()

    def reset(self) -> None:
        """Knobs and counters back to their defaults, in place (references to them stay valid)."""
        with self._lock:
            self.knobs.update(Knobs().to_dict())
            self.counters.clear()
            self._bandwidth_next = 0.0

    def count(self, counter: str) -> None:
        """Add one to ``uploads_accepted`` or ``uploads_rejected``."""
        with self._lock:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)

    # ------------------------------------------------------------------ decisions per request
    def _take(self, knob: str, injected: str) -> bool:
        """Use up one of the "next N" knob ``knob`` if it is armed, recording it as ``injected``."""
        left: int = getattr(self.knobs, knob)
        if left <= 0:
            return False
        setattr(self.knobs, knob, left - 1)
        self.counters.inject(injected)
        return True

    def api_call(self, operation: str) -> ApiFault | None:
        """Count the call; the fault a knob injects into it (stall, then throttle, then refuse), if any."""
        with self._lock:
            self.counters.count(operation)
            k = self.knobs
            if self._take("stall_next_api_calls", "api_stalled"):
                return Stall(k.stall_seconds)
            if not self._take("throttle_next_api_calls", "throttled"):
                if self._take("refuse_next_api_calls", "api_refused"):
                    message = f"{k.refuse_code} (injected by the emulator's refuse_next_api_calls knob)."
                    return Refuse(ERRORS_BY_CODE[k.refuse_code](message))
                return None
            if k.throttle_code == "LimitExceededException":
                return Throttle(
                    LimitExceededException("Rate exceeded (injected by the emulator's throttle knob).")
                )
            return Throttle(
                TooManyRequestsException("Too Many Requests (injected by the emulator's throttle knob).")
            )

    def upload(self) -> UploadFault | None:
        """Count the upload; the fault a knob injects into it (stall, then drop, then fail), if any."""
        with self._lock:
            self.counters.count("Upload")
            if self._take("stall_next_uploads", "upload_stalled"):
                return Stall(self.knobs.stall_seconds)
            if self._take("drop_next_uploads", "upload_dropped"):
                return Drop()
            if self._take("fail_next_uploads", "upload_failed"):
                return Fail()
            return None

    def answer_lost(self, operation: str) -> str | None:
        """After ``operation`` was carried out: how its answer is lost ("500" or "reset"), when a
        lose_next_* knob says so (consumes one), else None."""
        knob = LOSABLE_OPERATIONS.get(operation)
        with self._lock:
            if knob is None or not self._take(knob, "answer_lost"):
                return None
            return self.knobs.lost_answer_as

    def job_failure(self) -> str | None:
        """The reason a starting job must fail, when ``fail_next_jobs`` says so (consumes one)."""
        with self._lock:
            return self.knobs.fail_reason if self._take("fail_next_jobs", "job_failed") else None

    def latency(self) -> float:
        """The seconds to sleep before answering a request (recorded in ``latency_seconds``)."""
        with self._lock:
            self.counters.latency_seconds += self.knobs.latency
            return self.knobs.latency

    def bandwidth_delay(self, nbytes: int) -> float:
        """Seconds this chunk must wait so that all uploads together stay under upload_bandwidth."""
        with self._lock:
            self.counters.bytes_received += nbytes
            bw = self.knobs.upload_bandwidth
            if bw <= 0:
                return 0.0
            mono = time.monotonic()
            self._bandwidth_next = max(self._bandwidth_next, mono) + nbytes / bw
            delay = max(0.0, self._bandwidth_next - mono)
            self.counters.bandwidth_wait_seconds += delay
            return delay
