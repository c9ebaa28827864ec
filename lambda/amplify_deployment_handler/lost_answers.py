"""Lost answers of the calls that are not idempotent: CreateDeployment and StartDeployment.

A call can take effect while its answer is lost (HTTP 5xx, a read timeout, a reset connection).
Sending it again blindly is wrong both ways: a second CreateDeployment is refused because the first
one's job now blocks the branch ("The last job(deployment) N was not finished..."), and a second
StartDeployment is refused because the job already runs. So these calls are sent once (no botocore
retries) and a lost answer is settled by reading Amplify's state:

- CreateDeployment: ListJobs; a job newer than the newest one seen on the free branch, created since
  the call began and never started, is the orphan the call created: it is stopped, and the
  deployment is created again, within the same invocation.
- StartDeployment: GetJob; a job that shows any sign of a start is followed (poll); one that shows
  none is started again, and a refusal of that second start leaves the job's own status to decide.
- StartDeployment with a sourceUrl (PULL mode; it creates the job itself): ListJobs; a job newer than
  the newest one seen on the free branch whose sourceUrl is ours (the URL is signed in this
  invocation: only our call can have made it; compared, never logged) is the one the call started:
  it is followed; with none, the call had no effect and is sent again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import jobs
from .amplify_api import AmplifyCalls, AmplifyError, LostAnswer
from .logs import event

#: lost answers tolerated per call before the deployment fails
MAX_LOST = 3
#: clock skew allowed between this function and Amplify when matching an orphan's creation time
SKEW = dt.timedelta(seconds=5)


def find_orphan(summaries: Sequence[Mapping[str, Any]], began: dt.datetime, newest_seen: int) -> str | None:
    """The id of the job a lost CreateDeployment created: newer than ``newest_seen``, created since
    ``began`` (less the clock skew), never started; None when there is none."""
    for s in summaries:
        job_id = str(s.get("jobId"))
        if s.get("status") not in jobs.UNSTARTED_LOOKING or s.get("sourceUrl") or jobs.start_moved(s):
            continue
        if not job_id.isdigit() or int(job_id) <= newest_seen:
            continue
        created = jobs.created_at(s)
        if created is not None and created < began - SKEW:
            continue
        return job_id
    return None


def find_pulled(summaries: Sequence[Mapping[str, Any]], source_url: str, newest_seen: int) -> str | None:
    """The id of the job a lost StartDeployment(sourceUrl) started: newer than ``newest_seen``, with
    that very sourceUrl; None when there is none."""
    for s in summaries:
        job_id = str(s.get("jobId"))
        if job_id.isdigit() and int(job_id) > newest_seen and s.get("sourceUrl") == source_url:
            return job_id
    return None


def create(amp: AmplifyCalls, call: Callable[[], Any]) -> Mapping[str, Any]:
    where = f"{amp.app_id}/{amp.branch}"
    code = ""
    stopped: list[str] = []  # the orphans stopped: named in the reason if every try loses its answer
    for _ in range(MAX_LOST):
        began = amp._now()
        try:
            response: Mapping[str, Any] = amp._retrying("CreateDeployment", call, lost_ok=True, job_call=True)
            return response
        except LostAnswer as exc:
            code = exc.code
            event("retry", msg=f"amplify: CreateDeployment answer lost ({code}); looking for its job")
        except AmplifyError as exc:
            if not stopped:
                raise
            raise _after_lost(exc, where, code, stopped, "then") from exc
        # looking for the orphan and stopping it is cleanup: it may use the deadline's grace
        try:
            summaries = amp.list_jobs(cleanup=True)
        except AmplifyError as exc:
            raise _after_lost(
                exc, where, code, stopped, "the job it may have made could not be looked for"
            ) from exc
        orphan = find_orphan(summaries, began, amp.newest_seen)
        if orphan is None:
            continue  # the call had no effect: create again
        event("job", job_id=orphan, action="orphan_found", why="CreateDeployment's answer was lost")
        if not amp.stop(orphan, quiet_errors=True):
            raise AmplifyError(
                f"CreateDeployment on {where} lost its answer ({code}) and its job {orphan} could not "
                "be stopped (it blocks the branch until stopped); stop it, then retry"
            )
        amp.newest_seen = max(amp.newest_seen, int(orphan))
        stopped.append(orphan)
    raise AmplifyError(
        f"CreateDeployment on {where} lost its answer {MAX_LOST} times ({code}){_named(stopped)}; "
        "retry the deployment"
    )


def _after_lost(exc: AmplifyError, where: str, code: str, stopped: Sequence[str], then: str) -> AmplifyError:
    """``exc`` (of the same type, code and detail) after a lost CreateDeployment answer: the lost call
    and the orphans stopped come first, so that the reason's 256-character cut keeps them."""
    reason = f"CreateDeployment on {where} lost its answer ({code}){_named(stopped)}; {then}: {exc}"
    return type(exc)(reason, exc.code, exc.detail)


def _named(stopped: Sequence[str]) -> str:
    """ "; job 3, job 4 stopped" for the orphans stopped, "" for none."""
    return "; " + ", ".join(f"job {j}" for j in stopped) + " stopped" if stopped else ""


def start(amp: AmplifyCalls, job_id: str, call: Callable[[], Any]) -> None:
    where = f"{amp.app_id}/{amp.branch}"
    lost = ""
    for _ in range(MAX_LOST):
        try:
            amp._retrying("StartDeployment", call, lost_ok=True, job_call=True)
            return
        except LostAnswer as exc:
            lost = exc.code
            event("retry", msg=f"amplify: StartDeployment answer lost ({lost}); reading job {job_id}")
        except AmplifyError as exc:
            if not lost or exc.code != "BadRequestException":
                raise
            # refused after a lost answer: the lost call most likely started it; the job's status decides
            event("retry", msg=f"amplify: StartDeployment of job {job_id} refused after a lost answer")
            return
        job = amp.get_job(job_id)
        summary = job.get("summary", {})
        if (
            summary.get("status") not in jobs.UNSTARTED_LOOKING
            or jobs.start_moved(summary)
            or job.get("steps")
        ):
            event("job", job_id=job_id, action="start_confirmed", status=str(summary.get("status")))
            return
    raise AmplifyError(
        f"StartDeployment of job {job_id} on {where} lost its answer {MAX_LOST} times ({lost}); retry"
    )


def start_source(amp: AmplifyCalls, source_url: str, call: Callable[[], Any]) -> str:
    """StartDeployment(sourceUrl); after a lost answer, the job it started is looked for in ListJobs
    (find_pulled) before the call is sent again. Returns the job's id."""
    where = f"{amp.app_id}/{amp.branch}"
    lost = ""
    for _ in range(MAX_LOST):
        try:
            response: Mapping[str, Any] = amp._retrying("StartDeployment", call, lost_ok=True, job_call=True)
            return str(response.get("jobSummary", {}).get("jobId"))
        except LostAnswer as exc:
            lost = exc.code
            event("retry", msg=f"amplify: StartDeployment answer lost ({lost}); looking for its job")
        job_id = find_pulled(amp.list_jobs(cleanup=True), source_url, amp.newest_seen)
        if job_id is not None:
            event("job", job_id=job_id, action="start_confirmed")
            return job_id
    raise AmplifyError(
        f"StartDeployment on {where} lost its answer {MAX_LOST} times ({lost}); retry the deployment"
    )
