"""Run a sequence of deployments in a fresh World, and shrink a sequence that breaks an invariant.

The shrinker replays the failing prefix in fresh worlds, dropping one deployment at a time, then one
fault at a time, and keeps a drop whenever the same invariant is still broken: what is left is a
minimal sequence that reproduces it (each replay is a real run, so a timing-dependent violation may
need its seed's full run to show again).
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .scenario import Step
from .world import Outcome, World


@dataclass
class RunResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def violations(self) -> list[tuple[int, str, str]]:
        """(step index, invariant, detail) of every violation."""
        return [(i, v.invariant, v.detail) for i, o in enumerate(self.outcomes) for v in o.violations]


def run(
    steps: list[Step],
    *,
    stop_at_violation: bool = False,
    progress: Callable[[int, Step, Outcome], None] | None = None,
    workdir: Path | None = None,
) -> RunResult:
    """Deploy ``steps`` in order in a fresh sandbox; every outcome, checked."""
    result = RunResult()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-", dir=workdir) as tmp:
        world = World(Path(tmp))
        try:
            for i, step in enumerate(steps):
                outcome = world.deploy(step)
                result.outcomes.append(outcome)
                if progress is not None:
                    progress(i, step, outcome)
                if stop_at_violation and outcome.violations:
                    break
        finally:
            world.close()
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _breaks(steps: list[Step], invariant: str, workdir: Path | None) -> bool:
    got = run(steps, stop_at_violation=True, workdir=workdir)
    return any(name == invariant for _, name, _ in got.violations)


def shrink(
    steps: list[Step],
    at: int,
    invariant: str,
    *,
    budget_s: float = 600.0,
    log: Callable[[str], None] = print,
    workdir: Path | None = None,
) -> list[Step]:
    """A shorter sequence (a sub-sequence of ``steps[: at + 1]`` with fewer faults) that still breaks
    ``invariant``; within ``budget_s`` seconds of replays."""
    end = time.monotonic() + budget_s
    current = [copy.deepcopy(s) for s in steps[: at + 1]]
    # first the cheap guess: the failing deployment after one clean deployment of its branch
    earlier = [s for s in current[:-1] if s.branch == current[-1].branch]
    guess = [copy.deepcopy(earlier[-1])] if earlier else []
    for s in guess:
        s.faults = {}
    guess.append(copy.deepcopy(current[-1]))
    if len(guess) < len(current) and _breaks(guess, invariant, workdir):
        current = guess
        log(f"shrink: the failing deployment alone (after {len(guess) - 1} clean one) breaks it again")
    elif not _breaks(current, invariant, workdir):
        log(f"shrink: the {len(current)} deployments did not break {invariant} again on replay; kept whole")
        return current
    i = 0
    while i < len(current) and len(current) > 1 and time.monotonic() < end:  # drop deployments
        candidate = current[:i] + current[i + 1 :]
        if _breaks(candidate, invariant, workdir):
            current = candidate
            log(f"shrink: dropped a deployment, {len(current)} left")
        else:
            i += 1
    for idx in range(len(current)):  # drop faults
        for kind in list(current[idx].faults):
            if time.monotonic() >= end:
                return current
            candidate = copy.deepcopy(current)
            del candidate[idx].faults[kind]
            if _breaks(candidate, invariant, workdir):
                current = candidate
                log(f"shrink: dropped fault {kind} of deployment {idx + 1}")
    return current
