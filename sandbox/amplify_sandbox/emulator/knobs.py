"""Knobs (fault injection, timing, limits) and counters of the emulator.

Knobs are plain fields; the backend consumes the "next N" ones under its lock. They are settable from
Python (``emulator.knobs.job_duration = 2`` or ``emulator.set_knobs(...)``), from the command line
(``amplify-sandbox emulator --job-duration 2``) and over HTTP (``POST /_sandbox/knobs``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

THROTTLE_CODES = ("TooManyRequestsException", "LimitExceededException")


@dataclass
class Knobs:
    #: seconds slept before answering every API call and every upload
    latency: float = 0.0
    #: cap on upload bytes per second, shared by all uploads in flight (0 = no cap)
    upload_bandwidth: int = 0
    #: the next N uploads are read in full, then answered with HTTP 500 InternalError
    fail_next_uploads: int = 0
    #: the next N uploads: part of the body is read, then the connection is closed without an answer
    drop_next_uploads: int = 0
    #: the next N uploads: the request is accepted, then nothing is read or answered for stall_seconds
    stall_next_uploads: int = 0
    #: the next N API calls: accepted, then no answer for stall_seconds (the connection is then closed)
    stall_next_api_calls: int = 0
    #: how long a stalled upload or API call hangs before its connection is closed
    stall_seconds: float = 30.0
    #: the next N API calls are answered with HTTP 429 and the error code throttle_code
    throttle_next_api_calls: int = 0
    #: "TooManyRequestsException" or "LimitExceededException"
    throttle_code: str = "TooManyRequestsException"
    #: the next N jobs started FAIL (whatever their upload), with fail_reason as step statusReason
    fail_next_jobs: int = 0
    fail_reason: str = "Injected failure: the emulator was told to fail this job (knob fail_next_jobs)."
    #: seconds from StartDeployment to the job's end (the first quarter PENDING, then RUNNING)
    job_duration: float = 0.2
    #: started, unfinished jobs allowed at once over all apps (the account quota); more -> LimitExceeded
    max_concurrent_jobs: int = 5
    #: seconds allowed between CreateDeployment and StartDeployment (8 hours)
    start_deadline: float = 8 * 3600.0
    #: lifetime (X-Amz-Expires) of upload URLs returned by CreateDeployment, in seconds
    upload_url_expiry: int = 3600
    #: seconds added to the emulator's clock (lets another process jump past expiries and deadlines)
    clock_offset: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def update(self, values: dict[str, Any]) -> None:
        """Set several knobs at once, coercing strings (from a CLI or JSON) to each knob's type."""
        names = {f.name: f for f in dataclasses.fields(self)}
        coerced: dict[str, Any] = {}
        for name, value in values.items():
            if name not in names:
                raise ValueError(f"unknown knob {name!r}; known knobs: {', '.join(sorted(names))}")
            kind = type(getattr(Knobs(), name))
            try:
                new = kind(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"knob {name!r} wants a {kind.__name__}, got {value!r}") from exc
            if isinstance(new, int | float) and new < 0:
                raise ValueError(f"knob {name!r} must not be negative, got {value!r}")
            if name == "throttle_code" and new not in THROTTLE_CODES:
                raise ValueError(f"knob 'throttle_code' must be one of {THROTTLE_CODES}, got {value!r}")
            coerced[name] = new
        for name, value in coerced.items():
            setattr(self, name, value)


@dataclass
class Counters:
    #: API calls per operation name ("CreateDeployment", ...), plus "Upload" for upload PUTs
    requests: dict[str, int] = field(default_factory=dict)
    #: upload body bytes received (all uploads, accepted or not)
    bytes_received: int = 0
    uploads_accepted: int = 0
    uploads_rejected: int = 0
    #: faults injected by knobs: throttled, api_stalled, upload_failed, upload_dropped, upload_stalled,
    #: job_failed
    injected: dict[str, int] = field(default_factory=dict)
    #: seconds of latency injected by the latency knob, summed over requests
    latency_seconds: float = 0.0
    #: seconds uploads waited because of the upload_bandwidth cap, summed
    bandwidth_wait_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["requests_total"] = sum(self.requests.values())
        return data

    def clear(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, f.default_factory() if callable(f.default_factory) else f.default)

    def count(self, operation: str) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1

    def inject(self, what: str) -> None:
        self.injected[what] = self.injected.get(what, 0) + 1
