"""What a branch's URL serves: its live content, as a static Amplify site, on a port of its own.

:class:`SiteIndex` finds a file in a job's content (a fileMap's files, or the entries of a zip, read in
place with no extraction); the backend calls it under its lock. :class:`SiteHandler` answers the
requests: ``/`` and ``dir/`` serve ``index.html``, ``/dir`` answers 301 to ``/dir/`` when that folder has
an ``index.html``, a missing file answers 404. Amplify's hosting rules (rewrites, redirects, custom
headers, basic auth) belong here, in :meth:`SiteHandler.serve`, when the emulator applies them.
"""

from __future__ import annotations

import mimetypes
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .httpd import CHUNK, QuietHandler, Response, Server

if TYPE_CHECKING:
    from .models import AmplifyBackend

NOT_FOUND = Response(
    404, b"<html><body><h1>404 Not Found</h1></body></html>\n", {"Content-Type": "text/html; charset=utf-8"}
)


@dataclass
class SiteFile:
    """A file of a branch's live site, ready to stream."""

    size: int
    content_type: str
    opener: Callable[[], IO[bytes]]


def content_type(name: str) -> str:
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
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


class SiteServer(Server):
    """One branch's site on its own port."""

    def __init__(self, backend: AmplifyBackend, app_id: str, branch_name: str) -> None:
        self.backend = backend
        self.app_id = app_id
        self.branch_name = branch_name
        super().__init__(0, SiteHandler)


class SiteHandler(QuietHandler):
    """Serves one branch's live content like a static Amplify site (GET and HEAD)."""

    server: SiteServer

    def _find(self, name: str) -> SiteFile | None:
        srv = self.server
        return srv.backend.site_file(srv.app_id, srv.branch_name, name)

    def serve(self, head: bool) -> None:
        self.read_body()
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        name = rel + "index.html" if rel == "" or rel.endswith("/") else rel
        found, src = None, None
        for _ in range(3):  # a deploy may replace the content between lookup and open: look again
            found = self._find(name)
            if found is None:
                break
            try:
                src = found.opener()
                break
            except (OSError, ValueError):
                found = None
        if found is None and rel and not rel.endswith("/") and self._find(rel + "/index.html") is not None:
            self.send(Response(301, b"", {"Location": "/" + rel + "/"}), head)
            return
        if found is None or src is None:
            self.send(NOT_FOUND, head)
            return
        with src:
            self.send_response(200)
            self.send_header("Content-Type", found.content_type)
            self.send_header("Content-Length", str(found.size))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if not head:
                shutil.copyfileobj(src, self.wfile, CHUNK)

    def do_GET(self) -> None:  # noqa: N802
        self.serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self.serve(head=True)
