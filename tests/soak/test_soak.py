"""The short run of the randomized soak (bench/soak; docs/reliability.md, "Randomized soak"): a fixed
seed's deployments under random fault combinations, each checked against the invariants. The long
run (`scripts/soak`, 1,000 deployments and more) records its figures in docs/reliability.md.

SOAK_SEED and SOAK_COUNT override the seed and the count (e.g. to run a seed a failure printed)."""

from __future__ import annotations

import os

from bench.soak import runner, scenario
from bench.soak.world import INVARIANTS

SEED = os.environ.get("SOAK_SEED", "ci-1")
#: about 2.5 s a deployment on 2 loaded cores: about a minute in all
COUNT = int(os.environ.get("SOAK_COUNT", "24"))


def test_deployments_under_random_faults_keep_every_invariant(tmp_path):
    steps = scenario.draw(SEED, COUNT)
    result = runner.run(steps, workdir=tmp_path)
    outcomes = result.outcomes
    assert len(outcomes) == COUNT
    if result.violations:
        at, invariant, detail = result.violations[0]
        minimal = runner.shrink(steps, at, invariant, budget_s=60, workdir=tmp_path)
        lines = "\n".join(f"  {n}. {s.describe()}" for n, s in enumerate(minimal, 1))
        raise AssertionError(
            f"invariant {invariant!r} ({INVARIANTS[invariant]}) broken at deployment {at + 1} of seed "
            f"{SEED!r}: {detail}\nminimal sequence ({len(minimal)} deployments):\n{lines}\n"
            f"as JSON (python -m bench.soak --replay FILE):\n{scenario.dumps(minimal)}"
        )
    # the run was not vacuous: both outcomes, every upload mode, and faults that really fired
    statuses = {o.status for o in outcomes}
    assert statuses == {"SUCCESS", "FAILED"}, statuses
    assert {s.mode for s in steps} == {"ZIP", "FILES", "PULL"}
    fired = {kind for o in outcomes for kind, n in o.faults.items() if n > 0}
    assert len(fired) >= 12, sorted(fired)
