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


#: the statuses a created, never-started job may show (CREATED since December 2024, undocumented);
#: PENDING is also what a started job shows while it waits for a concurrent-job slot
UNSTARTED_LOOKING = frozenset({"CREATED", "PENDING"})
RAN = frozenset({"RUNNING", "SUCCEED", "FAILED"})


@dataclass(frozen=True)
class BranchState:
    blocking: tuple[Mapping[str, Any], ...]  # unfinished jobs to wait for
    abandoned: tuple[Mapping[str, Any], ...]  # never-started jobs old enough to stop
    #: blocking jobs that may be abandoned but may also be started and queued: waited for (safe)
    undecidable: tuple[Mapping[str, Any], ...] = ()


def _time(summary: Mapping[str, Any], field: str) -> dt.datetime | None:
    value = summary.get(field)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def created_at(summary: Mapping[str, Any]) -> dt.datetime | None:
    for field in ("createTime", "commitTime", "startTime"):
        value = _time(summary, field)
        if value is not None:
            return value
    return None


def start_moved(summary: Mapping[str, Any]) -> bool:
    """The summary's startTime is later than its commitTime (the creation time, for a manual job)."""
    start, commit = _time(summary, "startTime"), _time(summary, "commitTime")
    return start is not None and commit is not None and start > commit


def _start_kept(summary: Mapping[str, Any]) -> bool:
    commit = _time(summary, "commitTime")
    return commit is not None and _time(summary, "startTime") == commit


def ever_started(summary: Mapping[str, Any], page: Sequence[Mapping[str, Any]] = ()) -> bool | None:
    """Was this job ever started? True, False, or None when the answers cannot tell (then the only
    safe reading is "started": wait for it). ``page``: the other jobs of the same ListJobs answer,
    which show how this service reports jobs (docs/emulator.md, ledger rows J1-J3)."""
    status = summary.get("status")
    if status not in UNSTARTED_LOOKING or summary.get("sourceUrl"):
        return True  # beyond PENDING, or created and started at once by StartDeployment(sourceUrl)
    if status == "CREATED":
        return False  # the status names a created job; a started job is PENDING or later
    if start_moved(summary):
        return True  # startTime moved away from the creation time: StartDeployment happened
    if any(j.get("status") == "CREATED" for j in page):
        return True  # this service shows unstarted jobs as CREATED: PENDING means started (queued)
    if any(j.get("status") in RAN and not j.get("sourceUrl") and _start_kept(j) for j in page):
        return None  # a job that ran kept startTime == commitTime: times cannot tell here
    return False  # PENDING, startTime never moved: created and never started


def classify(
    summaries: Iterable[Mapping[str, Any]], now: dt.datetime, abandoned_after_s: float
) -> BranchState:
    """Unfinished jobs on the branch: a never-started job (CREATED, or PENDING whose startTime never
    moved) older than the function's timeout cannot belong to a live invocation, so it is abandoned;
    anything else unfinished is waited for, including a job that may have been started (a started job
    stays PENDING while queued over the account's concurrent-jobs limit: never stopped)."""
    page = list(summaries)
    blocking: list[Mapping[str, Any]] = []
    abandoned: list[Mapping[str, Any]] = []
    undecidable: list[Mapping[str, Any]] = []
    for s in page:
        if s.get("status") not in UNFINISHED:
            continue
        created = created_at(s)
        age = (now - created).total_seconds() if created else 0.0
        started = ever_started(s, page)
        if started is False and age > abandoned_after_s:
            abandoned.append(s)
            continue
        blocking.append(s)
        if started is None and age > abandoned_after_s:
            undecidable.append(s)
    return BranchState(tuple(blocking), tuple(abandoned), tuple(undecidable))


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
