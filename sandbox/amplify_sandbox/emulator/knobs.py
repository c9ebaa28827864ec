"""Knobs (fault injection, timing, limits) and counters of the emulator.

Each knob is a field of :class:`Knobs` that carries its own help text (``help_of``); the CLI flags, the
admin endpoint and the docs table describe the knobs from here. The "next N" knobs are consumed by
:class:`~.faults.Faults` and the backend. They are settable from Python (``emulator.knobs.job_duration
= 2`` or ``emulator.set_knobs(...)``), from the command line (``amplify-sandbox emulator
--job-duration 2``) and over HTTP (``POST /_sandbox/knobs``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

THROTTLE_CODES = ("TooManyRequestsException", "LimitExceededException")
#: the errors of the model an API call can be refused with (knob refuse_code)
REFUSE_CODES = (
    "BadRequestException",
    "UnauthorizedException",
    "NotFoundException",
    "LimitExceededException",
    "InternalFailureException",
    "DependentServiceFailureException",
)
#: the operations whose answer a knob can lose, and that knob
LOSABLE_OPERATIONS = {
    "CreateDeployment": "lose_next_create_deployment",
    "StartDeployment": "lose_next_start_deployment",
    "StopJob": "lose_next_stop_job",
    "GetJob": "lose_next_get_job",
}
#: S3's single-PUT limit (5 GiB) and Amplify's documented "5 GB" read as 5,000,000,000 bytes
UPLOAD_LIMITS = (5 * 1024**3, 5_000_000_000)

_T = TypeVar("_T")


def _knob(default: _T, help: str, choices: tuple[str, ...] = ()) -> _T:  # noqa: A002
    """A knob field: its default, its help text and, for a text knob, the values it accepts."""
    return field(default=default, metadata={"help": help, "choices": choices})


def _lose_knob(operation: str) -> int:
    """A lose_next_<operation> knob (LOSABLE_OPERATIONS), its help text written once for all four."""
    return _knob(
        0, f"the next N {operation} calls are carried out, then their answer is lost (lost_answer_as)"
    )


@dataclass
class Knobs:
    latency: float = _knob(0.0, "seconds slept before answering every API call and every upload")
    upload_bandwidth: int = _knob(
        0, "cap on upload bytes per second, shared by all uploads in flight (0 = none)"
    )
    source_url_bandwidth: int = _knob(
        0,
        "cap on the bytes per second of the emulator's own download of a StartDeployment sourceUrl (0 = "
        "none); the job stays PROVISIONING while it downloads",
    )
    fail_next_uploads: int = _knob(
        0, "the next N uploads are read in full, then answered HTTP 500 InternalError"
    )
    drop_next_uploads: int = _knob(
        0, "the next N uploads: part of the body is read, then the connection is closed without an answer"
    )
    stall_next_uploads: int = _knob(
        0, "the next N uploads: accepted, then nothing read or answered for stall_seconds, then closed"
    )
    stall_next_api_calls: int = _knob(
        0, "the next N API calls: accepted, then no answer for stall_seconds, then closed"
    )
    stall_seconds: float = _knob(30.0, "how long a stalled upload or API call hangs before it is closed")
    throttle_next_api_calls: int = _knob(0, "the next N API calls answer HTTP 429 with throttle_code")
    throttle_code: str = _knob(
        "TooManyRequestsException",
        f"the error code of throttled calls: {' or '.join(THROTTLE_CODES)}",
        THROTTLE_CODES,
    )
    refuse_next_api_calls: int = _knob(
        0,
        "the next N API calls answer refuse_code (with the model's HTTP status) instead of running: an "
        "error of the API that the emulator's rules never give, such as UnauthorizedException",
    )
    refuse_code: str = _knob(
        "InternalFailureException",
        f"the error code of refused calls: {', '.join(REFUSE_CODES)}",
        REFUSE_CODES,
    )
    fail_next_jobs: int = _knob(
        0, "the next N jobs started FAIL (whatever their upload), with fail_reason as step statusReason"
    )
    fail_reason: str = _knob(
        "Injected failure: the emulator was told to fail this job (knob fail_next_jobs).",
        "the step statusReason of the jobs failed by fail_next_jobs",
    )
    job_duration: float = _knob(
        0.2, "seconds from StartDeployment to the job's end (the first quarter PENDING, then RUNNING)"
    )
    max_concurrent_jobs: int = _knob(
        5, "jobs allowed to run at once over all apps (the account quota; see over_limit_start)"
    )
    # -- alternatives for what AWS does not document (docs/emulator.md, "Ledger") --------------------
    unstarted_status: str = _knob(
        "PENDING",
        "the status of a job created by CreateDeployment and never started: PENDING or CREATED "
        "(undocumented; CREATED entered the API model in December 2024)",
        ("PENDING", "CREATED"),
    )
    over_limit_start: str = _knob(
        "refused",
        "a StartDeployment beyond max_concurrent_jobs: refused (LimitExceededException, the job stays "
        "unstarted) or queued (accepted; the job stays PENDING until a slot frees, as AWS does for builds)",
        ("refused", "queued"),
    )
    job_start_time: str = _knob(
        "at_start",
        "a job's summary startTime: at_start (the creation time until StartDeployment, then its time) or "
        "at_creation (always the creation time)",
        ("at_start", "at_creation"),
    )
    lose_next_create_deployment: int = _lose_knob("CreateDeployment")
    lose_next_start_deployment: int = _lose_knob("StartDeployment")
    lose_next_stop_job: int = _lose_knob("StopJob")
    lose_next_get_job: int = _lose_knob("GetJob")
    lost_answer_as: str = _knob(
        "500",
        "how a lost answer shows: 500 (HTTP 500 InternalFailureException) or reset (the connection is "
        "closed without an answer)",
        ("500", "reset"),
    )
    upload_content_md5: str = _knob(
        "optional",
        "Content-MD5 on fileMap uploads: optional (checked when sent) or required (the URLs sign it: a PUT "
        "without the fileMap's md5 in it answers 403 SignatureDoesNotMatch)",
        ("optional", "required"),
    )
    file_upload_urls: str = _knob(
        "all",
        "CreateDeployment's fileUploadUrls (undocumented): all (one URL per fileMap key) or changed (URLs "
        "only for the files whose md5 the live deployment does not hold; the others are carried over)",
        ("all", "changed"),
    )
    max_upload_bytes: int = _knob(
        UPLOAD_LIMITS[0],
        f"the largest upload body accepted (400 EntityTooLarge beyond): {UPLOAD_LIMITS[0]} (S3's single "
        f'PUT, 5 GiB) or {UPLOAD_LIMITS[1]} (Amplify\'s "5 GB" read as decimal)',
    )
    domain_verification: str = _knob(
        "verified",
        "how a custom domain's verification ends (sampled at CreateDomainAssociation): verified (goes on to "
        "AVAILABLE), pending (stays PENDING_VERIFICATION, or AWAITING_APP_CNAME with a custom certificate, "
        "as a domain whose DNS records were never added) or failed (FAILED there)",
        ("verified", "pending", "failed"),
    )
    domain_step_seconds: float = _knob(
        0.05, "seconds a custom domain holds each status of its sequence (CREATING, ..., AVAILABLE)"
    )
    start_deadline: float = _knob(8 * 3600.0, "seconds allowed between CreateDeployment and StartDeployment")
    upload_url_expiry: int = _knob(
        3600,
        "lifetime (X-Amz-Expires) of the upload URLs, in seconds (undocumented; 0 = expired at once)",
    )
    clock_offset: float = _knob(
        0.0, "seconds added to the emulator's clock (lets another process jump past expiries and deadlines)"
    )

    @staticmethod
    def help_of(name: str) -> str:
        """The help text of the knob ``name``."""
        return str(_FIELDS[name].metadata["help"])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def update(self, values: dict[str, Any]) -> None:
        """Set several knobs at once, coercing strings (from a CLI or JSON) to each knob's type."""
        coerced: dict[str, Any] = {}
        for name, value in values.items():
            if name not in _FIELDS:
                raise ValueError(f"unknown knob {name!r}; known knobs: {', '.join(sorted(_FIELDS))}")
            kind = type(getattr(_DEFAULTS, name))
            try:
                new = kind(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"knob {name!r} wants a {kind.__name__}, got {value!r}") from exc
            if isinstance(new, int | float) and new < 0:
                raise ValueError(f"knob {name!r} must not be negative, got {value!r}")
            choices = _FIELDS[name].metadata["choices"]
            if choices and new not in choices:
                raise ValueError(f"knob {name!r} must be one of {choices}, got {value!r}")
            coerced[name] = new
        for name, value in coerced.items():
            setattr(self, name, value)


_FIELDS = {f.name: f for f in dataclasses.fields(Knobs)}
_DEFAULTS = Knobs()


@dataclass
class Counters:
    #: API calls per operation name ("CreateDeployment", ...), plus "Upload" for upload PUTs
    requests: dict[str, int] = field(default_factory=dict)
    #: upload body bytes received (all uploads, accepted or not)
    bytes_received: int = 0
    uploads_accepted: int = 0
    uploads_rejected: int = 0
    #: faults injected by knobs: throttled, api_refused, api_stalled, upload_failed, upload_dropped,
    #: upload_stalled, job_failed, answer_lost (a lose_next_* knob fired)
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
