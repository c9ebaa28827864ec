"""A deployment job's life: after CreateDeployment, ``unstarted_status`` (PENDING or CREATED: knob
``unstarted_status``; PROVISIONING while a sourceUrl downloads); from StartDeployment PENDING, queued
while the account has no free concurrent-job slot (knob ``over_limit_start=queued``), then for the
first quarter of its duration once it holds a slot; RUNNING; SUCCEED or FAILED at its end; CANCELLED
by StopJob. The rules here work on one job; the backend applies them under its lock and owns what
they imply for the branch (live content, trash, quotas). docs/emulator.md's ledger says where each
rule comes from.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .exceptions import BadRequestException, LimitExceededException, UploadError
from .signing import amz_date

STEP_NAME = "DEPLOY"
UNFINISHED = ("CREATED", "PENDING", "PROVISIONING", "RUNNING", "CANCELLING")
FINISHED = ("SUCCEED", "FAILED", "CANCELLED")


@dataclass
class Job:
    job_id: int
    #: "ZIP" (zipUploadUrl), "FILES" (fileMap) or "SOURCE_URL" (StartDeployment with sourceUrl)
    mode: str
    create_time: float
    #: the signing secret of this job's upload URLs
    secret: str
    url_date: str
    url_expires: int
    file_map: dict[str, str] | None = None
    #: fileMap names in upload-slot order: the file of slot i is stored as files/<i>
    names: list[str] = field(default_factory=list)
    #: when StartDeployment accepted it (None: never started)
    start_time: float | None = None
    #: when it got a concurrent-job slot and began to run (None while unstarted or queued)
    run_time: float | None = None
    end_time: float | None = None
    duration: float = 0.0
    #: set once final: SUCCEED, FAILED or CANCELLED
    final_status: str | None = None
    #: decided at start: the reason the job will fail (missing upload, knob, ...), or None
    failure: str | None = None
    status_reason: str | None = None
    #: a sourceUrl job is PROVISIONING while the emulator downloads the zip
    provisioning: bool = False
    source_url: str | None = None
    source_url_type: str | None = None
    #: the status of this job while it is created and never started (knob unstarted_status, sampled
    #: at CreateDeployment)
    unstarted_status: str = "PENDING"
    #: its fileMap upload URLs sign the Content-MD5 header (knob upload_content_md5=required)
    md5_signed: bool = False

    def status(self, now: float) -> str:
        if self.final_status:
            return self.final_status
        if self.provisioning:
            return "PROVISIONING"
        if self.start_time is None:
            return self.unstarted_status
        if self.run_time is None or now < self.run_time + self.duration * 0.25:
            return "PENDING"  # queued for a slot, or in its first quarter
        return "RUNNING"

    @property
    def started(self) -> bool:
        return self.start_time is not None or self.provisioning

    @property
    def holds_slot(self) -> bool:
        """Counts toward the account's concurrent jobs: downloading its source, or running."""
        return not self.final_status and (self.provisioning or self.run_time is not None)

    @property
    def queued(self) -> bool:
        """Started, waiting for a concurrent-job slot."""
        return not self.final_status and self.start_time is not None and self.run_time is None

    @property
    def ran(self) -> bool:
        """Reached its deploy step: it ran, or was ended at its start (the 8-hour rule, J7)."""
        return self.run_time is not None or (self.start_time is not None and self.final_status is not None)

    @property
    def due(self) -> float | None:
        """When a running job ends (None while it is not running toward an end)."""
        if self.final_status or self.run_time is None or self.provisioning:
            return None
        return self.run_time + self.duration


@dataclass(frozen=True)
class JobView:
    """A job as an answer shows it, taken under the lock: a copy of the job, its status at ``now``."""

    app_id: str
    app_arn: str
    branch_name: str
    job: Job
    status: str
    now: float
    log_url: str
    #: the summary's startTime (knob job_start_time: the StartDeployment time once started, or always
    #: the creation time)
    start_shown: float


@dataclass(frozen=True)
class Deployment:
    """CreateDeployment's answer: the zipUploadUrl ("" in fileMap mode) or one URL per fileMap key."""

    job_id: int
    zip_upload_url: str
    file_upload_urls: dict[str, str]


def new_job(job_id: int, mode: str, now: float, url_expires: int) -> Job:
    """A job just created, with a fresh signing secret for its upload URLs."""
    return Job(
        job_id=job_id,
        mode=mode,
        create_time=now,
        secret=secrets.token_hex(32),
        url_date=amz_date(now),
        url_expires=url_expires,
    )


def check_no_unfinished(last: Job | None, now: float) -> None:
    """A new deployment is refused while the branch's last job is unfinished (the real message)."""
    if last is not None and last.status(now) in UNFINISHED:
        raise BadRequestException(
            f"The last job(deployment) {last.job_id} was not finished, please wait until it finish or "
            "use StopJob operation to cancel it before creating a new deployment."
        )


def slots_taken(every_job: Iterable[Job]) -> int:
    """Jobs holding one of the account's concurrent-job slots (created, unstarted or queued jobs do
    not: assumption)."""
    return sum(1 for job in every_job if job.holds_slot)


def check_concurrency(every_job: Iterable[Job], limit: int) -> None:
    """``over_limit_start=refused``: a start beyond the account's concurrent jobs is refused."""
    running = slots_taken(every_job)
    if running >= limit:
        raise LimitExceededException(
            f"Too many concurrent jobs: {running} jobs are running in this account, the limit is "
            f"{limit}. Retry when one has finished."
        )


def admit_queued(every_job: Iterable[Job], at: float, limit: int) -> bool:
    """``over_limit_start=queued``: give free slots to queued jobs, oldest start first, running from
    ``at`` (the moment the slot freed; computed at the first call after it) or from its own start if
    later. True when a job was admitted."""
    jobs = list(every_job)
    free = limit - slots_taken(jobs)
    waiting = sorted((j for j in jobs if j.queued), key=lambda j: (j.start_time or 0.0, j.job_id))
    for job in waiting[: max(0, free)]:
        job.run_time = max(at, job.start_time or at)
    return free > 0 and bool(waiting)


def parse_job_id(job_id: str) -> int:
    if not re.fullmatch(r"[0-9]{1,20}", job_id or ""):
        raise BadRequestException(f"Invalid jobId {job_id!r}: a job id is a decimal number.")
    return int(job_id)


def check_startable(job: Job, job_id: str, branch_name: str, now: float) -> None:
    """Only a job from CreateDeployment that was never started can be started."""
    if job.mode == "SOURCE_URL" or job.started or job.final_status:
        raise BadRequestException(
            f"Job {job_id} of branch {branch_name} was already started or stopped (status "
            f"{job.status(now)}); only a job from CreateDeployment that was never started can be "
            "started. Create a new deployment to deploy again."
        )


def fail_if_late(job: Job, now: float, deadline: float) -> str | None:
    """A start more than ``deadline`` seconds after CreateDeployment FAILS the job: the reason, or None."""
    if now - job.create_time <= deadline:
        return None
    job.final_status = "FAILED"
    job.start_time = job.end_time = now
    job.status_reason = (
        f"StartDeployment came {now - job.create_time:.0f} s after CreateDeployment, "
        f"more than the {deadline / 3600:g} hours allowed; create a new deployment."
    )
    return job.status_reason


def start(
    job: Job, now: float, duration: float, injected_failure: str | None, job_dir: Path, slot: bool
) -> None:
    """Start the job, running at once when it has a slot, else queued; decide now whether it will fail
    (an injected failure, or an incomplete upload)."""
    job.start_time = now
    job.run_time = now if slot else None
    job.duration = duration
    job.failure = injected_failure or missing_upload(job, job_dir)


def missing_upload(job: Job, job_dir: Path) -> str | None:
    """What the job lacks to deploy (assumption: it is started anyway, then FAILS), or None."""
    if job.mode == "FILES":
        missing = [n for i, n in enumerate(job.names) if not (job_dir / "files" / str(i)).exists()]
        if missing:
            return (
                f"Missing uploads: {len(missing)} of the {len(job.names)} files of the fileMap were "
                f"not uploaded before StartDeployment (first: {missing[0]!r})."
            )
        return None
    if not (job_dir / "site.zip").exists():
        what = "the sourceUrl" if job.mode == "SOURCE_URL" else "the zipUploadUrl"
        return f"No zip was uploaded to {what} before StartDeployment; nothing to deploy."
    return None


def cancel(job: Job, job_id: str, branch_name: str, now: float) -> None:
    """StopJob: an unfinished job is CANCELLED at once; a finished one cannot be stopped. A job that was
    never started stays without a start (its startTime the creation time, no steps)."""
    status = job.status(now)
    if status not in UNFINISHED:
        raise BadRequestException(
            f"Job {job_id} of branch {branch_name} is already {status}; only an unfinished job "
            "can be stopped."
        )
    job.final_status = "CANCELLED"
    job.status_reason = "The job was cancelled by StopJob; the previous deployment stays live."
    job.end_time = now
    # a never-started job keeps start_time None: its summary keeps the creation time (J3, J13)


def finish(job: Job) -> bool:
    """End a running job at its due time: SUCCEED (True) or FAILED with its reason (False)."""
    assert job.run_time is not None
    job.end_time = job.run_time + job.duration
    if job.failure:
        job.final_status = "FAILED"
        job.status_reason = job.failure + " The previous deployment stays live."
        return False
    job.final_status = "SUCCEED"
    job.status_reason = "Deployment complete."
    return True


def encode_page_token(next_job_id: int) -> str:
    """ListJobs' ``nextToken``: opaque, base64 of the id of the next job to list."""
    return base64.urlsafe_b64encode(json.dumps({"next": next_job_id}).encode()).decode()


def decode_page_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["next"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadRequestException("Invalid nextToken.") from exc


@dataclass(frozen=True)
class UploadTarget:
    """What an upload URL resolved to (the backend checked it); the bytes are streamed outside its lock."""

    app_id: str
    branch_name: str
    job_id: int
    slot: str  # "zip" or the fileMap slot number
    final_path: Path
    expected_md5: str | None  # fileMap mode: the md5 the body must have
    #: the URL signs Content-MD5 (knob upload_content_md5=required): the PUT must carry it, equal to
    #: the fileMap's md5, or S3 answers 403 SignatureDoesNotMatch
    md5_signed: bool = False


def upload_target(job: Job, app_id: str, branch_name: str, slot: str, jdir: Path, now: float) -> UploadTarget:
    """Where the upload of ``slot`` of a (signature-checked) job goes; UploadError (S3-style) when the
    job's URLs are closed or name no such slot."""
    if job.started or job.final_status:
        raise UploadError(
            403,
            "AccessDenied",
            f"Access Denied: job {job.job_id} is already {job.status(now)}; its upload URLs are "
            "closed (emulator rule).",
        )
    if slot == "zip" and job.mode == "ZIP":
        return UploadTarget(app_id, branch_name, job.job_id, slot, jdir / "site.zip", None)
    if job.mode == "FILES" and slot.isdigit() and int(slot) < len(job.names):
        assert job.file_map is not None
        md5 = job.file_map[job.names[int(slot)]].lower()
        return UploadTarget(app_id, branch_name, job.job_id, slot, jdir / "files" / slot, md5, job.md5_signed)
    raise UploadError(403, "AccessDenied", "Access Denied (no such upload slot).")
