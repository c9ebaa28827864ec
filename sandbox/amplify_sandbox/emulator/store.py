"""Where the emulator keeps its state on disk: ``state.json``, ``content/`` and the folder's lock.

``content/<appId>/<branchKey>/<jobId>/`` holds a job's uploads (``site.zip`` or ``files/<slot>``), which
are also the live content once the job succeeds. With ``persist``, ``state.json`` is rewritten
(atomically) after every change, and a ``.lock`` file held with ``flock`` keeps a second process off
the folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any

STATE_VERSION = 1


def branch_key(branch_name: str) -> str:
    """A short, path-safe key for a branch name (names may hold '/' and be 255 chars long)."""
    return hashlib.sha256(branch_name.encode()).hexdigest()[:20]


class StateStore:
    """The state folder: the content tree, and (when ``persist``) ``state.json`` under a lock file."""

    def __init__(self, store_dir: Path, persist: bool) -> None:
        self.store_dir = Path(store_dir)
        self.content_dir = self.store_dir / "content"
        self.content_dir.mkdir(parents=True, exist_ok=True)
        self.persist = persist
        self._lock_file: IO[str] | None = None
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

    @property
    def _state_path(self) -> Path:
        return self.store_dir / "state.json"

    def job_dir(self, app_id: str, branch_name: str, job_id: int) -> Path:
        return self.branch_dir(app_id, branch_name) / str(job_id)

    def branch_dir(self, app_id: str, branch_name: str) -> Path:
        return self.content_dir / app_id / branch_key(branch_name)

    def save(self, apps: dict[str, Any]) -> None:
        """Write the apps (plain data) to state.json, when persisting."""
        if not self.persist:
            return
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": STATE_VERSION, "apps": apps}))
        os.replace(tmp, self._state_path)

    def load(self) -> dict[str, Any]:
        """The apps (plain data) of state.json; {} when there is none."""
        if not self.persist or not self._state_path.exists():
            return {}
        apps: dict[str, Any] = json.loads(self._state_path.read_text())["apps"]
        return apps

    def clear_content(self) -> None:
        shutil.rmtree(self.content_dir, ignore_errors=True)
        self.content_dir.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
