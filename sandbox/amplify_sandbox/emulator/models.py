"""The state model of the emulated Amplify Hosting: apps, branches, jobs and the service's rules.

Nothing here speaks HTTP, and nothing here imports the HTTP layer (server, urls, responses, uploads,
admin, site): responses.py parses requests into the typed arguments of :class:`AmplifyBackend`'s
operations and serialises what they return; server.py moves the bytes.
Every operation takes the backend's one re-entrant lock itself; what it returns is either immutable
or a snapshot taken under that lock (:class:`JobView`).

Jobs progress lazily: every call first advances the started jobs according to the clock, so a fake
clock gives fully deterministic tests and no timer thread is needed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from amplify_deployment_handler.rules import app_id_problem, branch_name_problem

from . import domains, held_files, jobs, paging, signing
from .clock import Clock
from .content import SiteFile, SiteIndex, SiteSettings, site_settings
from .exceptions import (
    BadRequestException,
    LimitExceededException,
    NotFoundException,
    ResourceNotFoundException,
    UploadError,
)
from .faults import Faults
from .jobs import Deployment, Job, JobView, UploadTarget, upload_target
from .knobs import Knobs
from .source_url import download_zip
from .state import ACCOUNT_ID, App, Branch, Settings, app_from_dict, parse_arn
from .store import StateStore

DEFAULT_REGION = "us-east-1"
MAX_BRANCHES_PER_APP = 50
#: tags on one app or branch (the model's TagMap: at most 50)
MAX_TAGS = 50


class AmplifyBackend:
    """All state of the emulated service and its rules. Thread-safe: one lock around everything.

    ``store_dir`` holds the uploads and live content (``content/``) and, when ``persist`` is true,
    ``state.json``: a later backend on the same folder sees the same apps, branches, jobs and sites.
    """

    def __init__(self, store_dir: Path, *, persist: bool = False, clock: Clock | None = None) -> None:
        self.store = StateStore(store_dir, persist)
        self.store_dir = self.store.store_dir
        self.content_dir = self.store.content_dir
        self.clock: Clock = clock or time.time
        self.faults = Faults()
        #: the base URL (no trailing slash) of the HTTP server, used in upload and log URLs
        self.public_url = "http://127.0.0.1:0"
        self._lock = threading.RLock()
        self._trash: list[Path] = []
        self._dirty = False
        self._sites = SiteIndex()
        #: called (outside the lock) with the (app id, branch name) pairs DeleteApp/DeleteBranch removed
        self.on_branches_removed: Callable[[list[tuple[str, str]]], None] | None = None
        #: called (outside the lock) with the (app id, domain name) pairs DeleteDomainAssociation or
        #: DeleteApp removed
        self.on_domains_removed: Callable[[list[tuple[str, str]]], None] | None = None
        self.apps: dict[str, App] = {k: app_from_dict(v) for k, v in self.store.load().items()}
        #: the sourceUrl download threads in flight, and the event that interrupts them
        self._downloads: set[threading.Thread] = set()
        self._download_socks: dict[threading.Thread, socket.socket] = {}
        self._closing = threading.Event()
        self._fail_interrupted_downloads()

    # ------------------------------------------------------------------ plumbing
    @property
    def knobs(self) -> Knobs:
        return self.faults.knobs

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        return self.faults.set_knobs(**values)

    def now(self) -> float:
        return self.clock() + self.knobs.clock_offset

    @contextlib.contextmanager
    def _op(self, mutating: bool = True) -> Iterator[float]:
        """Lock, advance jobs, yield now; afterwards save (if persisting) and delete dropped content.

        A read-only operation saves only when advancing the jobs changed something.
        """
        with self._lock:
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

    def _save(self) -> None:
        self._dirty = False
        if self.store.persist:
            self.store.save({k: asdict(v) for k, v in self.apps.items()})

    def close(self) -> None:
        self._stop_downloads()
        with self._lock:
            self._sites.clear()
            self.store.close()

    def reset(self) -> None:
        """Forget every app, branch, job and upload; knobs and counters back to their defaults."""
        self._stop_downloads()
        with self._lock:
            self._sites.clear()
            self.apps.clear()
            self.faults.reset()
            self.store.clear_content()
            self._save()

    def job_dir(self, app_id: str, branch_name: str, job_id: int) -> Path:
        return self.store.job_dir(app_id, branch_name, job_id)

    # ------------------------------------------------------------------ lookups
    def _app(self, app_id: str, region: str | None = None) -> App:
        """The app ``app_id`` of ``region`` (None: of any Region). Apps are kept per Region: an app of
        another Region is not found, as on AWS (ledger A8)."""
        problem = app_id_problem(app_id)
        if problem:
            raise BadRequestException(f"Invalid appId {app_id[:40]!r}: it {problem}.")
        app = self.apps.get(app_id)
        if app is None or (region is not None and app.region != region):
            raise NotFoundException(f"App {app_id} not found.")
        return app

    def _branch(self, app_id: str, branch_name: str, region: str | None = None) -> Branch:
        app = self._app(app_id, region)
        check_branch_name(branch_name)
        branch = app.branches.get(branch_name)
        if branch is None:
            raise NotFoundException(f"Branch {branch_name} not found for app {app_id}.")
        return branch

    def _job(self, branch: Branch, job_id: str) -> Job:
        job = branch.jobs.get(jobs.parse_job_id(job_id))
        if job is None:
            raise NotFoundException(
                f"Job {job_id} not found for branch {branch.branch_name} of app {branch.app_id}."
            )
        return job

    def _by_key(self, app_id: str, bkey: str, job_id: str) -> tuple[Branch, Job] | None:
        """The branch and job an upload or log URL names (by branch key), or None."""
        app = self.apps.get(app_id)
        branch = next((b for b in app.branches.values() if b.key == bkey), None) if app else None
        job = branch.jobs.get(int(job_id)) if branch and job_id.isdigit() else None
        return None if branch is None or job is None else (branch, job)

    def _view(self, branch: Branch, job: Job, now: float) -> JobView:
        return JobView(
            app_id=branch.app_id,
            app_arn=self.apps[branch.app_id].arn,
            branch_name=branch.branch_name,
            job=dataclasses.replace(job),
            status=job.status(now),
            now=now,
            log_url=f"{self.public_url}/_sandbox/logs/{branch.app_id}/{branch.key}/{job.job_id}",
            start_shown=job.create_time
            if job.start_time is None or self.knobs.job_start_time == "at_creation"
            else job.start_time,
        )

    # ------------------------------------------------------------------ apps and branches
    def create_app(
        self,
        name: str,
        settings: Settings,
        *,
        region: str = DEFAULT_REGION,
        repository: str = "",
        tags: dict[str, str] | None = None,
    ) -> App:
        with self._op() as now:
            app_id = "d" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(13))
            app = App(
                app_id=app_id,
                name=name,
                region=region,
                create_time=now,
                update_time=now,
                repository=repository,
                tags=dict(tags or {}),
            )
            for attr, value in settings.items():
                setattr(app, attr, value)
            self.apps[app_id] = app
            return app

    def get_app(self, app_id: str, *, region: str | None = None) -> App:
        with self._op(mutating=False):
            return self._app(app_id, region)

    def list_apps(
        self, max_results: int | None, next_token: str | None, *, region: str | None = None
    ) -> tuple[list[App], str | None]:
        """The apps of ``region``, oldest first, at most ``max_results`` (0..100; 0 or None: 100)."""
        limit = paging.limit(max_results, 100)
        with self._op(mutating=False):
            apps = [a for a in self.apps.values() if region is None or a.region == region]
            return paging.page(apps, _app_order, limit, next_token)

    def update_app(self, app_id: str, settings: Settings, *, region: str | None = None) -> App:
        """Set the given attributes; the others stay (assumption)."""
        with self._op() as now:
            app = self._app(app_id, region)
            for attr, value in settings.items():
                setattr(app, attr, value)
            app.update_time = now
            return app

    def delete_app(self, app_id: str, *, region: str | None = None) -> App:
        """Delete the app with its branches, their jobs and live content (their sites stop)."""
        with self._op():
            app = self._app(app_id, region)
            del self.apps[app_id]
            for branch in app.branches.values():
                self._drop_branch_content(app_id, branch)
            self._trash.append(self.content_dir / app_id)
        self._branches_removed([(app_id, name) for name in app.branches])
        self._domains_removed([(app_id, name) for name in app.domains])
        return app

    def create_branch(
        self,
        app_id: str,
        branch_name: str,
        settings: Settings,
        tags: dict[str, str] | None = None,
        *,
        region: str | None = None,
    ) -> tuple[App, Branch]:
        check_branch_name(branch_name)
        with self._op() as now:
            app = self._app(app_id, region)
            if branch_name in app.branches:
                raise BadRequestException(f"Branch {branch_name} already exists for app {app_id}.")
            if len(app.branches) >= MAX_BRANCHES_PER_APP:
                raise LimitExceededException(
                    f"App {app_id} already has {MAX_BRANCHES_PER_APP} branches (the service quota)."
                )
            branch = Branch(
                app_id=app_id,
                branch_name=branch_name,
                create_time=now,
                update_time=now,
                tags=dict(tags or {}),
            )
            for attr, value in settings.items():
                setattr(branch, attr, value)
            branch.display_name = branch.display_name or branch_name.replace("/", "-")
            app.branches[branch_name] = branch
            return app, branch

    def get_branch(self, app_id: str, branch_name: str, *, region: str | None = None) -> tuple[App, Branch]:
        with self._op(mutating=False):
            branch = self._branch(app_id, branch_name, region)
            return self.apps[app_id], branch

    def list_branches(
        self, app_id: str, max_results: int | None, next_token: str | None, *, region: str | None = None
    ) -> tuple[App, list[Branch], str | None]:
        """The app's branches, oldest first, at most ``max_results`` (0..50; 0 or None: 50)."""
        limit = paging.limit(max_results, 50)
        with self._op(mutating=False):
            app = self._app(app_id, region)
            branches, token = paging.page(list(app.branches.values()), _branch_order, limit, next_token)
            return app, branches, token

    def update_branch(
        self, app_id: str, branch_name: str, settings: Settings, *, region: str | None = None
    ) -> tuple[App, Branch]:
        """Set the given attributes; the others stay (assumption)."""
        with self._op() as now:
            branch = self._branch(app_id, branch_name, region)
            for attr, value in settings.items():
                setattr(branch, attr, value)
            branch.display_name = branch.display_name or branch_name.replace("/", "-")
            branch.update_time = now
            return self.apps[app_id], branch

    def delete_branch(
        self, app_id: str, branch_name: str, *, region: str | None = None
    ) -> tuple[App, Branch]:
        """Delete the branch, its jobs (unfinished ones too) and its live content; its site stops."""
        with self._op():
            branch = self._branch(app_id, branch_name, region)
            app = self.apps[app_id]
            del app.branches[branch_name]
            self._drop_branch_content(app_id, branch)
        self._branches_removed([(app_id, branch_name)])
        return app, branch

    def _drop_branch_content(self, app_id: str, branch: Branch) -> None:
        """Forget the cached zips and indexes of a deleted branch; its folder goes to the trash."""
        for job_id in branch.jobs:
            self._sites.forget(self.job_dir(app_id, branch.branch_name, job_id))
        self._trash.append(self.store.branch_dir(app_id, branch.branch_name))

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

    def _new_job(self, branch: Branch, mode: str, now: float) -> Job:
        job = jobs.new_job(branch.next_job_id, mode, now, int(self.knobs.upload_url_expiry))
        job.unstarted_status = self.knobs.unstarted_status
        job.md5_signed = mode == "FILES" and self.knobs.upload_content_md5 == "required"
        branch.next_job_id += 1
        branch.jobs[job.job_id] = job
        branch.update_time = now
        return job

    def _upload_url(self, branch: Branch, job: Job, slot: str) -> str:
        address = signing.UploadAddress(branch.app_id, branch.key, str(job.job_id), slot)
        return signing.presign(
            self.public_url,
            address,
            job.secret,
            job.url_date,
            job.url_expires,
            DEFAULT_REGION,
            job.md5_signed,
        )

    def create_deployment(
        self, app_id: str, branch_name: str, file_map: dict[str, str] | None, *, region: str | None = None
    ) -> Deployment:
        """A new job: zip mode without a fileMap (or with an empty one), else one upload URL per file."""
        with self._op() as now:
            branch = self._branch(app_id, branch_name, region)
            self._check_manual(self.apps[app_id])
            jobs.check_no_unfinished(branch.last_job(), now)
            if file_map:
                job = self._new_job(branch, "FILES", now)
                job.file_map = dict(file_map)
                job.names = list(file_map)
                held = self._held_files(branch, job)
                urls = {
                    name: self._upload_url(branch, job, str(i))
                    for i, name in enumerate(job.names)
                    if name not in held
                }
                return Deployment(job.job_id, "", urls)
            job = self._new_job(branch, "ZIP", now)
            return Deployment(job.job_id, self._upload_url(branch, job, "zip"), {})

    def _held_files(self, branch: Branch, job: Job) -> set[str]:
        """Knob file_upload_urls=changed: the fileMap names whose md5 the live deployment holds, carried
        over into ``job`` (they get no upload URL; held_files.py); none with the default ``all``."""
        if self.knobs.file_upload_urls != "changed" or branch.live_job_id is None:
            return set()
        live = branch.jobs[branch.live_job_id]
        live_dir = self.job_dir(branch.app_id, branch.branch_name, live.job_id)
        return held_files.carry_over(
            job, self.job_dir(branch.app_id, branch.branch_name, job.job_id), live, live_dir
        )

    def _every_job(self) -> Iterator[Job]:
        return (j for a in self.apps.values() for b in a.branches.values() for j in b.jobs.values())

    def _check_concurrency(self) -> None:
        """A start beyond the concurrent-jobs quota: refused (LimitExceeded) or queued (knob)."""
        if self.knobs.over_limit_start == "refused":
            jobs.check_concurrency(self._every_job(), self.knobs.max_concurrent_jobs)

    def _begin(self, app_id: str, branch_name: str, job: Job, now: float) -> None:
        jdir = self.job_dir(app_id, branch_name, job.job_id)
        slot = (
            self.knobs.over_limit_start == "refused"
            or jobs.slots_taken(self._every_job()) < self.knobs.max_concurrent_jobs
        )
        jobs.start(job, now, float(self.knobs.job_duration), self.faults.job_failure(), jdir, slot)

    def start_deployment(
        self,
        app_id: str,
        branch_name: str,
        job_id: str | None,
        source_url: str | None = None,
        source_url_type: str | None = None,
        *,
        region: str | None = None,
    ) -> JobView:
        if source_url is not None and job_id:
            raise BadRequestException("Give either jobId (after CreateDeployment) or sourceUrl, not both.")
        if source_url is not None:
            return self._start_from_source(app_id, branch_name, source_url, source_url_type or "ZIP", region)
        if not job_id:
            raise BadRequestException("Must specify jobId or sourceUrl for StartDeploymentRequest.")
        with self._op() as now:
            branch = self._branch(app_id, branch_name, region)
            self._check_manual(self.apps[app_id])
            job = self._job(branch, job_id)
            jobs.check_startable(job, job_id, branch_name, now)
            late = jobs.fail_if_late(job, now, self.knobs.start_deadline)
            if late:
                self._trash.append(self.job_dir(app_id, branch_name, job.job_id))
                raise BadRequestException(f"Job {job_id}: {late}")
            self._check_concurrency()
            self._begin(app_id, branch_name, job, now)
            return self._view(branch, job, now)

    def _start_from_source(
        self, app_id: str, branch_name: str, source_url: str, url_type: str, region: str | None
    ) -> JobView:
        """Create the job and answer at once, PROVISIONING; the zip downloads in a thread of its own
        (ledger Q5), after which the job starts like an uploaded one."""
        if url_type not in ("ZIP", "BUCKET_PREFIX"):
            raise BadRequestException(f"sourceUrlType must be ZIP or BUCKET_PREFIX, got {url_type!r}.")
        if url_type == "BUCKET_PREFIX":
            raise BadRequestException(
                "sourceUrlType BUCKET_PREFIX is not supported by the Amplify emulator; use ZIP with an "
                "http URL of a zip, or CreateDeployment."
            )
        with self._op() as now:
            branch = self._branch(app_id, branch_name, region)
            self._check_manual(self.apps[app_id])
            jobs.check_no_unfinished(branch.last_job(), now)
            self._check_concurrency()
            job = self._new_job(branch, "SOURCE_URL", now)
            job.source_url = source_url
            job.source_url_type = url_type
            job.provisioning = True
            # a private file: a branch deleted and made again meanwhile has a job of the same id
            dest = self.content_dir / ".downloads" / f"{job.secret[:24]}.zip"
            thread = threading.Thread(
                target=self._download, args=(branch, job, dest), name=f"amplify-source-{app_id}", daemon=True
            )
            self._downloads.add(thread)
            thread.start()
            return self._view(branch, job, now)

    def _pace(self, nbytes: int) -> bool:
        """Hold a sourceUrl download to the ``source_url_bandwidth`` knob, read again every 50 ms (so a
        changed cap applies at once); False once the backend closes."""
        owed = float(nbytes)
        while owed > 0 and (cap := self.knobs.source_url_bandwidth) > 0:
            step = min(owed, cap * 0.05)
            if self._closing.wait(step / cap):
                return False
            owed -= step
        return not self._closing.is_set()

    def _opened(self, sock: socket.socket) -> None:
        self._download_socks[threading.current_thread()] = sock
        if self._closing.is_set():
            _cut(sock)

    def _download(self, branch: Branch, job: Job, dest: Path) -> None:
        """The download thread of a sourceUrl job: fetch, then start the job (or let it fail)."""
        try:
            error = download_zip(job.source_url or "", dest, self._pace, self._opened)
            if self._closing.is_set():
                return
            with self._op() as now:
                job.provisioning = False
                app = self.apps.get(branch.app_id)
                if app is None or app.branches.get(branch.branch_name) is not branch or job.final_status:
                    return  # deleted or stopped while downloading: nothing left to start
                if error is None:
                    jdir = self.job_dir(branch.app_id, branch.branch_name, job.job_id)
                    jdir.mkdir(parents=True, exist_ok=True)
                    dest.replace(jdir / "site.zip")
                self._begin(branch.app_id, branch.branch_name, job, now)
                if error:
                    job.failure = error
        finally:
            dest.unlink(missing_ok=True)
            self._downloads.discard(threading.current_thread())
            self._download_socks.pop(threading.current_thread(), None)

    def _stop_downloads(self) -> None:
        """Interrupt the sourceUrl downloads in flight and wait (briefly) for their threads."""
        self._closing.set()
        for sock in list(self._download_socks.values()):
            _cut(sock)
        for thread in list(self._downloads):
            thread.join(timeout=5)
        self._closing.clear()

    def _fail_interrupted_downloads(self) -> None:
        """A persisted job still PROVISIONING lost its download when its emulator stopped: FAILED."""
        now = self.now()
        for app in self.apps.values():
            for branch in app.branches.values():
                for job in branch.jobs.values():
                    if job.provisioning and not job.final_status:
                        job.provisioning = False
                        job.final_status = "FAILED"
                        job.start_time = job.end_time = now
                        job.status_reason = (
                            "The emulator stopped while it downloaded the sourceUrl; deploy again. The "
                            "previous deployment stays live."
                        )

    def get_job(self, app_id: str, branch_name: str, job_id: str, *, region: str | None = None) -> JobView:
        with self._op(mutating=False) as now:
            branch = self._branch(app_id, branch_name, region)
            return self._view(branch, self._job(branch, job_id), now)

    def list_jobs(
        self,
        app_id: str,
        branch_name: str,
        max_results: int | None,
        next_token: str | None,
        *,
        region: str | None = None,
    ) -> tuple[list[JobView], str | None]:
        """Newest first. ``nextToken`` is opaque: base64 of the id of the next job to list."""
        if max_results is not None and not 0 <= max_results <= 50:
            raise BadRequestException("maxResults must be between 0 and 50.")
        limit = max_results or 50
        start = jobs.decode_page_token(next_token) if next_token else None
        with self._op(mutating=False) as now:
            branch = self._branch(app_id, branch_name, region)
            ids = sorted((i for i in branch.jobs if start is None or i <= start), reverse=True)
            page = [self._view(branch, branch.jobs[i], now) for i in ids[:limit]]
            return page, jobs.encode_page_token(ids[limit]) if len(ids) > limit else None

    def stop_job(self, app_id: str, branch_name: str, job_id: str, *, region: str | None = None) -> JobView:
        with self._op() as now:
            branch = self._branch(app_id, branch_name, region)
            job = self._job(branch, job_id)
            jobs.cancel(job, job_id, branch_name, now)
            self._trash.append(self.job_dir(app_id, branch_name, job.job_id))
            return self._view(branch, job, now)

    def job_by_key(self, app_id: str, bkey: str, job_id: str) -> JobView | None:
        """The job a log URL names (its branch by key), or None."""
        with self._op(mutating=False) as now:
            found = self._by_key(app_id, bkey, job_id)
            return None if found is None else self._view(*found, now)

    # ------------------------------------------------------------------ tags
    def _tagged(self, arn: str, region: str | None) -> App | Branch:
        """The app or branch an ARN names (ResourceNotFoundException when none, or of another Region)."""
        found = parse_arn(arn)
        app = self.apps.get(found[1]) if found else None
        if found is None or app is None or app.region != found[0] or region not in (None, found[0]):
            raise ResourceNotFoundException(f"Resource {arn[:200]} not found.")
        if found[2] is None:
            return app
        branch = app.branches.get(found[2])
        if branch is None:
            raise ResourceNotFoundException(f"Resource {arn[:200]} not found.")
        return branch

    def list_tags(self, arn: str, *, region: str | None = None) -> dict[str, str]:
        with self._op(mutating=False):
            return dict(self._tagged(arn, region).tags)

    def tag_resource(self, arn: str, tags: dict[str, str], *, region: str | None = None) -> None:
        """Add or replace the given tags; at most 50 tags on a resource (model TagMap)."""
        with self._op():
            resource = self._tagged(arn, region)
            merged = {**resource.tags, **tags}
            if len(merged) > MAX_TAGS:
                raise BadRequestException(
                    f"Resource {arn[:200]} would have {len(merged)} tags; at most {MAX_TAGS} are allowed."
                )
            resource.tags = merged

    def untag_resource(self, arn: str, keys: list[str], *, region: str | None = None) -> None:
        """Remove the given tag keys (a key it does not have is ignored: assumption)."""
        with self._op():
            resource = self._tagged(arn, region)
            resource.tags = {k: v for k, v in resource.tags.items() if k not in keys}

    # ------------------------------------------------------------------ custom domains (domains.py)
    def _domain(self, app_id: str, domain_name: str, region: str | None = None) -> domains.DomainAssociation:
        found = self._app(app_id, region).domains.get(domain_name)
        if found is None:
            raise NotFoundException(f"Domain {domain_name} not found for app {app_id}.")
        return found

    def create_domain_association(
        self, app_id: str, body: dict[str, Any], *, region: str | None = None
    ) -> tuple[domains.DomainAssociation, float]:
        name = domains.check_domain_name(body.get("domainName"))
        with self._op() as now:
            app = self._app(app_id, region)
            for other in self.apps.values():
                if name in other.domains:
                    raise BadRequestException(f"Domain {name} is already associated with app {other.app_id}.")
            if body.get("subDomainSettings") is None:
                raise BadRequestException("subDomainSettings is required.")
            settings = domains.sub_domain_settings(body["subDomainSettings"], app.branches, app_id)
            domain = domains.new_association(
                app_id,
                app.region,
                ACCOUNT_ID,
                name,
                settings,
                domains.certificate_settings(body.get("certificateSettings")),
                now,
                float(self.knobs.domain_step_seconds),
                self.knobs.domain_verification,
            )
            for attr, value in domains.auto_settings(body).items():
                setattr(domain, attr, value)
            app.domains[name] = domain
            return domain, now

    def get_domain_association(
        self, app_id: str, domain_name: str, *, region: str | None = None
    ) -> tuple[domains.DomainAssociation, float]:
        with self._op(mutating=False) as now:
            return self._domain(app_id, domain_name, region), now

    def list_domain_associations(
        self, app_id: str, max_results: int | None, next_token: str | None, *, region: str | None = None
    ) -> tuple[list[domains.DomainAssociation], float, str | None]:
        if max_results is not None and not 0 <= max_results <= 50:
            raise BadRequestException("maxResults must be between 0 and 50.")
        start = domains.decode_page_token(next_token) if next_token else 0
        limit = max_results or 50
        with self._op(mutating=False) as now:
            listed = list(self._app(app_id, region).domains.values())
            page = listed[start : start + limit]
            more = start + limit < len(listed)
            return page, now, domains.encode_page_token(start + limit) if more else None

    def update_domain_association(
        self, app_id: str, domain_name: str, body: dict[str, Any], *, region: str | None = None
    ) -> tuple[domains.DomainAssociation, float]:
        with self._op() as now:
            app = self._app(app_id, region)
            domain = self._domain(app_id, domain_name, region)
            settings = body.get("subDomainSettings")
            certificate = body.get("certificateSettings")
            domains.update(
                domain,
                domains.sub_domain_settings(settings, app.branches, app_id) if settings is not None else None,
                domains.certificate_settings(certificate) if certificate is not None else None,
                domains.auto_settings(body),
                now,
                float(self.knobs.domain_step_seconds),
                self.knobs.domain_verification,
            )
            return domain, now

    def delete_domain_association(
        self, app_id: str, domain_name: str, *, region: str | None = None
    ) -> tuple[domains.DomainAssociation, float]:
        with self._op() as now:
            domain = self._domain(app_id, domain_name, region)
            del self.apps[app_id].domains[domain_name]
        self._domains_removed([(app_id, domain_name)])
        return domain, now

    def _domains_removed(self, removed: list[tuple[str, str]]) -> None:
        if self.on_domains_removed is not None and removed:
            self.on_domains_removed(removed)

    def app_hosts(self, app_id: str) -> dict[str, tuple[str, str, str]] | None:
        """Every host of the app's custom domains -> (branch name, domain name, domain status now), in
        the order the domains and their sub-domains were given; None: no such app."""
        with self._op(mutating=False) as now:
            app = self.apps.get(app_id)
            if app is None:
                return None
            return {
                domain.host_of(s["prefix"].lower()): (s["branchName"], name, domain.status(now))
                for name, domain in app.domains.items()
                for s in domain.sub_domains
            }

    # ------------------------------------------------------------------ progression
    def _advance(self, now: float) -> None:
        """Bring the jobs to ``now``: finish each due job in the order of its end, and give the slot it
        frees, at that moment, to the oldest queued job (which may then be due itself); then give any
        slot still free (the quota raised by a knob) to queued jobs."""
        while True:
            due = [
                (job.due, app, branch, job)
                for app in self.apps.values()
                for branch in app.branches.values()
                for job in branch.jobs.values()
                if job.due is not None and job.due <= now
            ]
            if not due:
                if not jobs.admit_queued(self._every_job(), now, self.knobs.max_concurrent_jobs):
                    return
                self._dirty = True
                continue
            freed_at, app, branch, job = min(due, key=lambda d: (d[0], d[3].job_id))
            self._finish(app, branch, job)
            jobs.admit_queued(self._every_job(), freed_at, self.knobs.max_concurrent_jobs)

    def _finish(self, app: App, branch: Branch, job: Job) -> None:
        """End a job; a success replaces the live content whole, a failure drops its uploads."""
        self._dirty = True
        jdir = self.job_dir(app.app_id, branch.branch_name, job.job_id)
        if not jobs.finish(job):
            self._trash.append(jdir)
            return
        previous = branch.live_job_id
        if previous is None or previous < job.job_id:
            branch.live_job_id = job.job_id
            if previous is not None:
                old = self.job_dir(app.app_id, branch.branch_name, previous)
                self._trash.append(old)
                self._sites.forget(old)

    # ------------------------------------------------------------------ uploads
    def resolve_upload(self, address: signing.UploadAddress, signed: signing.Presigned) -> UploadTarget:
        """Check an upload URL (signature, expiry, job state). Raises UploadError (S3-style)."""
        with self._op(mutating=False) as now:
            found = self._by_key(address.app_id, address.branch_key, address.job_id)
            if found is None:
                raise UploadError(403, "AccessDenied", "Access Denied (no such deployment).")
            branch, job = found
            signing.verify(job.secret, address, signed, now)
            jdir = self.job_dir(branch.app_id, branch.branch_name, job.job_id)
            return upload_target(job, branch.app_id, branch.branch_name, address.slot, jdir, now)

    def upload_tmp_dir(self, target: UploadTarget) -> Path:
        d = self.job_dir(target.app_id, target.branch_name, target.job_id) / "tmp"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def commit_upload(self, target: UploadTarget, tmp: Path) -> None:
        """Move a checked body in place, unless its job was started, stopped or deleted meanwhile."""
        with self._op(mutating=False) as now:
            app = self.apps.get(target.app_id)
            branch = app.branches.get(target.branch_name) if app else None
            job = branch.jobs.get(target.job_id) if branch else None
            if job is None or job.started or job.final_status:
                state = job.status(now) if job else "gone"
                raise UploadError(403, "AccessDenied", f"Access Denied: the job is already {state}.")
            target.final_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(target.final_path)
            self.faults.count("uploads_accepted")

    # ------------------------------------------------------------------ the live sites
    def has_branch(self, app_id: str, branch_name: str) -> bool:
        with self._lock:
            app = self.apps.get(app_id)
            return app is not None and branch_name in app.branches

    def site_settings(self, app_id: str, branch_name: str) -> SiteSettings | None:
        """What the branch's site server applies (rules, headers, basic auth), or None: no such branch."""
        with self._op(mutating=False):
            app = self.apps.get(app_id)
            branch = app.branches.get(branch_name) if app else None
            return None if app is None or branch is None else site_settings(app, branch)

    def site_file(self, app_id: str, branch_name: str, name: str) -> SiteFile | None:
        """The file ``name`` (no leading '/') of the branch's live content, or None."""
        with self._op(mutating=False):
            app = self.apps.get(app_id)
            branch = app.branches.get(branch_name) if app else None
            if branch is None or branch.live_job_id is None:
                return None
            job = branch.jobs[branch.live_job_id]
            jdir = self.job_dir(app_id, branch_name, job.job_id)
            if job.mode == "FILES":
                return self._sites.file_of_map(jdir, job.names, name)
            return self._sites.file_of_zip(jdir / "site.zip", name)


def _app_order(app: App) -> paging.SortKey:
    return app.create_time, app.app_id


def _branch_order(branch: Branch) -> paging.SortKey:
    return branch.create_time, branch.branch_name


def _cut(sock: socket.socket) -> None:
    """Unblock a download's read by shutting its socket down."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def check_branch_name(name: str) -> None:
    problem = branch_name_problem(name)
    if problem:
        raise BadRequestException(f"Invalid branchName {name[:80]!r}: it {problem}.")
