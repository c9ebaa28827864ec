"""Reading Amplify job states (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

UNFINISHED = frozenset({"CREATED", "PENDING", "PROVISIONING", "RUNNING", "CANCELLING"})
SUCCEEDED = "SUCCEED"
FAILED_STATES = frozenset({"FAILED", "CANCELLED"})
STATUS_REASON_MAX = 120


@dataclass(frozen=True)
class BranchState:
    blocking: tuple[Mapping[str, Any], ...]  # unfinished jobs to wait for
    abandoned: tuple[Mapping[str, Any], ...]  # PENDING jobs old enough to stop


def _created_at(summary: Mapping[str, Any]) -> dt.datetime | None:
    for field in ("createTime", "startTime"):
        value = summary.get(field)
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def classify(
    summaries: Iterable[Mapping[str, Any]], now: dt.datetime, abandoned_after_s: float
) -> BranchState:
    """Unfinished jobs on the branch: a PENDING job older than the function's timeout cannot belong to
    a live invocation (it was created and never started), so it is abandoned; anything else unfinished
    is waited for."""
    blocking: list[Mapping[str, Any]] = []
    abandoned: list[Mapping[str, Any]] = []
    for s in summaries:
        status = s.get("status")
        if status not in UNFINISHED:
            continue
        created = _created_at(s)
        age = (now - created).total_seconds() if created else 0.0
        if status == "PENDING" and age > abandoned_after_s:
            abandoned.append(s)
        else:
            blocking.append(s)
    return BranchState(tuple(blocking), tuple(abandoned))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def failure_reason(job_id: str, status: str, steps: Sequence[Mapping[str, Any]]) -> str:
    """Short reason for a job that ended FAILED or CANCELLED: job id, the failing step and its
    statusReason first."""
    failing = [s for s in steps if s.get("status") in FAILED_STATES]
    step = failing[0] if failing else (steps[-1] if steps else None)
    if step is None:
        return f"Amplify job {job_id} {status}"
    name = step.get("stepName", "?")
    why = step.get("statusReason") or "no statusReason given"
    return f"Amplify job {job_id} {status} at step {name}: {_clip(str(why), STATUS_REASON_MAX)}"
