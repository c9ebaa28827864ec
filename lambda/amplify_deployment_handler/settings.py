"""The handler's tunables for one deployment (index.py reads them from the environment)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .amplify import LIMIT_WAIT_S
from .logs import DEFAULT_PROGRESS_INTERVAL
from .rules import DEFAULT_FUNCTION_TIMEOUT_S, DEFAULT_UPLOAD_WORKERS
from .site_changes import CHANGES_BUDGET_S
from .upload import UploadPolicy


@dataclass(frozen=True)
class Settings:
    abandoned_after_s: float = DEFAULT_FUNCTION_TIMEOUT_S
    workers: int = DEFAULT_UPLOAD_WORKERS
    upload: UploadPolicy = field(default_factory=UploadPolicy)
    tmp_dir: str | None = None
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL  # seconds between upload progress lines
    limit_wait_s: float = LIMIT_WAIT_S  # how long one Amplify call retries LimitExceededException
    changes_budget_s: float = CHANGES_BUDGET_S  # the longest the files-changed comparison may take
