"""The sandbox's admin endpoints (``/_sandbox/...`` on the API port): knobs, counters, reset, job logs
and site URLs, for tests and other processes. Answers are JSON, except the plain-text job logs.

Each function works on :class:`Controls`, the part of the emulator it needs (``Controls`` has
it); this module never imports the server."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from .httpd import Response
from .signing import amz_date

if TYPE_CHECKING:
    from .models import AmplifyBackend


class Controls(Protocol):
    """What the admin endpoints use of the running emulator."""

    @property
    def backend(self) -> AmplifyBackend: ...

    @property
    def counters(self) -> dict[str, Any]: ...

    def set_knobs(self, **values: Any) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def site_url(self, app_id: str, branch_name: str) -> str: ...


@dataclass(frozen=True)
class AdminRequest:
    method: str
    path: str
    query: str
    body: bytes


def _json(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


def answer(
    emulator: Controls,
    function: Callable[[Controls, AdminRequest], Response] | None,
    request: AdminRequest,
) -> Response:
    """Run an admin function; a bad value (ValueError, TypeError, KeyError) is answered 400."""
    if function is None:
        return _json({"message": f"unknown admin endpoint {request.method} {request.path}"}, 404)
    try:
        return function(emulator, request)
    except (ValueError, TypeError, KeyError) as exc:
        return _json({"message": str(exc)}, 400)


def get_knobs(emulator: Controls, request: AdminRequest) -> Response:
    return _json(emulator.backend.faults.knobs_dict())


def set_knobs(emulator: Controls, request: AdminRequest) -> Response:
    """Set the knobs of the JSON object (strings are converted); answers all knobs."""
    return _json(emulator.set_knobs(**json.loads(request.body or b"{}")))


def get_counters(emulator: Controls, request: AdminRequest) -> Response:
    return _json(emulator.counters)


def reset(emulator: Controls, request: AdminRequest) -> Response:
    emulator.reset()
    return _json({"reset": True})


def site_url(emulator: Controls, request: AdminRequest) -> Response:
    """``?app=ID&branch=NAME`` -> ``{"url": ...}`` (starts the branch's site server)."""
    q = dict(parse_qsl(request.query))
    return _json({"url": emulator.site_url(q.get("app", ""), q.get("branch", ""))})


def job_log(emulator: Controls, request: AdminRequest) -> Response:
    """``/_sandbox/logs/<appId>/<branchKey>/<jobId>``: the job's plain-text log (the step's logUrl)."""
    bits = request.path.split("/")
    view = emulator.backend.job_by_key(bits[3], bits[4], bits[5]) if len(bits) == 6 else None
    if view is None:
        return Response(404, b"no such job\n", {"Content-Type": "text/plain"})
    job = view.job
    lines = [
        f"app {view.app_id} branch {view.branch_name} job {job.job_id} ({job.mode})",
        f"created {amz_date(job.create_time)}",
    ]
    if job.start_time is not None:
        lines.append(f"started {amz_date(job.start_time)}")
    lines.append(f"status {view.status}")
    if job.status_reason:
        lines.append(f"reason {job.status_reason}")
    return Response(200, ("\n".join(lines) + "\n").encode(), {"Content-Type": "text/plain; charset=utf-8"})
