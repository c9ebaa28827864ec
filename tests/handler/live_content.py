"""What a branch serves, read from the Amplify emulator's live job: the exact list of deployed paths
(FILES mode: the job's fileMap names; ZIP mode: the names in its site zip). Used to check that filters
and prefixes deploy exactly the expected files, not merely that some expected files are served."""

from __future__ import annotations

import zipfile
from typing import Any


def live_paths(backend: Any, app_id: str, branch_name: str) -> list[str]:
    """Sorted paths of the branch's live deployment (no leading '/'), [] when nothing is live."""
    with backend._lock:  # the emulator backend's own lock: a consistent view of the branch
        branch = backend.apps[app_id].branches[branch_name]
        if branch.live_job_id is None:
            return []
        job = branch.jobs[branch.live_job_id]
        if job.mode == "FILES":
            return sorted(name.lstrip("/") for name in job.names)
        site_zip = backend.job_dir(app_id, branch_name, job.job_id) / "site.zip"
    with zipfile.ZipFile(site_zip) as zf:
        return sorted(i.filename for i in zf.infolist() if not i.is_dir())
