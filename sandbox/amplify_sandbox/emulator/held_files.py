"""Knob ``file_upload_urls=changed`` (docs/emulator.md, ledger row U12): CreateDeployment with a fileMap
gives upload URLs only for the files whose md5 the branch's live deployment does not hold. Amplify
holds every file of the live deployment by its md5, so a fileMap value it already holds (at whatever
path) needs no upload: that file's bytes are carried over from the live content into the new job,
under the new key, before the answer is sent. The new deployment is still the whole fileMap: the
files it does not list are gone, as always.

The backend calls :func:`carry_over` under its lock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

from .jobs import Job

#: the values of the knob
ALTERNATIVES = ("all", "changed")


def _live_sources(live: Job, live_dir: Path) -> dict[str, tuple[Path, str | None]]:
    """md5 hex (lower case) -> where the live content has a file with it: (file path, None) for a
    fileMap deployment, (zip path, entry name) for a zip."""
    found: dict[str, tuple[Path, str | None]] = {}
    if live.mode == "FILES":
        for i, name in enumerate(live.names):
            md5 = (live.file_map or {}).get(name, "").lower()
            path = live_dir / "files" / str(i)
            if md5 and path.is_file():
                found.setdefault(md5, (path, None))
        return found
    zip_path = live_dir / "site.zip"
    if not zip_path.is_file():
        return found
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            h = hashlib.md5(usedforsecurity=False)
            with zf.open(info) as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            found.setdefault(h.hexdigest(), (zip_path, info.filename))
    return found


def _place(source: tuple[Path, str | None], dest: Path) -> None:
    path, entry = source
    dest.parent.mkdir(parents=True, exist_ok=True)
    if entry is not None:
        with zipfile.ZipFile(path) as zf, zf.open(entry) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        return
    try:
        os.link(path, dest)  # the live file is never written again: sharing its inode is safe
    except OSError:
        shutil.copyfile(path, dest)


def carry_over(job: Job, job_dir: Path, live: Job | None, live_dir: Path | None) -> set[str]:
    """Put into ``job`` (a new fileMap job, slots in ``job.names`` order) every file whose md5 the live
    deployment holds; returns the names carried over (they get no upload URL)."""
    if live is None or live_dir is None or not job.file_map:
        return set()
    sources = _live_sources(live, live_dir)
    held: set[str] = set()
    for i, name in enumerate(job.names):
        source = sources.get(job.file_map[name].lower())
        if source is not None:
            _place(source, job_dir / "files" / str(i))
            held.add(name)
    return held
