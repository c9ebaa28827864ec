"""The soak's drawing and shrinking, without servers: the same seed draws the same deployments, a
sequence survives its JSON form (what --replay reads), and the shrinker keeps only what a violation
needs."""

from __future__ import annotations

import pytest

from bench.soak import runner, scenario


def test_a_seed_draws_the_same_deployments_and_they_survive_json():
    steps = scenario.draw("same", 40)
    assert scenario.dumps(steps) == scenario.dumps(scenario.draw("same", 40))
    assert scenario.dumps(scenario.loads(scenario.dumps(steps))) == scenario.dumps(steps)
    assert scenario.dumps(steps) != scenario.dumps(scenario.draw("other", 40))
    # every site has index.html first drawn, and updates change something
    by_branch: dict[str, list[scenario.Step]] = {}
    for s in steps:
        by_branch.setdefault(s.branch, []).append(s)
    for seq in by_branch.values():
        assert all(a.site != b.site for a, b in zip(seq, seq[1:], strict=False))


def test_the_shrinker_keeps_only_the_deployment_and_fault_that_break_the_invariant(monkeypatch):
    """A stand-in for the replays: the invariant breaks when some deployment carries fault
    lost_get_job after at least one earlier deployment (any) - so the minimal sequence is two
    deployments, the second with that fault alone."""
    steps = scenario.draw("shrink", 12)
    for s in steps:
        s.faults = {"api_latency": {"seconds": 0.1}, "job_failed": {}}
    steps[7].faults["lost_get_job"] = {"n": 1, "as": "500"}
    replays: list[int] = []

    def breaks(candidate, invariant, workdir):
        replays.append(len(candidate))
        hit = [i for i, s in enumerate(candidate) if "lost_get_job" in s.faults]
        return invariant == "no_leftovers" and bool(hit) and hit[0] >= 1

    monkeypatch.setattr(runner, "_breaks", breaks)
    minimal = runner.shrink(steps, 9, "no_leftovers", log=lambda line: None)
    assert len(minimal) == 2
    assert minimal[0].faults == {}
    assert minimal[1].faults == {"lost_get_job": {"n": 1, "as": "500"}}
    assert minimal[1].site == steps[7].site
    assert steps[7].faults.keys() == {"api_latency", "job_failed", "lost_get_job"}  # the input is kept


@pytest.mark.parametrize("budget", [0.0])
def test_a_violation_that_does_not_come_back_keeps_the_prefix(monkeypatch, budget):
    steps = scenario.draw("gone", 5)
    monkeypatch.setattr(runner, "_breaks", lambda *a: False)
    kept = runner.shrink(steps, 3, "content", budget_s=budget, log=lambda line: None)
    assert scenario.dumps(kept) == scenario.dumps(steps[:4])


def test_the_shrinker_tries_the_failing_deployment_alone_first(monkeypatch):
    """When the failing deployment breaks the invariant after one clean deployment of its branch,
    the long prefix is never replayed."""
    steps = scenario.draw("guess", 30)
    last = steps[-1]
    last.faults = {"api_latency": {"seconds": 0.1}, "lost_get_job": {"n": 1, "as": "reset"}}
    replayed: list[int] = []

    def breaks(candidate, invariant, workdir):
        replayed.append(len(candidate))
        return len(candidate) >= 2 and "lost_get_job" in candidate[-1].faults

    monkeypatch.setattr(runner, "_breaks", breaks)
    minimal = runner.shrink(steps, len(steps) - 1, "content", log=lambda line: None)
    assert max(replayed) == 2
    assert [s.faults for s in minimal] == [{}, {"lost_get_job": {"n": 1, "as": "reset"}}]
    assert minimal[0].branch == minimal[1].branch == last.branch
