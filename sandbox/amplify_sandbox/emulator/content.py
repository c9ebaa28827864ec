"""The deployed content as the state model sees it: what a branch's site applies
(:class:`SiteSettings`), finding a file in a job's content (:class:`SiteIndex`: a fileMap's files, or
the entries of a zip, read in place with no extraction) and the check that a deployment zip is one.

The backend calls these under its lock; site.py serves what they find. Nothing here speaks HTTP.
"""

from __future__ import annotations

import json
import mimetypes
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .exceptions import UploadError

if TYPE_CHECKING:
    from .state import App, Branch

#: a file whose name ends in an encoding suffix (.gz, .br, ...) is served as that kind of file, with no
#: Content-Encoding: its bytes are what was deployed (mime-db's types; docs/hosting-rules.md)
_ENCODED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}


@dataclass(frozen=True)
class SiteSettings:
    """What a branch's site server applies, snapshot under the backend's lock.

    ``credentials``: the base64 ``user:password`` that basic auth wants, or None (no basic auth).
    ``live``: whether the branch has deployed content at all.
    """

    custom_rules: str  # the app's customRules as JSON (compared to tell when to parse them again)
    custom_headers: str
    credentials: str | None
    live: bool


def site_settings(app: App, branch: Branch) -> SiteSettings:
    """A branch's settings: "When access control is enabled at both the branch and global level, the
    branch level password takes precedence" (user guide, "Restricting access to branches")."""
    credentials = None
    if branch.enable_basic_auth:
        credentials = branch.basic_auth_credentials
    elif app.enable_basic_auth:
        credentials = app.basic_auth_credentials
    return SiteSettings(
        custom_rules=json.dumps(app.custom_rules, sort_keys=True),
        custom_headers=app.custom_headers,
        credentials=credentials,
        live=branch.live_job_id is not None,
    )


@dataclass
class SiteFile:
    """A file of a branch's live site, ready to stream."""

    size: int
    content_type: str
    opener: Callable[[], IO[bytes]]


def content_type(name: str) -> str:
    """The Content-Type of a site file, from its name. ``sitemap.xml.gz`` is ``application/gzip``:
    Amplify serves the deployed bytes as they are, with no Content-Encoding."""
    ctype, encoding = mimetypes.guess_type(name)
    if encoding is not None:
        ctype = _ENCODED_TYPES.get(encoding, "application/octet-stream")
    ctype = ctype or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "application/json", "image/svg+xml"):
        ctype += "; charset=utf-8"
    return ctype


class SiteIndex:
    """The open zips and fileMap name indexes of live content, by job folder. Not locked: its owner's
    lock guards it (the backend calls it under its own)."""

    def __init__(self) -> None:
        self._zips: dict[Path, tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]] = {}
        self._names: dict[Path, dict[str, int]] = {}

    def file_of_map(self, job_dir: Path, names: list[str], name: str) -> SiteFile | None:
        """fileMap content: the file of slot i is ``files/<i>``; keys are served without a leading '/'."""
        index = self._names.get(job_dir)
        if index is None:
            index = self._names[job_dir] = {n.lstrip("/"): i for i, n in enumerate(names)}
        slot = index.get(name)
        if slot is None:
            return None
        path = job_dir / "files" / str(slot)
        return SiteFile(path.stat().st_size, content_type(name), lambda: open(path, "rb"))  # noqa: SIM115

    def file_of_zip(self, zip_path: Path, name: str) -> SiteFile | None:
        """zip content: entries by name (directory entries ignored), read from the zip itself."""
        cached = self._zips.get(zip_path.parent)
        if cached is None:
            zf = zipfile.ZipFile(zip_path)
            entries = {i.filename.lstrip("/").removeprefix("./"): i for i in zf.infolist() if not i.is_dir()}
            cached = self._zips[zip_path.parent] = (zf, entries)
        zf, entries = cached
        info = entries.get(name)
        if info is None:
            return None
        return SiteFile(info.file_size, content_type(name), lambda: zf.open(info))

    def forget(self, job_dir: Path) -> None:
        """Close the zip and drop the index of a job whose content is replaced or deleted."""
        cached = self._zips.pop(job_dir, None)
        if cached:
            cached[0].close()
        self._names.pop(job_dir, None)

    def clear(self) -> None:
        for zf, _ in self._zips.values():
            zf.close()
        self._zips.clear()
        self._names.clear()


def check_zip(path: Path) -> None:
    """A deployment zip must at least have a readable central directory (emulator rule)."""
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UploadError(
            400, "InvalidZip", f"The uploaded body is not a valid zip file ({exc}) (emulator rule)."
        ) from exc
