"""What the Amplify adapter (amplify.py) and its lost-answer rules (lost_answers.py) share: the errors
a deployment step raises and the calls lost_answers.py makes on the adapter. Both import this module;
neither imports the other back (amplify.py -> lost_answers.py -> amplify_api.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol


class AmplifyError(Exception):
    """A deployment step failed; the message is a short reason for CloudFormation."""

    def __init__(self, reason: str, code: str = "", detail: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.detail = detail


class BranchBusy(AmplifyError):
    """CreateDeployment refused: another job appeared on the branch after we found it free."""


class LostAnswer(AmplifyError):
    """The call may have taken effect, but its answer was lost (HTTP 5xx, read timeout, reset)."""


class AmplifyCalls(Protocol):
    """The adapter as lost_answers.py uses it (amplify.Amplify implements it)."""

    app_id: str
    branch: str
    #: the newest job id on the branch when it was last seen free (orphans are newer)
    newest_seen: int

    def _now(self) -> dt.datetime: ...

    def _retrying(
        self,
        what: str,
        call: Callable[[], Any],
        lost_ok: bool = False,
        job_call: bool = False,
        grace: float = 0.0,
        quick: bool = False,
    ) -> Any: ...

    def list_jobs(self, cleanup: bool = False) -> list[Mapping[str, Any]]: ...

    def get_job(self, job_id: str, reserve: float = 0.0) -> Mapping[str, Any]: ...

    def stop(self, job_id: str, quiet_errors: bool = False) -> bool: ...
