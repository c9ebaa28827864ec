"""The upload modes: how the site's bytes reach Amplify, one small object each.

| mode | prepare (before any job exists) | CreateDeployment | upload |
| --- | --- | --- | --- |
| `ZipDirect` | check the zip's size | no fileMap | the source object, S3 GET streamed into the PUT |
| `ZipMerged` | build the merged zip in /tmp | no fileMap | the spool file, streamed |
| `Files` | md5 pass (`files_pass`) | fileMap path -> md5 | one PUT per file, in parallel (`files_upload`) |
| `Pull` | check the zip's size (HeadObject only) | none | none: StartDeployment with a presigned sourceUrl |

deploy() calls `prepare()` before any job exists, then (when `creates_deployment`) CreateDeployment
with `file_map()` and `upload()` with its answer, then StartDeployment, and `close()` at the end
whatever happened. In a mode whose `creates_deployment` is False (`Pull`), Amplify fetches the zip
itself: no CreateDeployment, no upload, StartDeployment with the mode's `start_source()`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import plan as planning
from .deadline import Deadline
from .files_pass import md5_pass
from .files_upload import guard, upload_files
from .logs import Progress, event
from .merged_zip import Spool, prepare_spool, spool_chunks
from .props import FILES, DeploymentProps
from .pull import presigned_source
from .s3io import object_chunks, s3_label
from .settings import Settings
from .sources import Source
from .upload import UploadError, put


@dataclass(frozen=True)
class Site:
    """What every mode works from: the planned site and where its bytes are."""

    s3: Any
    props: DeploymentProps
    sources: Sequence[Source]
    plan: planning.Plan
    deadline: Deadline
    settings: Settings


class UploadMode:
    """The common interface; each mode overrides what it needs."""

    label = ""  # the `mode` of the plan log line
    creates_deployment = True  # False: no CreateDeployment/upload(); StartDeployment with start_source()

    def __init__(self, site: Site) -> None:
        self.site = site
        self.byte_count = site.plan.byte_count  # the site's bytes (after markers), known after prepare()

    def prepare(self) -> None:
        """Everything that can fail or take long before a job exists (a job would block the branch)."""

    def file_map(self) -> dict[str, str] | None:
        """CreateDeployment's fileMap (path -> md5 hex); None: one zip (zipUploadUrl)."""
        return None

    def upload(self, created: Mapping[str, Any]) -> None:
        """Send the site to the upload URL(s) of the CreateDeployment answer `created`."""
        raise NotImplementedError

    def start_source(self) -> Mapping[str, str]:
        """StartDeployment's `sourceUrl` and `sourceUrlType`, for a mode that creates no deployment."""
        raise NotImplementedError(f"{self.label} uploads through CreateDeployment")

    def describe_source(self) -> str:
        """What start_source() names, for the logs: never the URL itself (a credential)."""
        return "the mode's sourceUrl"

    def close(self) -> None:
        """Release what prepare() made (a spool file); called whatever happened."""


class Pull(UploadMode):
    """One source zip, no markers: Amplify fetches it by a presigned GET URL (pull.py); the handler
    moves no byte. `site.plan` is empty: the zip is not listed (HeadObject only)."""

    label = "PULL"
    creates_deployment = False

    def prepare(self) -> None:
        planning.check_zip_size(self.site.sources[0].size, "the source zip")

    def start_source(self) -> Mapping[str, str]:
        src = self.site.sources[0]
        return presigned_source(self.site.s3, src.bucket, src.key, self.site.deadline)

    def describe_source(self) -> str:
        src = self.site.sources[0]
        return f"presigned GET of {s3_label(src.bucket, src.key)}"


def choose_mode(site: Site) -> UploadMode:
    if site.plan.mode == FILES:
        return Files(site)
    return ZipDirect(site) if site.plan.direct else ZipMerged(site)


class _Zip(UploadMode):
    """One zip PUT to `zipUploadUrl`, sent again from its start on every attempt."""

    zip_size = 0

    def chunks(self) -> Iterable[bytes]:
        raise NotImplementedError

    def upload(self, created: Mapping[str, Any]) -> None:
        url = created.get("zipUploadUrl")
        if not url:
            raise UploadError("CreateDeployment returned no zipUploadUrl")
        settings, deadline = self.site.settings, self.site.deadline.for_uploads()
        progress = Progress(1, self.zip_size, settings.progress_interval)

        def body() -> Iterator[bytes]:
            progress.rewind()  # each attempt sends the zip from its start
            for chunk in guard(self.chunks(), deadline, "the site zip"):
                progress.add(0, len(chunk))
                yield chunk

        attempts = put(url, body, self.zip_size, "the site zip", deadline, settings.upload)
        progress.add(1)
        progress.done(attempts=attempts)


class ZipDirect(_Zip):
    """One source, no markers, clean names: its object is the site zip, streamed S3 -> PUT."""

    label = "ZIP direct"

    def prepare(self) -> None:
        self.zip_size = self.site.sources[0].size
        planning.check_zip_size(self.zip_size, "the source zip")

    def chunks(self) -> Iterable[bytes]:
        src = self.site.sources[0]
        return object_chunks(self.site.s3, src.bucket, src.key)[0]


class ZipMerged(_Zip):
    """Several sources, markers or rewritten names: one merged zip spooled in /tmp, then streamed."""

    label = "ZIP merged"
    spool: Spool | None = None

    def prepare(self) -> None:
        site = self.site
        self.spool = prepare_spool(site.s3, site.sources, site.plan, site.props, site.settings.tmp_dir)
        self.zip_size, self.byte_count = self.spool.zip_size, self.spool.content_bytes

    def chunks(self) -> Iterable[bytes]:
        assert self.spool is not None
        return spool_chunks(self.spool.path)

    def close(self) -> None:
        if self.spool is not None:
            os.unlink(self.spool.path)
            self.spool = None


class Files(UploadMode):
    """One PUT per file to `fileUploadUrls[path]`, in parallel (files_upload.py): a file kept by the
    md5 pass is sent from memory (the bytes its md5 was taken of), other small files are read again
    by window, large ones streamed from their zip entry. A fileMap key with no URL is a file Amplify
    already holds (whether it answers so is undocumented: docs/emulator.md U12): it is not uploaded; a
    URL for a key not in the fileMap fails the deployment."""

    label = "FILES"

    def __init__(self, site: Site) -> None:
        super().__init__(site)
        self.digests: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.kept: dict[str, bytes] = {}

    def prepare(self) -> None:
        site = self.site
        found = md5_pass(site.s3, site.sources, site.plan.entries, site.settings.workers, site.deadline)
        self.digests = {p: md5 for p, (md5, _) in found.digests.items()}
        self.sizes = {p: n for p, (_, n) in found.digests.items()}
        self.kept = found.kept
        self.byte_count = sum(self.sizes.values())

    def file_map(self) -> dict[str, str] | None:
        return self.digests

    def upload(self, created: Mapping[str, Any]) -> None:
        site = self.site
        urls = created.get("fileUploadUrls") or {}
        unknown = next((key for key in urls if key not in self.digests), None)
        if unknown is not None:
            raise UploadError(
                f"CreateDeployment returned an upload URL for {unknown!r:.80}, a key not in the fileMap; "
                "deploy again"
            )
        # Amplify may hold some files already (by md5, from the live deployment): no URL, no upload
        entries = [e for e in site.plan.entries if e.path in urls]
        held = len(site.plan.entries) - len(entries)
        event("upload", files_to_upload=len(entries), files_held_by_amplify=held)
        sizes = {e.path: self.sizes[e.path] for e in entries}
        digests, kept = self.digests, self.kept
        deadline = site.deadline.for_uploads()
        upload_files(site.s3, site.sources, entries, urls, digests, sizes, kept, site.settings, deadline)
