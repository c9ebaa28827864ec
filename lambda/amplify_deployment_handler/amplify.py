"""Thin adapter over the Amplify API: wait for a free branch, create/start a deployment, poll, stop."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import jobs
from .deadline import Deadline
from .error_codes import botocore_error_code
from .logs import event
from .retry import backoff

RETRYABLE_CODES = frozenset(
    {"LimitExceededException", "TooManyRequestsException", "InternalFailureException"}
)


class AmplifyError(Exception):
    """A deployment step failed; the message is a short reason for CloudFormation."""

    def __init__(self, reason: str, code: str = "", detail: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.detail = detail


class BranchBusy(AmplifyError):
    """CreateDeployment refused: another job appeared on the branch after we found it free."""


def _short(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        msg = " ".join(str(exc.response.get("Error", {}).get("Message", "")).split())
        code = botocore_error_code(exc)
        return f"{code}: {msg[:100]}" if msg else code
    return type(exc).__name__


class Amplify:
    def __init__(
        self,
        client: Any,
        app_id: str,
        branch: str,
        deadline: Deadline,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.client = client
        self.app_id = app_id
        self.branch = branch
        self.deadline = deadline
        self._sleep = sleep
        self._now = now

    def _ids(self) -> dict[str, str]:
        return {"appId": self.app_id, "branchName": self.branch}

    def _pause(self, seconds: float) -> None:
        self._sleep(max(0.0, min(seconds, self.deadline.remaining())))

    def _retrying(self, what: str, call: Callable[[], Any]) -> Any:
        """Call, retrying LimitExceeded/throttling (beyond botocore's own retries) until the deadline."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except ClientError as exc:
                code = botocore_error_code(exc)
                if code not in RETRYABLE_CODES:
                    message = str(exc.response.get("Error", {}).get("Message", ""))
                    reason = f"{what} failed on {self.app_id}/{self.branch}: {_short(exc)}"
                    if what in ("CreateDeployment", "StartDeployment") and "not finished" in message:
                        raise BranchBusy(reason, code, message) from exc
                    raise AmplifyError(reason, code, message) from exc
                pause = backoff(attempt, 1.0, 15.0)
                if self.deadline.remaining() < pause + 1:
                    raise AmplifyError(
                        f"{what} kept failing with {code} on {self.app_id}/{self.branch} until the deadline"
                    ) from exc
                event("retry", msg=f"amplify: {what} got {code}, retrying in {pause:.1f}s")
                self._pause(pause)
            except BotoCoreError as exc:
                raise AmplifyError(f"{what} failed on {self.app_id}/{self.branch}: {_short(exc)}") from exc

    # -- the branch must be free ------------------------------------------------------------------
    def wait_until_free(self, abandoned_after_s: float) -> None:
        """Wait (with backoff, bounded by the deadline) until no unfinished job blocks the branch;
        stop PENDING jobs abandoned by a crashed invocation."""
        attempt = 0
        waited_for: set[str] = set()
        stopped: set[str] = set()
        while True:
            resp = self._retrying("ListJobs", lambda: self.client.list_jobs(**self._ids(), maxResults=20))
            state = jobs.classify(resp.get("jobSummaries", []), self._now(), abandoned_after_s)
            blocking = list(state.blocking)
            fresh = [j for j in state.abandoned if str(j.get("jobId")) not in stopped]
            blocking += [j for j in state.abandoned if str(j.get("jobId")) in stopped]
            for job in fresh:
                job_id = str(job.get("jobId"))
                why = "PENDING longer than the function timeout"
                event("wait", job_id=job_id, status="PENDING", action="stopping", why=why)
                stopped.add(job_id)
                self.stop(job_id, quiet_errors=True)
            if fresh:
                continue  # list again: the stop may take a moment to show
            if not blocking:
                return
            attempt += 1
            first = blocking[0]
            job_id, status = str(first.get("jobId")), str(first.get("status"))
            if job_id not in waited_for:
                waited_for.add(job_id)
                event("wait", job_id=job_id, status=status, action="waiting")
            pause = min(15.0, 1.0 * 1.5 ** (attempt - 1))
            if self.deadline.remaining() < pause + 1:
                raise AmplifyError(
                    f"branch {self.app_id}/{self.branch} is busy: job {job_id} still {status}; "
                    "retry the deployment when it has finished"
                )
            self._pause(pause)

    # -- one deployment ---------------------------------------------------------------------------
    def create(self, file_map: Mapping[str, str] | None) -> Mapping[str, Any]:
        kwargs: dict[str, Any] = dict(self._ids())
        if file_map is not None:
            kwargs["fileMap"] = dict(file_map)
        response: Mapping[str, Any] = self._retrying(
            "CreateDeployment", lambda: self.client.create_deployment(**kwargs)
        )
        return response

    def start(self, job_id: str) -> None:
        self._retrying("StartDeployment", lambda: self.client.start_deployment(**self._ids(), jobId=job_id))

    def start_source(self, source: Mapping[str, str]) -> str:
        """StartDeployment without CreateDeployment: Amplify fetches `source` (sourceUrl and
        sourceUrlType) itself; returns the id of the job it created."""
        response: Mapping[str, Any] = self._retrying(
            "StartDeployment", lambda: self.client.start_deployment(**self._ids(), **source)
        )
        return str(response.get("jobSummary", {}).get("jobId"))

    def stop(self, job_id: str, quiet_errors: bool = False) -> bool:
        """StopJob, with the same throttling/LimitExceeded retries as every other call (a stop that
        gives up too early leaves a PENDING job blocking the branch); True when Amplify accepted it.
        Errors are logged, not raised, with quiet_errors."""
        try:
            self._retrying(f"StopJob {job_id}", lambda: self.client.stop_job(**self._ids(), jobId=job_id))
            event("job", job_id=job_id, action="stop_requested")
            return True
        except AmplifyError as exc:
            if not quiet_errors:
                raise
            event("job", logging.WARNING, job_id=job_id, action="stop_failed", error=str(exc))
            return False

    def poll(self, job_id: str, first_pause: float = 0.5, max_pause: float = 5.0) -> None:
        """Poll GetJob until SUCCEED; AmplifyError on FAILED/CANCELLED, or (after StopJob) when the job
        is still running at the deadline."""
        pause = first_pause
        last = ""
        while True:
            resp = self._retrying("GetJob", lambda: self.client.get_job(**self._ids(), jobId=job_id))
            job = resp.get("job", {})
            status = str(job.get("summary", {}).get("status", ""))
            if status != last:
                event("job", job_id=job_id, status=status)
                last = status
            if status == jobs.SUCCEEDED:
                return
            if status in jobs.FAILED_STATES:
                raise AmplifyError(jobs.failure_reason(job_id, status, job.get("steps", [])))
            if self.deadline.remaining() < pause + 0.5:
                self.stop(job_id, quiet_errors=True)
                raise AmplifyError(
                    f"Amplify job {job_id} still {status} near the Lambda timeout: stopped it; "
                    "the previous content stays live. Retry, or raise the function timeout"
                )
            self._pause(pause)
            pause = min(max_pause, pause * 1.5)
