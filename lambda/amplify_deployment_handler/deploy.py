"""One deployment, start to end: plan, prepare, wait for the branch, create, upload, start, poll.

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
from typing import Any

from . import plan as planning
from .amplify import Amplify, AmplifyError, BranchBusy
from .deadline import Deadline
from .logs import event
from .props import DeploymentProps
from .s3io import SourceError
from .settings import Settings
from .sources import read_sources
from .upload import UploadError, close_connections
from .upload_modes import Site, UploadMode, choose_mode

__all__ = ["DeploymentError", "Result", "Settings", "deploy"]

_DEFAULT_SETTINGS = Settings()


class DeploymentError(Exception):
    """The deployment failed; the message is the reason CloudFormation shows."""


@dataclass(frozen=True)
class Result:
    job_id: str
    file_count: int
    byte_count: int


def deploy(
    props: DeploymentProps,
    s3: Any,
    amplify_client: Any,
    deadline: Deadline,
    settings: Settings = _DEFAULT_SETTINGS,
    sleep: Callable[[float], None] | None = None,
    amplify_once: Any = None,
) -> Result:
    """Deploy; ``amplify_once``: an Amplify client without botocore retries for CreateDeployment and
    StartDeployment (the handler settles their lost answers itself; default: ``amplify_client``)."""
    try:
        return _deploy(props, s3, amplify_client, deadline, settings, sleep, amplify_once)
    except (planning.PlanError, SourceError, AmplifyError, UploadError) as exc:
        raise DeploymentError(str(exc)) from exc


def _deploy(
    props: DeploymentProps,
    s3: Any,
    amplify_client: Any,
    deadline: Deadline,
    settings: Settings,
    sleep: Callable[[float], None] | None,
    amplify_once: Any,
) -> Result:
    # plan: list the sources' zips, merge them, choose the upload mode
    sources, listings = read_sources(s3, props)
    plan = planning.make_plan(props, listings)
    mode = choose_mode(Site(s3, props, sources, plan, deadline, settings))
    event("plan", mode=mode.label, sources=len(sources), files=plan.file_count, bytes=plan.byte_count)
    if not plan.has_index_html:
        event("plan", logging.WARNING, warning="no index.html at the site root; Amplify will answer 404 at /")
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
            amp.wait_until_free(settings.abandoned_after_s)
            job_id = amp.start_source(mode.start_source())
        event("job", job_id=job_id, action="started")
        # poll until the job has deployed the site
        amp.poll(job_id)
        return Result(job_id, plan.file_count, mode.byte_count)
    finally:
        close_connections()
        mode.close()


def _create_when_free(amp: Amplify, file_map: dict[str, str] | None, abandoned_after_s: float) -> Any:
    """Wait for a free branch, then CreateDeployment; if another job took the branch in between (a
    concurrent deployment), wait again."""
    while True:
        amp.wait_until_free(abandoned_after_s)
        try:
            return amp.create(file_map)
        except BranchBusy:
            if amp.deadline.remaining() < 2:
                raise
            event("wait", action="waiting", why="another job took the branch before CreateDeployment")


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
            raise DeploymentError(
                f"{exc}; job {job_id} could not be stopped (it blocks the branch until stopped), "
                "the live site is unchanged"
            ) from exc
        raise
