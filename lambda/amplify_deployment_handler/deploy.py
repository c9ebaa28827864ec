"""One deployment, start to end: plan, prepare, wait for the branch, create, upload, start, poll
(PULL mode: HeadObject, wait, start from a presigned sourceUrl, poll).

The imperative shell around the pure parts (props, plan, markers, jobs). How the bytes travel is the
upload mode's business (upload_modes.py). Every failure surfaces as DeploymentError with a short
reason; a job created here is stopped again when anything fails before it has been started, so the
branch is not left blocked and the live site stays as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from . import plan as planning
from .amplify import Amplify, AmplifyError, BranchBusy
from .changes import Outcome
from .deadline import Deadline
from .logs import event
from .props import PULL, DeploymentProps
from .pull import PullError, pull_problem
from .s3io import SourceError, head_size
from .settings import Settings
from .site_changes import Previous, count_changes
from .sources import Source, read_sources
from .upload import UploadError, close_connections
from .upload_modes import Pull, Site, UploadMode, choose_mode

__all__ = ["DeploymentError", "Result", "Settings", "deploy"]

_DEFAULT_SETTINGS = Settings()
T = TypeVar("T")


class DeploymentError(Exception):
    """The deployment failed; the message is the reason CloudFormation shows."""


@dataclass(frozen=True)
class Result:
    job_id: str
    file_count: int | None  # None: not known (PULL mode does not read the zip)
    byte_count: int | None
    changes: Outcome | None = None  # what it added, changed, removed (None: not compared)


def deploy(
    props: DeploymentProps,
    s3: Any,
    amplify_client: Any,
    deadline: Deadline,
    settings: Settings = _DEFAULT_SETTINGS,
    sleep: Callable[[float], None] | None = None,
    amplify_once: Any = None,
    previous: Previous | None = None,
) -> Result:
    """Deploy; ``amplify_once``: an Amplify client without botocore retries for CreateDeployment and
    StartDeployment (the handler settles their lost answers itself; default: ``amplify_client``);
    ``previous``: what to count the files added, changed and removed against (None: not counted)."""
    try:
        return _deploy(props, s3, amplify_client, deadline, settings, sleep, amplify_once, previous)
    except (planning.PlanError, SourceError, AmplifyError, UploadError, PullError) as exc:
        raise DeploymentError(str(exc)) from exc


def _deploy(
    props: DeploymentProps,
    s3: Any,
    amplify_client: Any,
    deadline: Deadline,
    settings: Settings,
    sleep: Callable[[float], None] | None,
    amplify_once: Any,
    previous: Previous | None,
) -> Result:
    # plan: list the sources' zips, merge them, choose the upload mode (PULL: HeadObject only)
    if props.upload_mode == PULL:
        mode, file_count = _pull_mode(s3, props, deadline, settings), None
    else:
        mode, file_count = _planned_mode(s3, props, deadline, settings)
    # what it changes: best effort, bounded, before any job exists (site_changes.py)
    changes = _count_changes(s3, props, mode, previous, deadline, settings)
    try:
        # prepare: before any job exists, so nothing blocks the branch meanwhile
        mode.prepare()
        amp = Amplify(
            amplify_client,
            props.app_id,
            props.branch_name,
            deadline,
            sleep=sleep or time.sleep,
            once_client=amplify_once,
            limit_wait_s=settings.limit_wait_s,
        )
        if mode.creates_deployment:
            # wait for the branch, create; upload and start, or stop the job again
            created = _create_when_free(amp, mode.file_map(), settings.abandoned_after_s)
            job_id = str(created.get("jobId"))
            event("job", job_id=job_id, action="created")
            _upload_and_start(amp, mode, created, job_id)
        else:
            # Amplify fetches the site itself: wait for the branch, start from the mode's source
            job_id = _start_source_when_free(amp, mode, settings.abandoned_after_s)
        event("job", job_id=job_id, action="started")
        # poll until the job has deployed the site
        amp.poll(job_id)
        return Result(job_id, file_count, mode.byte_count if file_count is not None else None, changes)
    finally:
        close_connections()
        mode.close()


def _when_free(amp: Amplify, abandoned_after_s: float, call: Callable[[], T], before: str) -> T:
    """Wait for a free branch, then ``call()`` (CreateDeployment or StartDeployment); if another job
    took the branch in between (a concurrent deployment: BranchBusy), wait again."""
    while True:
        amp.wait_until_free(abandoned_after_s)
        try:
            return call()
        except BranchBusy:
            if amp.deadline.remaining() < 2:
                raise
            event("wait", action="waiting", why=f"another job took the branch before {before}")


def _create_when_free(amp: Amplify, file_map: dict[str, str] | None, abandoned_after_s: float) -> Any:
    return _when_free(amp, abandoned_after_s, lambda: amp.create(file_map), "CreateDeployment")


def _planned_mode(
    s3: Any, props: DeploymentProps, deadline: Deadline, settings: Settings
) -> tuple[UploadMode, int]:
    """ZIP and FILES: list and merge the sources' zips, choose how to upload; (mode, file count)."""
    sources, listings = read_sources(s3, props)
    plan = planning.make_plan(props, listings)
    mode = choose_mode(Site(s3, props, sources, plan, deadline, settings))
    event("plan", mode=mode.label, sources=len(sources), files=plan.file_count, bytes=plan.byte_count)
    if not plan.has_index_html:
        event("plan", logging.WARNING, warning="no index.html at the site root; Amplify will answer 404 at /")
    return mode, plan.file_count


def _count_changes(
    s3: Any,
    props: DeploymentProps,
    mode: UploadMode,
    previous: Previous | None,
    deadline: Deadline,
    settings: Settings,
) -> Outcome | None:
    """The files this deployment adds, changes and removes, and the `changes` log line; never
    fails and takes at most `settings.changes_budget_s`. PULL: the zip's directory is read there."""
    if previous is None:
        return None
    entries = None if props.upload_mode == PULL else mode.site.plan.entries
    return count_changes(s3, props, entries, previous, settings.changes_budget_s, deadline)


def _pull_mode(s3: Any, props: DeploymentProps, deadline: Deadline, settings: Settings) -> UploadMode:
    """PULL: the one source zip as it is; HeadObject (its size, and a missing or unreadable object
    fails here with the usual reason) and no byte of it read."""
    problem = pull_problem(props)
    if problem:
        raise PullError(problem)
    s = props.sources[0]
    size = head_size(s3, s.bucket, s.key)
    source = Source(s.bucket, s.key, size, s.markers)
    empty = planning.Plan(PULL, (), direct=True)  # the zip is not listed
    event("plan", mode="PULL", sources=1, zip_bytes=size)
    return Pull(Site(s3, props, [source], empty, deadline, settings))


def _start_source_when_free(amp: Amplify, mode: UploadMode, abandoned_after_s: float) -> str:
    """StartDeployment from the mode's sourceUrl (no CreateDeployment) once the branch is free;
    returns the new job's id."""
    source = mode.start_source()

    def start() -> str:
        event("job", action="starting", source=mode.describe_source())
        return amp.start_source(source)

    return _when_free(amp, abandoned_after_s, start, "StartDeployment")


def _upload_and_start(amp: Amplify, mode: UploadMode, created: Any, job_id: str) -> None:
    """Upload, then StartDeployment; on any failure stop the created job (a PENDING job would block
    the branch) and say so in the reason."""
    try:
        mode.upload(created)
        amp.start(job_id)
    except BaseException as exc:
        stopped = amp.stop(job_id, quiet_errors=True)
        if isinstance(exc, (UploadError, SourceError, AmplifyError)):
            if stopped:
                raise DeploymentError(f"{exc}; job {job_id} stopped, the live site is unchanged") from exc
            # not stopped: a start whose answer was lost may have run the job to its end (SUCCEED:
            # return, the poll confirms it); else the reason says how it ended or that it still runs
            try:
                amp.settle_unstopped(job_id, str(exc))
            except AmplifyError as settled:
                why = str(settled)
                raise DeploymentError(why if why.startswith(str(exc)) else f"{exc}; {why}") from exc
            return
        raise
