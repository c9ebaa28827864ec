"""The state model of the emulated Amplify Hosting: apps, branches, jobs, their rules, clock and knobs.

Nothing here speaks HTTP: responses.py turns requests into calls on :class:`AmplifyBackend` and its
results or :class:`~.exceptions.AmplifyError` into REST-JSON; server.py moves the bytes.

Jobs progress lazily: every call first advances the started jobs according to the clock, so a fake
clock gives fully deterministic tests and no timer thread is needed. One re-entrant lock guards it all.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import mimetypes
import os
import re
import secrets
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from amplify_deployment_handler.rules import app_id_problem, branch_name_problem

from .exceptions import (
    AmplifyError,
    BadRequestException,
    LimitExceededException,
    NotFoundException,
    TooManyRequestsException,
    UploadError,
)
from .knobs import Counters, Knobs

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_BRANCHES_PER_APP = 50
MAX_ZIP_BYTES = 5 * 1024**3
STEP_NAME = "DEPLOY"
MD5_RE = re.compile(r"^[0-9a-fA-F]{32}$")

UNFINISHED = ("CREATED", "PENDING", "PROVISIONING", "RUNNING", "CANCELLING")
FINISHED = ("SUCCEED", "FAILED", "CANCELLED")

Clock = Callable[[], float]


class FakeClock:
    """A clock for tests: starts at ``start`` (epoch seconds) and moves only with :meth:`advance`."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now


def branch_key(branch_name: str) -> str:
    """A short, path-safe key for a branch name (names may hold '/' and be 255 chars long)."""
    return hashlib.sha256(branch_name.encode()).hexdigest()[:20]


def _amz_date(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _parse_amz_date(text: str) -> float:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()


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
    start_time: float | None = None
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

    def status(self, now: float) -> str:
        if self.final_status:
            return self.final_status
        if self.provisioning:
            return "PROVISIONING"
        if self.start_time is None or now < self.start_time + self.duration * 0.25:
            return "PENDING"
        return "RUNNING"

    @property
    def started(self) -> bool:
        return self.start_time is not None or self.provisioning


@dataclass
class Branch:
    app_id: str
    branch_name: str
    create_time: float
    update_time: float
    description: str = ""
    stage: str = "NONE"
    framework: str = ""
    display_name: str = ""
    enable_auto_build: bool = True
    enable_notification: bool = False
    enable_basic_auth: bool = False
    enable_pull_request_preview: bool = False
    enable_performance_mode: bool = False
    enable_skew_protection: bool = False
    environment_variables: dict[str, str] = field(default_factory=dict)
    basic_auth_credentials: str = ""
    build_spec: str = ""
    pull_request_environment_name: str = ""
    backend_environment_arn: str = ""
    compute_role_arn: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ttl: str = "5"
    jobs: dict[int, Job] = field(default_factory=dict)
    next_job_id: int = 1
    live_job_id: int | None = None

    @property
    def key(self) -> str:
        return branch_key(self.branch_name)

    def last_job(self) -> Job | None:
        return self.jobs[max(self.jobs)] if self.jobs else None


@dataclass
class App:
    app_id: str
    name: str
    region: str
    create_time: float
    update_time: float
    description: str = ""
    repository: str = ""
    platform: str = "WEB"
    environment_variables: dict[str, str] = field(default_factory=dict)
    enable_branch_auto_build: bool = False
    enable_branch_auto_deletion: bool = False
    enable_basic_auth: bool = False
    basic_auth_credentials: str = ""
    custom_rules: list[dict[str, str]] = field(default_factory=list)
    custom_headers: str = ""
    build_spec: str = ""
    iam_service_role_arn: str = ""
    compute_role_arn: str = ""
    job_config: dict[str, Any] | None = None
    cache_config: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    branches: dict[str, Branch] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:amplify:{self.region}:{ACCOUNT_ID}:apps/{self.app_id}"


@dataclass
class UploadTarget:
    """What an upload URL resolved to; the bytes are streamed by the HTTP layer outside the lock."""

    app_id: str
    branch_name: str
    job_id: int
    slot: str  # "zip" or the fileMap slot number
    final_path: Path
    expected_md5: str | None  # fileMap mode: the md5 the body must have


@dataclass
class SiteFile:
    """A file of a branch's live site, ready to stream."""

    size: int
    content_type: str
    opener: Callable[[], IO[bytes]]


PLATFORMS = ("WEB", "WEB_DYNAMIC", "WEB_COMPUTE")
STAGES = ("PRODUCTION", "BETA", "DEVELOPMENT", "EXPERIMENTAL", "PULL_REQUEST")

#: request member -> (attribute, kind) of what CreateApp/UpdateApp set on an app. A member that is
#: absent leaves the attribute as it is; "" / {} / [] clear it (an assumption, see docs/emulator.md).
APP_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "name"),
    "description": ("description", "str"),
    "platform": ("platform", "platform"),
    "environmentVariables": ("environment_variables", "map"),
    "enableBranchAutoBuild": ("enable_branch_auto_build", "bool"),
    "enableBranchAutoDeletion": ("enable_branch_auto_deletion", "bool"),
    "enableBasicAuth": ("enable_basic_auth", "bool"),
    "basicAuthCredentials": ("basic_auth_credentials", "str"),
    "customRules": ("custom_rules", "rules"),
    "customHeaders": ("custom_headers", "str"),
    "buildSpec": ("build_spec", "str"),
    "iamServiceRoleArn": ("iam_service_role_arn", "str"),
    "computeRoleArn": ("compute_role_arn", "str"),
    "jobConfig": ("job_config", "struct"),
    "cacheConfig": ("cache_config", "struct"),
}
#: the Git-only members of UpdateApp: refused, the emulator's apps take manual deployments only
APP_GIT_MEMBERS = (
    "repository",
    "oauthToken",
    "accessToken",
    "enableAutoBranchCreation",
    "autoBranchCreationPatterns",
    "autoBranchCreationConfig",
)
#: request member -> (attribute, kind) of what CreateBranch/UpdateBranch set on a branch
BRANCH_FIELDS: dict[str, tuple[str, str]] = {
    "description": ("description", "str"),
    "framework": ("framework", "str"),
    "stage": ("stage", "stage"),
    "displayName": ("display_name", "str"),
    "enableNotification": ("enable_notification", "bool"),
    "enableAutoBuild": ("enable_auto_build", "bool"),
    "enableSkewProtection": ("enable_skew_protection", "bool"),
    "environmentVariables": ("environment_variables", "map"),
    "basicAuthCredentials": ("basic_auth_credentials", "str"),
    "enableBasicAuth": ("enable_basic_auth", "bool"),
    "enablePerformanceMode": ("enable_performance_mode", "bool"),
    "buildSpec": ("build_spec", "str"),
    "ttl": ("ttl", "str"),
    "enablePullRequestPreview": ("enable_pull_request_preview", "bool"),
    "pullRequestEnvironmentName": ("pull_request_environment_name", "str"),
    "backendEnvironmentArn": ("backend_environment_arn", "str"),
    "computeRoleArn": ("compute_role_arn", "str"),
}


def _checked(member: str, kind: str, value: Any) -> Any:
    """``value`` of a request member, validated and copied (BadRequestException when malformed)."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise BadRequestException(f"{member} must be a boolean.")
        return value
    if kind == "map":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise BadRequestException(f"{member} must be a map of string to string.")
        return dict(value)
    if kind == "struct":
        if not isinstance(value, dict):
            raise BadRequestException(f"{member} must be an object.")
        return dict(value) or None
    if kind == "rules":
        if not isinstance(value, list):
            raise BadRequestException(f"{member} must be a list of rules.")
        rules = []
        for i, rule in enumerate(value):
            if (
                not isinstance(rule, dict)
                or not isinstance(rule.get("source"), str)
                or not isinstance(rule.get("target"), str)
                or not all(isinstance(v, str) for v in rule.values())
            ):
                raise BadRequestException(f"{member}[{i}]: a rule needs string source and target.")
            rules.append(
                {k: rule[k] for k in ("source", "target", "status", "condition") if rule.get(k) is not None}
            )
        return rules
    if not isinstance(value, str):
        raise BadRequestException(f"{member} must be a string.")
    if kind == "name" and not 1 <= len(value) <= 255:
        raise BadRequestException("name: 1..255 characters.")
    if kind == "platform" and value not in PLATFORMS:
        raise BadRequestException(f"platform must be one of {', '.join(PLATFORMS)}.")
    if kind == "stage" and value not in STAGES:
        raise BadRequestException(f"stage must be one of {', '.join(STAGES)}.")
    return value


def _parse_fields(body: dict[str, Any], table: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The attributes a request sets: {attribute: checked value} for the members it holds."""
    return {
        attr: _checked(member, kind, body[member])
        for member, (attr, kind) in table.items()
        if body.get(member) is not None
    }


def _job_from_dict(data: dict[str, Any]) -> Job:
    return Job(**data)


def _branch_from_dict(data: dict[str, Any]) -> Branch:
    jobs = {int(k): _job_from_dict(v) for k, v in data.pop("jobs").items()}
    return Branch(jobs=jobs, **data)


def _app_from_dict(data: dict[str, Any]) -> App:
    branches = {k: _branch_from_dict(v) for k, v in data.pop("branches").items()}
    return App(branches=branches, **data)


class AmplifyBackend:
    """All state of the emulated service and its rules. Thread-safe: one lock around everything.

    ``store_dir`` holds the uploads and live content (``content/``) and, when ``persist`` is true,
    ``state.json``: a later backend on the same folder sees the same apps, branches, jobs and sites.
    """

    def __init__(self, store_dir: Path, *, persist: bool = False, clock: Clock | None = None) -> None:
        self.store_dir = Path(store_dir)
        self.content_dir = self.store_dir / "content"
        self.content_dir.mkdir(parents=True, exist_ok=True)
        self.persist = persist
        self.clock: Clock = clock or time.time
        self.knobs = Knobs()
        self.counters = Counters()
        self.apps: dict[str, App] = {}
        #: the base URL (no trailing slash) of the HTTP server, used in upload and log URLs
        self.public_url = "http://127.0.0.1:0"
        self.lock = threading.RLock()
        self._trash: list[Path] = []
        self._dirty = False
        self._zip_cache: dict[Path, tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]] = {}
        self._name_index: dict[tuple[str, str, int], dict[str, int]] = {}
        self._bandwidth_next = 0.0
        self._lock_file: IO[str] | None = None
        #: called (outside the lock) with the (app id, branch name) pairs DeleteApp/DeleteBranch removed
        self.on_branches_removed: Callable[[list[tuple[str, str]]], None] | None = None
        if persist:
            self._lock_file = open(self.store_dir / ".lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                self._lock_file.close()
                raise RuntimeError(
                    f"the emulator state folder {self.store_dir} is in use by another process; "
                    "stop it or use another state_dir"
                ) from exc
            self._load()

    # ------------------------------------------------------------------ plumbing
    def now(self) -> float:
        return self.clock() + self.knobs.clock_offset

    @contextlib.contextmanager
    def _op(self, mutating: bool = True) -> Iterator[float]:
        """Lock, advance jobs, yield now; afterwards save (if persisting) and delete dropped content.

        A read-only operation saves only when advancing the jobs changed something.
        """
        with self.lock:
            now = self.now()
            self._advance(now)
            try:
                yield now
            finally:
                if mutating or self._dirty:
                    self._save()
                trash, self._trash = self._trash, []
        for path in trash:
            shutil.rmtree(path, ignore_errors=True)

    def _state_path(self) -> Path:
        return self.store_dir / "state.json"

    def _save(self) -> None:
        self._dirty = False
        if not self.persist:
            return
        data = {"version": 1, "apps": {k: asdict(v) for k, v in self.apps.items()}}
        tmp = self._state_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self._state_path())

    def _load(self) -> None:
        path = self._state_path()
        if path.exists():
            data = json.loads(path.read_text())
            self.apps = {k: _app_from_dict(v) for k, v in data["apps"].items()}

    def close(self) -> None:
        with self.lock:
            for zf, _ in self._zip_cache.values():
                zf.close()
            self._zip_cache.clear()
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    def reset(self) -> None:
        """Forget every app, branch, job and upload; knobs and counters back to their defaults."""
        with self.lock:
            for zf, _ in self._zip_cache.values():
                zf.close()
            self._zip_cache.clear()
            self._name_index.clear()
            self.apps.clear()
            # in place: references to emulator.knobs / backend.counters stay valid
            self.knobs.update(Knobs().to_dict())
            self.counters.clear()
            self._bandwidth_next = 0.0
            shutil.rmtree(self.content_dir, ignore_errors=True)
            self.content_dir.mkdir(parents=True, exist_ok=True)
            self._save()

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        with self.lock:
            self.knobs.update(values)
            return self.knobs.to_dict()

    def job_dir(self, app_id: str, branch_name: str, job_id: int) -> Path:
        return self.content_dir / app_id / branch_key(branch_name) / str(job_id)

    # ------------------------------------------------------------------ lookups
    def _app(self, app_id: str) -> App:
        problem = app_id_problem(app_id)
        if problem:
            raise BadRequestException(f"Invalid appId {app_id[:40]!r}: it {problem}.")
        app = self.apps.get(app_id)
        if app is None:
            raise NotFoundException(f"App {app_id} not found.")
        return app

    def _branch(self, app_id: str, branch_name: str) -> Branch:
        app = self._app(app_id)
        _check_branch_name(branch_name)
        branch = app.branches.get(branch_name)
        if branch is None:
            raise NotFoundException(f"Branch {branch_name} not found for app {app_id}.")
        return branch

    def _job(self, branch: Branch, job_id: str) -> Job:
        if not re.fullmatch(r"[0-9]{1,20}", job_id or ""):
            raise BadRequestException(f"Invalid jobId {job_id!r}: a job id is a decimal number.")
        job = branch.jobs.get(int(job_id))
        if job is None:
            raise NotFoundException(
                f"Job {job_id} not found for branch {branch.branch_name} of app {branch.app_id}."
            )
        return job

    # ------------------------------------------------------------------ apps and branches
    def create_app(self, body: dict[str, Any], region: str = DEFAULT_REGION) -> App:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise BadRequestException("name is required: 1..255 characters.")
        fields = _parse_fields(body, APP_FIELDS)
        repository = body.get("repository") or ""
        if not isinstance(repository, str):
            raise BadRequestException("repository must be a string.")
        tags = _checked("tags", "map", body.get("tags") or {})
        with self._op() as now:
            app_id = "d" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(13))
            app = App(
                app_id=app_id,
                name=name,
                region=region,
                create_time=now,
                update_time=now,
                repository=repository,
                tags=tags,
            )
            for attr, value in fields.items():
                setattr(app, attr, value)
            self.apps[app_id] = app
            return app

    def get_app(self, app_id: str) -> App:
        with self._op(mutating=False):
            return self._app(app_id)

    def update_app(self, app_id: str, body: dict[str, Any]) -> App:
        """Set the members the request holds; absent ones stay, "" / {} / [] clear (assumption)."""
        for member in APP_GIT_MEMBERS:
            if body.get(member) is not None:
                raise BadRequestException(
                    f"{member} cannot be set by UpdateApp in the Amplify emulator: its apps take manual "
                    "deployments only, without a Git repository (emulator rule)."
                )
        fields = _parse_fields(body, APP_FIELDS)
        with self._op() as now:
            app = self._app(app_id)
            for attr, value in fields.items():
                setattr(app, attr, value)
            app.update_time = now
            return app

    def delete_app(self, app_id: str) -> App:
        """Delete the app with its branches, their jobs and live content (their sites stop)."""
        with self._op():
            app = self._app(app_id)
            del self.apps[app_id]
            for branch in app.branches.values():
                self._drop_branch_content(app_id, branch)
            self._trash.append(self.content_dir / app_id)
        self._branches_removed([(app_id, name) for name in app.branches])
        return app

    def create_branch(self, app_id: str, body: dict[str, Any]) -> Branch:
        name = body.get("branchName")
        if not isinstance(name, str):
            raise BadRequestException("branchName is required.")
        _check_branch_name(name)
        fields = _parse_fields(body, BRANCH_FIELDS)
        tags = _checked("tags", "map", body.get("tags") or {})
        with self._op() as now:
            app = self._app(app_id)
            if name in app.branches:
                raise BadRequestException(f"Branch {name} already exists for app {app_id}.")
            if len(app.branches) >= MAX_BRANCHES_PER_APP:
                raise LimitExceededException(
                    f"App {app_id} already has {MAX_BRANCHES_PER_APP} branches (the service quota)."
                )
            branch = Branch(
                app_id=app_id,
                branch_name=name,
                create_time=now,
                update_time=now,
                tags=tags,
            )
            for attr, value in fields.items():
                setattr(branch, attr, value)
            branch.display_name = branch.display_name or name.replace("/", "-")
            app.branches[name] = branch
            return branch

    def get_branch(self, app_id: str, branch_name: str) -> Branch:
        with self._op(mutating=False):
            return self._branch(app_id, branch_name)

    def update_branch(self, app_id: str, branch_name: str, body: dict[str, Any]) -> Branch:
        """Set the members the request holds; absent ones stay, "" / {} clear (assumption)."""
        fields = _parse_fields(body, BRANCH_FIELDS)
        with self._op() as now:
            branch = self._branch(app_id, branch_name)
            for attr, value in fields.items():
                setattr(branch, attr, value)
            branch.display_name = branch.display_name or branch_name.replace("/", "-")
            branch.update_time = now
            return branch

    def delete_branch(self, app_id: str, branch_name: str) -> tuple[App, Branch]:
        """Delete the branch, its jobs (unfinished ones too) and its live content; its site stops."""
        with self._op():
            branch = self._branch(app_id, branch_name)
            app = self.apps[app_id]
            del app.branches[branch_name]
            self._drop_branch_content(app_id, branch)
        self._branches_removed([(app_id, branch_name)])
        return app, branch

    def _drop_branch_content(self, app_id: str, branch: Branch) -> None:
        """Forget the cached zips and indexes of a deleted branch; its folder goes to the trash."""
        for job_id in branch.jobs:
            cached = self._zip_cache.pop(self.job_dir(app_id, branch.branch_name, job_id) / "site.zip", None)
            if cached:
                cached[0].close()
            self._name_index.pop((app_id, branch.branch_name, job_id), None)
        self._trash.append(self.content_dir / app_id / branch.key)

    def _branches_removed(self, removed: list[tuple[str, str]]) -> None:
        """Tell the HTTP layer (outside the lock) which branches are gone, so it stops their sites."""
        if self.on_branches_removed is not None and removed:
            self.on_branches_removed(removed)

    # ------------------------------------------------------------------ deployments
    def _check_manual(self, app: App) -> None:
        if app.repository:
            raise BadRequestException(
                f"App {app.app_id} is connected to the repository {app.repository}: manual deployments "
                "are only allowed for apps that are not connected to a repository."
            )

    def _check_no_unfinished(self, branch: Branch, now: float) -> None:
        last = branch.last_job()
        if last is not None and last.status(now) in UNFINISHED:
            raise BadRequestException(
                f"The last job(deployment) {last.job_id} was not finished, please wait until it finish or "
                "use StopJob operation to cancel it before creating a new deployment."
            )

    def _new_job(self, branch: Branch, mode: str, now: float) -> Job:
        job = Job(
            job_id=branch.next_job_id,
            mode=mode,
            create_time=now,
            secret=secrets.token_hex(32),
            url_date=_amz_date(now),
            url_expires=int(self.knobs.upload_url_expiry),
        )
        branch.next_job_id += 1
        branch.jobs[job.job_id] = job
        branch.update_time = now
        return job

    def _upload_url(self, branch: Branch, job: Job, slot: str) -> str:
        path = f"/_upload/{branch.app_id}/{branch.key}/{job.job_id}/{slot}"
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"ASIAEMULATOR000000000/{job.url_date[:8]}/{DEFAULT_REGION}/s3/aws4_request",
            "X-Amz-Date": job.url_date,
            "X-Amz-Expires": str(job.url_expires),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": _signature(job, path, job.url_date, str(job.url_expires)),
        }
        return f"{self.public_url}{path}?{urlencode(query)}"

    def create_deployment(
        self, app_id: str, branch_name: str, file_map: dict[str, str] | None
    ) -> tuple[Job, str, dict[str, str]]:
        """Returns the job, its zipUploadUrl ("" in fileMap mode) and its fileUploadUrls ({} in zip mode)."""
        if file_map is not None:
            if not isinstance(file_map, dict):
                raise BadRequestException("fileMap must be a map of file name to md5 hex digest.")
            for name, md5 in file_map.items():
                if not isinstance(name, str) or not 1 <= len(name) <= 255:
                    raise BadRequestException(f"fileMap key {str(name)[:80]!r}: a file name is 1..255 chars.")
                if not isinstance(md5, str) or not MD5_RE.match(md5):
                    raise BadRequestException(
                        f"fileMap value of {name!r}: an md5 hex digest of 32 hex characters is expected."
                    )
        with self._op() as now:
            branch = self._branch(app_id, branch_name)
            self._check_manual(self.apps[app_id])
            self._check_no_unfinished(branch, now)
            if file_map:
                job = self._new_job(branch, "FILES", now)
                job.file_map = dict(file_map)
                job.names = list(file_map)
                urls = {name: self._upload_url(branch, job, str(i)) for i, name in enumerate(job.names)}
                return job, "", urls
            job = self._new_job(branch, "ZIP", now)
            return job, self._upload_url(branch, job, "zip"), {}

    def _running_count(self, now: float) -> int:
        return sum(
            1
            for app in self.apps.values()
            for branch in app.branches.values()
            for job in branch.jobs.values()
            if job.started and job.status(now) in UNFINISHED
        )

    def _check_concurrency(self, now: float) -> None:
        running = self._running_count(now)
        if running >= self.knobs.max_concurrent_jobs:
            raise LimitExceededException(
                f"Too many concurrent jobs: {running} jobs are running in this account, the limit is "
                f"{self.knobs.max_concurrent_jobs}. Retry when one has finished."
            )

    def _plan_outcome(self, app_id: str, branch_name: str, job: Job) -> None:
        """Decide at start whether the job will fail: an injected failure or an incomplete upload."""
        if self.knobs.fail_next_jobs > 0:
            self.knobs.fail_next_jobs -= 1
            self.counters.inject("job_failed")
            job.failure = self.knobs.fail_reason
            return
        d = self.job_dir(app_id, branch_name, job.job_id)
        if job.mode == "FILES":
            missing = [n for i, n in enumerate(job.names) if not (d / "files" / str(i)).exists()]
            if missing:
                job.failure = (
                    f"Missing uploads: {len(missing)} of the {len(job.names)} files of the fileMap were "
                    f"not uploaded before StartDeployment (first: {missing[0]!r})."
                )
        elif not (d / "site.zip").exists():
            what = "the sourceUrl" if job.mode == "SOURCE_URL" else "the zipUploadUrl"
            job.failure = f"No zip was uploaded to {what} before StartDeployment; nothing to deploy."

    def _begin(self, app_id: str, branch_name: str, job: Job, now: float) -> None:
        job.start_time = now
        job.duration = float(self.knobs.job_duration)
        self._plan_outcome(app_id, branch_name, job)

    def start_deployment(
        self,
        app_id: str,
        branch_name: str,
        job_id: str | None,
        source_url: str | None = None,
        source_url_type: str | None = None,
    ) -> Job:
        if source_url is not None and job_id:
            raise BadRequestException("Give either jobId (after CreateDeployment) or sourceUrl, not both.")
        if source_url is not None:
            return self._start_from_source(app_id, branch_name, source_url, source_url_type or "ZIP")
        if not job_id:
            raise BadRequestException("jobId is required (or sourceUrl and sourceUrlType).")
        with self._op() as now:
            branch = self._branch(app_id, branch_name)
            self._check_manual(self.apps[app_id])
            job = self._job(branch, job_id)
            if job.mode == "SOURCE_URL" or job.started or job.final_status:
                raise BadRequestException(
                    f"Job {job_id} of branch {branch_name} was already started or stopped (status "
                    f"{job.status(now)}); only a job from CreateDeployment that was never started can be "
                    "started. Create a new deployment to deploy again."
                )
            if now - job.create_time > self.knobs.start_deadline:
                hours = self.knobs.start_deadline / 3600
                job.final_status = "FAILED"
                job.start_time = job.end_time = now
                job.status_reason = (
                    f"StartDeployment came {now - job.create_time:.0f} s after CreateDeployment, "
                    f"more than the {hours:g} hours allowed; create a new deployment."
                )
                self._trash.append(self.job_dir(app_id, branch_name, job.job_id))
                raise BadRequestException(f"Job {job_id}: {job.status_reason}")
            self._check_concurrency(now)
            self._begin(app_id, branch_name, job, now)
            return job

    def _start_from_source(self, app_id: str, branch_name: str, source_url: str, url_type: str) -> Job:
        if url_type not in ("ZIP", "BUCKET_PREFIX"):
            raise BadRequestException(f"sourceUrlType must be ZIP or BUCKET_PREFIX, got {url_type!r}.")
        if url_type == "BUCKET_PREFIX":
            raise BadRequestException(
                "sourceUrlType BUCKET_PREFIX is not supported by the Amplify emulator; use ZIP with an "
                "http URL of a zip, or CreateDeployment."
            )
        with self._op() as now:
            branch = self._branch(app_id, branch_name)
            self._check_manual(self.apps[app_id])
            self._check_no_unfinished(branch, now)
            self._check_concurrency(now)
            job = self._new_job(branch, "SOURCE_URL", now)
            job.source_url = source_url
            job.source_url_type = url_type
            job.provisioning = True
            dest = self.job_dir(app_id, branch_name, job.job_id) / "site.zip"
        error = _download_zip(source_url, dest)
        with self._op() as now:
            job.provisioning = False
            app = self.apps.get(app_id)
            if app is None or app.branches.get(branch_name) is not branch:  # deleted while downloading
                if app is None or branch_name not in app.branches:  # else the folder is the new branch's
                    self._trash.append(self.content_dir / app_id / branch.key)
                raise NotFoundException(
                    f"Branch {branch_name} of app {app_id} was deleted while its sourceUrl was downloaded."
                )
            if job.final_status:  # stopped while downloading
                return job
            self._begin(app_id, branch_name, job, now)
            if error:
                job.failure = error
            return job

    def get_job(self, app_id: str, branch_name: str, job_id: str) -> tuple[Job, float]:
        with self._op(mutating=False) as now:
            return self._job(self._branch(app_id, branch_name), job_id), now

    def list_jobs(
        self, app_id: str, branch_name: str, max_results: int | None, next_token: str | None
    ) -> tuple[list[Job], str | None, float]:
        """Newest first. ``nextToken`` is opaque: base64 of the id of the next job to list."""
        if max_results is not None and not 0 <= max_results <= 50:
            raise BadRequestException("maxResults must be between 0 and 50.")
        limit = max_results or 50
        start = None
        if next_token:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(next_token.encode()))["next"])
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise BadRequestException("Invalid nextToken.") from exc
        with self._op(mutating=False) as now:
            branch = self._branch(app_id, branch_name)
            ids = sorted((i for i in branch.jobs if start is None or i <= start), reverse=True)
            page = [branch.jobs[i] for i in ids[:limit]]
            token = None
            if len(ids) > limit:
                token = base64.urlsafe_b64encode(json.dumps({"next": ids[limit]}).encode()).decode()
            return page, token, now

    def stop_job(self, app_id: str, branch_name: str, job_id: str) -> tuple[Job, float]:
        with self._op() as now:
            branch = self._branch(app_id, branch_name)
            job = self._job(branch, job_id)
            status = job.status(now)
            if status not in UNFINISHED:
                raise BadRequestException(
                    f"Job {job_id} of branch {branch_name} is already {status}; only an unfinished job "
                    "can be stopped."
                )
            job.final_status = "CANCELLED"
            job.status_reason = "The job was cancelled by StopJob; the previous deployment stays live."
            job.end_time = now
            if job.start_time is None:
                job.start_time = now
            self._trash.append(self.job_dir(app_id, branch_name, job.job_id))
            return job, now

    # ------------------------------------------------------------------ progression
    def _advance(self, now: float) -> None:
        for app in self.apps.values():
            for branch in app.branches.values():
                for job in branch.jobs.values():
                    if job.final_status or job.start_time is None or job.provisioning:
                        continue
                    if now < job.start_time + job.duration:
                        continue
                    self._finish(app, branch, job)

    def _finish(self, app: App, branch: Branch, job: Job) -> None:
        assert job.start_time is not None
        self._dirty = True
        job.end_time = job.start_time + job.duration
        jdir = self.job_dir(app.app_id, branch.branch_name, job.job_id)
        if job.failure:
            job.final_status = "FAILED"
            job.status_reason = job.failure + " The previous deployment stays live."
            self._trash.append(jdir)
            return
        job.final_status = "SUCCEED"
        job.status_reason = "Deployment complete."
        previous = branch.live_job_id
        if previous is None or previous < job.job_id:
            branch.live_job_id = job.job_id
            if previous is not None:
                self._trash.append(self.job_dir(app.app_id, branch.branch_name, previous))
                old_zip = self.job_dir(app.app_id, branch.branch_name, previous) / "site.zip"
                cached = self._zip_cache.pop(old_zip, None)
                if cached:
                    cached[0].close()
                self._name_index.pop((app.app_id, branch.branch_name, previous), None)

    # ------------------------------------------------------------------ uploads
    def resolve_upload(self, path: str, query: dict[str, str]) -> UploadTarget:
        """Check an upload URL (signature, expiry, job state). Raises UploadError (S3-style)."""
        parts = path.split("/")
        if len(parts) != 6 or parts[:2] != ["", "_upload"]:
            raise UploadError(404, "NoSuchKey", "The specified key does not exist.")
        _, _, app_id, bkey, job_id, slot = parts
        with self._op(mutating=False) as now:
            app = self.apps.get(app_id)
            branch = next((b for b in app.branches.values() if b.key == bkey), None) if app else None
            job = branch.jobs.get(int(job_id)) if branch and job_id.isdigit() else None
            if app is None or branch is None or job is None:
                raise UploadError(403, "AccessDenied", "Access Denied (no such deployment).")
            date, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "")
            given = query.get("X-Amz-Signature", "")
            if not hmac.compare_digest(given, _signature(job, path, date, expires)):
                raise UploadError(
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided.",
                )
            if now > _parse_amz_date(date) + int(expires):
                raise UploadError(403, "AccessDenied", "Request has expired")
            if job.started or job.final_status:
                raise UploadError(
                    403,
                    "AccessDenied",
                    f"Access Denied: job {job.job_id} is already {job.status(now)}; its upload URLs are "
                    "closed (emulator rule).",
                )
            jdir = self.job_dir(app_id, branch.branch_name, job.job_id)
            if slot == "zip" and job.mode == "ZIP":
                return UploadTarget(app_id, branch.branch_name, job.job_id, slot, jdir / "site.zip", None)
            if job.mode == "FILES" and slot.isdigit() and int(slot) < len(job.names):
                assert job.file_map is not None
                md5 = job.file_map[job.names[int(slot)]].lower()
                return UploadTarget(app_id, branch.branch_name, job.job_id, slot, jdir / "files" / slot, md5)
            raise UploadError(403, "AccessDenied", "Access Denied (no such upload slot).")

    def upload_tmp_dir(self, target: UploadTarget) -> Path:
        d = self.job_dir(target.app_id, target.branch_name, target.job_id) / "tmp"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def finish_upload(self, target: UploadTarget, tmp: Path, md5: str) -> None:
        """Check the body (md5 / zip), then move it in place, unless the job was started meanwhile."""
        try:
            if target.expected_md5 is not None and md5 != target.expected_md5:
                raise UploadError(
                    400,
                    "BadDigest",
                    f"The md5 of the uploaded body ({md5}) does not match the fileMap's "
                    f"({target.expected_md5}).",
                )
            if target.slot == "zip":
                _check_zip(tmp)
            with self._op(mutating=False) as now:
                app = self.apps.get(target.app_id)
                branch = app.branches.get(target.branch_name) if app else None
                job = branch.jobs.get(target.job_id) if branch else None
                if job is None or job.started or job.final_status:
                    state = job.status(now) if job else "gone"
                    raise UploadError(403, "AccessDenied", f"Access Denied: the job is already {state}.")
                target.final_path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target.final_path)
                self.counters.uploads_accepted += 1
        finally:
            tmp.unlink(missing_ok=True)

    def bandwidth_delay(self, nbytes: int) -> float:
        """Seconds this chunk must wait so that all uploads together stay under upload_bandwidth."""
        with self.lock:
            self.counters.bytes_received += nbytes
            bw = self.knobs.upload_bandwidth
            if bw <= 0:
                return 0.0
            mono = time.monotonic()
            self._bandwidth_next = max(self._bandwidth_next, mono) + nbytes / bw
            delay = max(0.0, self._bandwidth_next - mono)
            self.counters.bandwidth_wait_seconds += delay
            return delay

    # ------------------------------------------------------------------ knobs consumed per request
    def take_api_fault(self, operation: str) -> tuple[str, Any] | None:
        """Count the call; return ("stall", seconds) or ("error", AmplifyError) if a knob says so."""
        with self.lock:
            self.counters.count(operation)
            k = self.knobs
            if k.stall_next_api_calls > 0:
                k.stall_next_api_calls -= 1
                self.counters.inject("api_stalled")
                return "stall", k.stall_seconds
            if k.throttle_next_api_calls > 0:
                k.throttle_next_api_calls -= 1
                self.counters.inject("throttled")
                err: AmplifyError
                if k.throttle_code == "LimitExceededException":
                    err = LimitExceededException("Rate exceeded (injected by the emulator's throttle knob).")
                else:
                    err = TooManyRequestsException(
                        "Too Many Requests (injected by the emulator's throttle knob)."
                    )
                return "error", err
            return None

    def take_upload_fault(self) -> tuple[str, float] | None:
        """Count the upload; return ("stall", s), ("drop", 0) or ("fail", 0) if a knob says so."""
        with self.lock:
            self.counters.count("Upload")
            k = self.knobs
            for knob, kind, counter in (
                ("stall_next_uploads", "stall", "upload_stalled"),
                ("drop_next_uploads", "drop", "upload_dropped"),
                ("fail_next_uploads", "fail", "upload_failed"),
            ):
                if getattr(k, knob) > 0:
                    setattr(k, knob, getattr(k, knob) - 1)
                    self.counters.inject(counter)
                    return kind, k.stall_seconds
            return None

    def add_latency(self) -> float:
        with self.lock:
            self.counters.latency_seconds += self.knobs.latency
            return self.knobs.latency

    # ------------------------------------------------------------------ the live sites
    def has_branch(self, app_id: str, branch_name: str) -> bool:
        with self.lock:
            app = self.apps.get(app_id)
            return app is not None and branch_name in app.branches

    def site_file(self, app_id: str, branch_name: str, rel: str) -> SiteFile | None:
        """The live file at ``rel`` (no leading '/'; '' or 'x/' mean index.html), or None."""
        with self._op(mutating=False):
            app = self.apps.get(app_id)
            branch = app.branches.get(branch_name) if app else None
            if branch is None or branch.live_job_id is None:
                return None
            job = branch.jobs[branch.live_job_id]
            jdir = self.job_dir(app_id, branch_name, job.job_id)
            if rel == "" or rel.endswith("/"):
                rel += "index.html"
            ctype = _content_type(rel)
            if job.mode == "FILES":
                key = (app_id, branch_name, job.job_id)
                index = self._name_index.get(key)
                if index is None:
                    index = {n.lstrip("/"): i for i, n in enumerate(job.names)}
                    self._name_index[key] = index
                slot = index.get(rel)
                if slot is None:
                    return None
                path = jdir / "files" / str(slot)
                return SiteFile(path.stat().st_size, ctype, lambda: open(path, "rb"))  # noqa: SIM115
            zpath = jdir / "site.zip"
            cached = self._zip_cache.get(zpath)
            if cached is None:
                zf = zipfile.ZipFile(zpath)
                names = {
                    i.filename.lstrip("/").removeprefix("./"): i for i in zf.infolist() if not i.is_dir()
                }
                cached = self._zip_cache[zpath] = (zf, names)
            zf, names = cached
            info = names.get(rel)
            if info is None:
                return None
            return SiteFile(info.file_size, ctype, lambda: zf.open(info))

    def site_has_dir(self, app_id: str, branch_name: str, rel: str) -> bool:
        return self.site_file(app_id, branch_name, rel.rstrip("/") + "/") is not None

    def job_log(self, app_id: str, bkey: str, job_id: str) -> str | None:
        with self._op(mutating=False) as now:
            app = self.apps.get(app_id)
            branch = next((b for b in app.branches.values() if b.key == bkey), None) if app else None
            job = branch.jobs.get(int(job_id)) if branch and job_id.isdigit() else None
            if job is None:
                return None
            lines = [
                f"app {app_id} branch {branch.branch_name} job {job.job_id} ({job.mode})",  # type: ignore[union-attr]
                f"created {_amz_date(job.create_time)}",
            ]
            if job.start_time is not None:
                lines.append(f"started {_amz_date(job.start_time)}")
            lines.append(f"status {job.status(now)}")
            if job.status_reason:
                lines.append(f"reason {job.status_reason}")
            return "\n".join(lines) + "\n"


def _signature(job: Job, path: str, date: str, expires: str) -> str:
    return hmac.new(job.secret.encode(), f"{path}\n{date}\n{expires}".encode(), hashlib.sha256).hexdigest()


def _check_branch_name(name: str) -> None:
    problem = branch_name_problem(name)
    if problem:
        raise BadRequestException(f"Invalid branchName {name[:80]!r}: it {problem}.")


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UploadError(
            400, "InvalidZip", f"The uploaded body is not a valid zip file ({exc}) (emulator rule)."
        ) from exc


def _content_type(name: str) -> str:
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "application/json", "image/svg+xml"):
        ctype += "; charset=utf-8"
    return ctype


def _download_zip(url: str, dest: Path) -> str | None:
    """Fetch a sourceUrl zip to ``dest`` (loopback http only). Returns an error text or None."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return (
            "The emulator only fetches a sourceUrl over http from 127.0.0.1/localhost; "
            f"could not fetch {parts.scheme}://{parts.hostname}/..."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    try:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target)
        resp = conn.getresponse()
        if resp.status != 200:
            return f"Could not download the sourceUrl: HTTP {resp.status} from {parts.hostname}."
        with open(tmp, "wb") as out:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        conn.close()
        _check_zip(tmp)
        os.replace(tmp, dest)
        return None
    except UploadError:
        return "The sourceUrl did not return a valid zip file."
    except OSError as exc:
        return f"Could not download the sourceUrl: {type(exc).__name__}."
    finally:
        tmp.unlink(missing_ok=True)
