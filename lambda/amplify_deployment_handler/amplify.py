"""Thin adapter over the Amplify API: wait for a free branch, create/start a deployment, poll, stop.

CreateDeployment and StartDeployment (with a jobId or a sourceUrl) are not idempotent: a call can
take effect while its answer is lost (HTTP 5xx, a read timeout, a reset connection). They go through
``once_client`` (no botocore retries) so that the handler, not botocore, decides what a lost answer
means (lost_answers.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NotConnected

from . import jobs, lost_answers
from .amplify_api import AmplifyError, BranchBusy, LostAnswer
from .bounded import CallTimedOut, NoTimeLeft, call_within
from .deadline import Deadline
from .error_codes import botocore_error_code
from .logs import event
from .quota_wait import QuotaWait
from .retry import backoff

__all__ = ["LIMIT_WAIT_S", "Amplify", "AmplifyError", "BranchBusy", "LostAnswer", "limit_reason"]

RETRYABLE_CODES = frozenset(
    {"LimitExceededException", "TooManyRequestsException", "InternalFailureException"}
)
LIMIT_CODE = "LimitExceededException"
#: how long a call that neither creates nor starts a job retries LimitExceededException (a rate limit,
#: or a quota that retrying cannot fix: apps per Region, branches per app) before the deployment
#: fails, in seconds. CreateDeployment and StartDeployment wait for the concurrent-jobs quota until
#: the deadline instead (quota_wait.py).
LIMIT_WAIT_S = 60.0


def _lost(exc: BaseException) -> bool:
    """Did the request reach Amplify with its effect unknown? (5xx, or sent and no answer)."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return int(status) >= 500
    return isinstance(exc, HTTPClientError)


def limit_reason(what: str, app_branch: str, waited: float) -> str:
    return (
        f"{what} on {app_branch} refused (LimitExceededException) for {waited:.0f} s: an Amplify quota "
        "is full (concurrent jobs: 5 per Region by default); wait for other jobs or request a quota increase"
    )


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
        once_client: Any = None,
        limit_wait_s: float = LIMIT_WAIT_S,
    ) -> None:
        self.client = client
        #: the client for CreateDeployment/StartDeployment: without botocore retries (see module doc)
        self.once = once_client if once_client is not None else client
        self.app_id = app_id
        self.branch = branch
        self.deadline = deadline
        self.limit_wait_s = limit_wait_s
        self._sleep = sleep
        self._now = now
        #: the newest job id on the branch when it was last seen free (orphans are newer)
        self.newest_seen = 0
        #: a job read when its StopJob was refused (by job id): how it ended, if it had
        self._read_at_stop: dict[str, Mapping[str, Any]] = {}
        #: the longest an answered call took in this invocation (botocore's own retries included): a
        #: try in the grace gets at least twice that (up to the whole grace), so that a StopJob is not
        #: cut off before an answer as slow as the ones before it
        self._slowest = 0.0

    def _ids(self) -> dict[str, str]:
        return {"appId": self.app_id, "branchName": self.branch}

    def _pause(self, seconds: float, grace: float = 0.0) -> None:
        self._sleep(max(0.0, min(seconds, self.deadline.remaining(grace))))

    def _retrying(
        self,
        what: str,
        call: Callable[[], Any],
        lost_ok: bool = False,
        job_call: bool = False,
        grace: float = 0.0,
        quick: bool = False,
    ) -> Any:
        """Call, retrying throttling and InternalFailure (beyond botocore's own retries) until the
        deadline, and LimitExceeded for at most ``limit_wait_s``, or with ``job_call`` (CreateDeployment,
        StartDeployment: the concurrent-jobs quota frees as other jobs end) until the deadline
        (quota_wait.py). With ``lost_ok`` (a call that is not idempotent) an ambiguous failure raises
        LostAnswer at once, and a request that never reached Amplify (no connection) is retried. No call
        runs past the deadline (plus ``grace``, for StopJob): one still unanswered then (botocore's
        retries and backoff, a stalled connection) fails. ``quick`` (GetJob, StopJob, the search for a
        lost answer's job; through the one-attempt client): one that got no answer is tried again, the
        last pause is shortened so that one more try fits (_fit), and within three graces of the
        deadline (_near) the pauses are short (_backoff) and each try gets a third of the deadline's
        grace, or twice the slowest answer seen so far if that is longer (at most the grace). A negative
        ``grace`` ends the calls that much before the deadline (the poll's GetJob leaves that time to
        StopJob)."""
        attempt = 0
        limited = 0.0  # seconds paused for LimitExceeded
        where = f"{self.app_id}/{self.branch}"
        quota = QuotaWait(what, where) if job_call else None
        while True:
            attempt += 1
            limit = self.deadline.remaining(grace)
            if quick and self._near():  # a hung try must leave time for others, a slow answer time to come
                scale = self.deadline.grace()
                limit = min(limit, max(scale / 3, min(2 * self._slowest, scale)))
            began = time.monotonic()
            try:
                result = call_within(call, limit, what)
                self._answered(began)
                if quota is not None:
                    quota.accepted()
                return result
            except NoTimeLeft as exc:
                raise AmplifyError(
                    f"{what} on {where}: the deadline has passed; retry, or raise the function timeout",
                    "Timeout",
                ) from exc
            except CallTimedOut as exc:
                if lost_ok:  # sent, no answer: it may have taken effect
                    raise LostAnswer(
                        f"{what} failed on {where}: no answer before the deadline", "Timeout"
                    ) from exc
                pause = self._fit(self._backoff(attempt, quick), grace) if quick else None
                if pause is not None:
                    event("retry", msg=f"amplify: {what} got no answer, retrying in {pause:.1f}s")
                    self._pause(pause, grace)
                    continue
                raise AmplifyError(
                    f"{what} on {where}: no answer before the deadline; retry, or raise the function timeout",
                    "Timeout",
                ) from exc
            except ClientError as exc:
                self._answered(began)
                code = botocore_error_code(exc)
                if lost_ok and _lost(exc):
                    raise LostAnswer(f"{what} failed on {where}: {_short(exc)}", code) from exc
                if code not in RETRYABLE_CODES:
                    message = str(exc.response.get("Error", {}).get("Message", ""))
                    reason = f"{what} failed on {where}: {_short(exc)}"
                    if what in ("CreateDeployment", "StartDeployment") and "not finished" in message:
                        raise BranchBusy(reason, code, message) from exc
                    raise AmplifyError(reason, code, message) from exc
                if code == LIMIT_CODE and quota is not None:
                    quota_pause = quota.next_pause(self.deadline.remaining())
                    if quota_pause is None:
                        raise AmplifyError(quota.reason(), code) from exc
                    self._pause(quota_pause)
                    continue
                pause = self._backoff(attempt, quick)
                if code == LIMIT_CODE:
                    if limited >= self.limit_wait_s:
                        raise AmplifyError(limit_reason(what, where, limited), code) from exc
                    pause = min(pause, self.limit_wait_s - limited + 0.01)
                    limited += pause
                fitted = self._fit(pause, grace) if quick else self._fits(pause, grace)
                if fitted is None:
                    if code == LIMIT_CODE:
                        raise AmplifyError(limit_reason(what, where, limited), code) from exc
                    raise AmplifyError(
                        f"{what} kept failing with {code} on {where} until the deadline"
                    ) from exc
                event("retry", msg=f"amplify: {what} got {code}, retrying in {fitted:.1f}s")
                self._pause(fitted, grace)
            except BotoCoreError as exc:
                if lost_ok and isinstance(exc, HTTPClientError):
                    raise LostAnswer(f"{what} failed on {where}: {_short(exc)}", type(exc).__name__) from exc
                pause = self._backoff(attempt, quick)
                if quick:
                    fitted = self._fit(pause, grace)
                elif lost_ok and isinstance(exc, NotConnected):
                    fitted = self._fits(pause, grace)
                else:
                    fitted = None
                if fitted is None:
                    raise AmplifyError(f"{what} failed on {where}: {_short(exc)}") from exc
                pause = fitted
                event("retry", msg=f"amplify: {what} could not connect, retrying in {pause:.1f}s")
                self._pause(pause, grace)

    def _fit(self, pause: float, grace: float) -> float | None:
        """``quick``: the pause before one more try, shortened so that the try still fits before the
        deadline (plus ``grace``): a try needs 0.2 s, or twice the slowest answer seen so far if that is
        longer (at most a third of the deadline's grace). None: no try fits any more. Without the
        shortening a read in the grace's last half second was given up although it would have been
        answered."""
        left = self.deadline.remaining(grace)
        need = max(0.2, min(2 * self._slowest, self.deadline.grace() / 3))
        if left < need:
            return None
        return min(pause, left - need)

    def _fits(self, pause: float, grace: float) -> float | None:
        """The pause, if a try (1 s) still fits after it before the deadline (plus ``grace``)."""
        return pause if self.deadline.remaining(grace) >= pause + 1 else None

    def _answered(self, began: float) -> None:
        """Note how long an answer (a result or an error) took to come; see ``_slowest``."""
        self._slowest = max(self._slowest, time.monotonic() - began)

    def _near(self) -> bool:
        """Within three graces of the deadline: where ``quick`` calls make short tries and pauses."""
        return self.deadline.remaining() < 3 * self.deadline.grace()

    def _backoff(self, attempt: int, quick: bool) -> float:
        """The pause before a retry: 1 s .. 15 s; ``quick``: 0.1 .. 0.5 s within three graces of the
        deadline (a StopJob there has no time to wait longer), else cut short at the deadline."""
        pause = backoff(attempt, 1.0, 15.0)
        if quick:
            short = backoff(attempt, 0.1, 0.4)
            pause = short if self._near() else max(short, min(pause, self.deadline.remaining()))
        return pause

    def list_jobs(self, cleanup: bool = False) -> list[Mapping[str, Any]]:
        """ListJobs; ``cleanup`` (looking for a job a lost answer may have made): in the deadline's
        grace, through the one-attempt client with short retries, as StopJob."""
        if not cleanup:
            resp = self._retrying("ListJobs", lambda: self.client.list_jobs(**self._ids(), maxResults=20))
        else:
            call = self.once.list_jobs
            resp = self._retrying(
                "ListJobs",
                lambda: call(**self._ids(), maxResults=20),
                grace=self.deadline.grace(),
                quick=True,
            )
        summaries: list[Mapping[str, Any]] = resp.get("jobSummaries", [])
        return summaries

    def get_job(self, job_id: str, reserve: float = 0.0) -> Mapping[str, Any]:
        """GetJob; ``reserve``: seconds before the deadline by which it must have answered. Through the
        one-attempt client, its retries ours (``quick``: short near the deadline, the last one fitted to
        the time left): botocore's own retries of a throttled read back off for seconds, and near the
        deadline such a call was cut off with the job's state unread (soak final-5, lane 2, dep. 104)."""
        call = self.once.get_job
        resp = self._retrying("GetJob", lambda: call(**self._ids(), jobId=job_id), grace=-reserve, quick=True)
        job: Mapping[str, Any] = resp.get("job", {})
        return job

    # -- the branch must be free ------------------------------------------------------------------
    def wait_until_free(self, abandoned_after_s: float) -> None:
        """Wait (with backoff, bounded by the deadline) until no unfinished job blocks the branch;
        stop PENDING jobs abandoned by a crashed invocation."""
        attempt = 0
        waited_for: set[str] = set()
        stopped: set[str] = set()
        while True:
            summaries = self.list_jobs()
            self.newest_seen = max([_int(j.get("jobId")) for j in summaries] + [self.newest_seen])
            state = jobs.classify(summaries, self._now(), abandoned_after_s)
            blocking = list(state.blocking)
            fresh = [j for j in state.abandoned if str(j.get("jobId")) not in stopped]
            blocking += [j for j in state.abandoned if str(j.get("jobId")) in stopped]
            for job in fresh:
                job_id, status = str(job.get("jobId")), str(job.get("status"))
                why = "never started, older than the function timeout"
                event("wait", job_id=job_id, status=status, action="stopping", why=why)
                stopped.add(job_id)
                self.stop(job_id, quiet_errors=True)
            if fresh:
                continue  # list again: the stop may take a moment to show
            if not blocking:
                return
            attempt += 1
            first = blocking[0]
            job_id, status = str(first.get("jobId")), str(first.get("status"))
            unsure = any(str(j.get("jobId")) == job_id for j in state.undecidable)
            if job_id not in waited_for:
                waited_for.add(job_id)
                fields: dict[str, Any] = {"job_id": job_id, "status": status, "action": "waiting"}
                if unsure:
                    fields["why"] = "may be started and queued, or abandoned: Amplify's answers cannot tell"
                event("wait", **fields)
            pause = min(15.0, 1.0 * 1.5 ** (attempt - 1))
            if self.deadline.remaining() < pause + 1:
                if unsure:
                    raise AmplifyError(
                        f"branch {self.app_id}/{self.branch} is busy: job {job_id} still {status}, older "
                        "than the function timeout; queued or abandoned, Amplify cannot tell: if "
                        "abandoned, stop it (StopJob), then retry"
                    )
                raise AmplifyError(
                    f"branch {self.app_id}/{self.branch} is busy: job {job_id} still {status}; "
                    "retry the deployment when it has finished"
                )
            self._pause(pause)

    # -- one deployment ---------------------------------------------------------------------------
    def create(self, file_map: Mapping[str, str] | None) -> Mapping[str, Any]:
        """CreateDeployment; after a lost answer, stop the orphan job it may have created and create
        again (lost_answers.create)."""
        kwargs: dict[str, Any] = dict(self._ids())
        if file_map is not None:
            kwargs["fileMap"] = dict(file_map)
        return lost_answers.create(self, lambda: self.once.create_deployment(**kwargs))

    def start(self, job_id: str) -> None:
        """StartDeployment; after a lost answer, read the job before concluding anything."""
        lost_answers.start(self, job_id, lambda: self.once.start_deployment(**self._ids(), jobId=job_id))

    def start_source(self, source: Mapping[str, str]) -> str:
        """StartDeployment without CreateDeployment: Amplify fetches `source` (sourceUrl and
        sourceUrlType) itself; returns the id of the job it created. After a lost answer, the job is
        looked for by its sourceUrl before starting again (lost_answers.start_source)."""
        call = self.once.start_deployment
        return lost_answers.start_source(self, source["sourceUrl"], lambda: call(**self._ids(), **source))

    def stop(self, job_id: str, quiet_errors: bool = False) -> bool:
        """StopJob, with the same throttling/LimitExceeded retries as every other call (a stop that
        gives up too early leaves a PENDING job blocking the branch); True when Amplify accepted it.
        Errors are logged, not raised, with quiet_errors."""
        try:
            try:
                self._retrying(
                    f"StopJob {job_id}",
                    lambda: self.once.stop_job(**self._ids(), jobId=job_id),
                    grace=self.deadline.grace(),
                    quick=True,
                )
            except AmplifyError as refused:
                # a retried StopJob whose first answer was lost is refused: the job is already stopped
                job = self._cleanup_read(job_id)
                status = str(job.get("summary", {}).get("status", ""))
                if status not in jobs.FAILED_STATES:
                    self._read_at_stop[job_id] = job  # e.g. SUCCEED: it ended before the stop came
                    raise refused
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
        reserve = self.deadline.grace()
        while True:
            try:
                # answered a grace before the deadline: a GetJob that hangs leaves StopJob two graces
                job = self.get_job(job_id, reserve=reserve)
            except AmplifyError as exc:
                # the job can no longer be followed: stop it, or it may go live after a FAILED answer
                if self.stop(job_id, quiet_errors=True):
                    raise AmplifyError(f"{exc}; job {job_id} stopped, the live site is unchanged") from exc
                self.settle_unstopped(job_id, str(exc))
                return
            status = str(job.get("summary", {}).get("status", ""))
            if status != last:
                event("job", job_id=job_id, status=status)
                last = status
            if status == jobs.SUCCEEDED:
                return
            if status in jobs.FAILED_STATES:
                raise AmplifyError(jobs.failure_reason(job_id, status, job.get("steps", [])))
            if self.deadline.remaining() < pause + 0.5 + reserve:  # the next GetJob would be refused
                if not self.stop(job_id, quiet_errors=True):
                    # refused: the job may have ended meanwhile (SUCCEED: the deployment is done)
                    self.settle_unstopped(
                        job_id, f"Amplify job {job_id} still {status} near the Lambda timeout"
                    )
                    return
                if status in jobs.UNSTARTED_LOOKING:
                    raise AmplifyError(
                        f"Amplify job {job_id} still {status} near the Lambda timeout: stopped it (queued "
                        "behind the account's concurrent-jobs limit?); the previous content stays live. "
                        "Retry when other jobs finish, or request a quota increase"
                    )
                raise AmplifyError(
                    f"Amplify job {job_id} still {status} near the Lambda timeout: stopped it; "
                    "the previous content stays live. Retry, or raise the function timeout"
                )
            self._pause(pause)
            pause = min(max_pause, pause * 1.5)

    def _cleanup_read(self, job_id: str) -> Mapping[str, Any]:
        """GetJob in the deadline's grace (to confirm a stop, or to see how an unstoppable job ended)."""
        call = self.once.get_job
        resp = self._retrying(
            "GetJob", lambda: call(**self._ids(), jobId=job_id), grace=self.deadline.grace(), quick=True
        )
        job: Mapping[str, Any] = resp.get("job", {})
        return job

    def settle_unstopped(self, job_id: str, what: str) -> None:
        """After a StopJob that did not go through: follow the job for the rest of the deadline's
        grace. Return when it SUCCEEDED after all; raise with its end (FAILED, CANCELLED), or with
        ``what`` and the fact that it still runs."""
        job: Mapping[str, Any] = self._read_at_stop.get(job_id, {})
        while self.deadline.remaining(self.deadline.grace()) > 0.3 and not _ended(job):
            try:
                job = self._cleanup_read(job_id)
            except AmplifyError:
                break
            if _ended(job):
                break
            self._pause(0.2, self.deadline.grace())
        status = str(job.get("summary", {}).get("status", ""))
        if status == jobs.SUCCEEDED:
            event("job", job_id=job_id, status=status, action="succeeded_before_stop")
            return
        if status in jobs.FAILED_STATES:
            raise AmplifyError(jobs.failure_reason(job_id, status, job.get("steps", [])))
        raise AmplifyError(
            f"{what}; job {job_id} could not be stopped (it blocks the branch until it ends): check it "
            "in the Amplify console before retrying"
        )


def _ended(job: Mapping[str, Any]) -> bool:
    return str(job.get("summary", {}).get("status", "")) in (jobs.SUCCEEDED, *jobs.FAILED_STATES)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
