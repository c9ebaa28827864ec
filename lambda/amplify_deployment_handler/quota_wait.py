"""Waiting out a full concurrent-jobs quota.

The account's concurrent-jobs quota (5 per Region by default, fewer on new accounts) is shared by
every stack, pipeline and person deploying in the account. A CreateDeployment or StartDeployment
refused with LimitExceededException is therefore waited out, with backoff, for as long as the
function's deadline allows: the quota frees as other jobs end. (The quotas that never free, apps per
Region and branches per app, are met by other calls, which keep the bounded wait of amplify.py.)

One `wait` line when the wait starts, a progress line about once a minute, one line when the call is
accepted; near the deadline the reason names the quota and what to do.
"""

from __future__ import annotations

import random

from .logs import event

#: the shortest and the longest pause between two tries of a refused call: uniform between the two,
#: the upper end doubling from 1 s. A freed slot is taken about half a second after it frees
#: (bench/branches.py, twenty branches, five slots, 5 s jobs: mean 0.54 s, max 1.8 s; with pauses of
#: 1 .. 6 s it was 0.9 s / 2.9 s, and the jobs' span 2.6 s longer); fifteen waiting functions make
#: about nine calls a second.
PAUSE_MIN_S = 0.5
PAUSE_MAX_S = 3.0
#: seconds between two progress lines of one wait
PROGRESS_EVERY_S = 60.0
#: time kept back before the deadline (which already keeps the margin to stop the job and answer)
RESERVE_S = 1.0
CODE = "LimitExceededException"


def pause_for(attempt: int, rand: random.Random | None = None) -> float:
    """The pause after the attempt-th refusal (1-based): uniform between PAUSE_MIN_S and
    min(PAUSE_MAX_S, 2^(attempt-1)) seconds."""
    high = max(PAUSE_MIN_S, min(PAUSE_MAX_S, 2.0 ** (attempt - 1)))
    return (rand or random).uniform(PAUSE_MIN_S, high)


class QuotaWait:
    """One call's wait for the quota: ``next_pause`` after each refusal, ``accepted`` once the call went
    through, ``reason`` when the deadline ends the wait."""

    def __init__(self, what: str, where: str) -> None:
        self.what, self.where = what, where
        self.refusals = 0
        self.waited = 0.0  # seconds paused so far
        self._next_progress = PROGRESS_EVERY_S

    def next_pause(self, remaining: float) -> float | None:
        """The pause before the next try, or None when the deadline leaves no time for one."""
        self.refusals += 1
        if self.refusals == 1:
            event(
                "wait",
                call=self.what,
                on=self.where,
                action="waiting",
                why=f"{CODE}: the account's concurrent-jobs quota is full; retrying while the function's "
                "time allows",
            )
        elif self.waited >= self._next_progress:
            self._next_progress += PROGRESS_EVERY_S
            event("wait", call=self.what, on=self.where, action="still_waiting", waited_s=round(self.waited))
        pause = min(pause_for(self.refusals), remaining - RESERVE_S)
        if pause <= 0:
            return None
        self.waited += pause
        return pause

    def accepted(self) -> None:
        if self.refusals:
            event(
                "wait",
                call=self.what,
                on=self.where,
                action="accepted",
                waited_s=self.waited,
                refusals=self.refusals,
            )

    def reason(self) -> str:
        return (
            f"{self.what} on {self.where} refused ({CODE}) for {self.waited:.0f} s until the deadline: "
            "concurrent-jobs quota full (5 per Region by default); retry later or request a quota increase"
        )
