"""A full concurrent-jobs quota is waited out: StartDeployment refused with LimitExceededException
for as long as other jobs hold every slot, while the function's time allows (lambda/.../quota_wait.py).

The waits are long (90 s, or a whole 15-minute function), so they run in simulated time: the handler's
deadline clock and its sleep (``index.TIMING``) move a shared offset, and every simulated second is
also added to the emulator's clock (knob ``clock_offset``). Both sides agree on the time, the
emulator's job holding the only slot ends after 90 of its seconds, and every byte still moves over
real HTTP through real boto3; a run takes about a second of real time.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from test_fidelity import by_hand, status

from amplify_deployment_handler import index, quota_wait
from amplify_deployment_handler.deadline import Timing

LAMBDA_MAX_S = 900.0


class SimulatedTime:
    """The handler's clock and sleep, and the emulator's clock, moved together by ``sleep``."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.offset = 0.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds
            self.emulator.set_knobs(clock_offset=self.offset)
        time.sleep(0.001)


@pytest.fixture
def simulated(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> SimulatedTime:
    sim = SimulatedTime(sandbox.emulator)
    monkeypatch.setattr(index, "TIMING", Timing(clock=sim.clock, sleep=sim.sleep))
    return sim


def waits(site: Any) -> list[dict[str, Any]]:
    """The handler's `wait` log lines about the quota (those naming a call)."""
    lines = [json.loads(r.getMessage()) for r in site.records if r.getMessage().startswith('{"stage":"wait"')]
    return [line for line in lines if "call" in line]


def hold_the_only_slot_for(site: Any, sandbox: Any, seconds: float, over_limit: str = "refused") -> str:
    """A job on another branch holds the account's only concurrent-job slot for `seconds`."""
    site.amplify.create_branch(appId=site.app_id, branchName="other")
    sandbox.emulator.set_knobs(max_concurrent_jobs=1, over_limit_start=over_limit, job_duration=seconds)
    holder = by_hand(site, "other", {"index.html": "other"})
    sandbox.emulator.set_knobs(job_duration=0.2)
    return holder


@pytest.mark.parametrize("mode", ["ZIP", "FILES", "PULL"])
def test_a_start_refused_for_90_seconds_by_a_full_quota_succeeds(site, sandbox, simulated, mode):
    site.deploy_live({"index.html": "v1"})
    began = time.monotonic()
    holder = hold_the_only_slot_for(site, sandbox, 90.0)
    files = {"index.html": "<h1>v2</h1>", "css/site.css": "body{color:red}"}
    resp = site.invoke(
        "Create", site.props(site.source(site.put_zip(files)), mode=mode), seconds=LAMBDA_MAX_S
    )

    real = time.monotonic() - began
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"<h1>v2</h1>") and site.fetch("/css/site.css") == (
        200,
        b"body{color:red}",
    )
    assert status(site, holder, "other") == "SUCCEED"
    lines = waits(site)
    first, *progress, last = lines
    assert first["call"] == "StartDeployment" and first["action"] == "waiting"
    assert "concurrent-jobs quota is full" in first["why"]
    # about one progress line a minute: 90 s of waiting shows one
    assert [p["action"] for p in progress] == ["still_waiting"] and 60 <= progress[0]["waited_s"] < 90
    # accepted at the first try after the holder's 90 s (simulated waits plus the real time spent)
    assert last["action"] == "accepted" and 90 <= last["waited_s"] + real < 90 + quota_wait.PAUSE_MAX_S + real
    # refused until the holder ended, then accepted once: no second job, nothing stopped
    starts = sandbox.emulator.counters["requests"]["StartDeployment"]
    assert starts == last["refusals"] + 1 + 2  # + the holder's and v1's
    assert sandbox.emulator.counters["requests"].get("StopJob", 0) == 0


def test_a_quota_that_stays_full_fails_near_the_deadline_naming_the_quota(site, sandbox, simulated):
    site.deploy_live({"index.html": "v1"})
    hold_the_only_slot_for(site, sandbox, 3600.0)
    resp = site.invoke(
        "Update", site.props(site.source(site.put_zip({"index.html": "v2"}))), seconds=LAMBDA_MAX_S
    )
    assert resp["Status"] == "FAILED"
    reason = resp["Reason"]
    assert reason.startswith(
        f"StartDeployment on {site.app_id}/{site.branch} refused (LimitExceededException) for "
    )
    waited = float(reason.split(" for ", 1)[1].split(" s ", 1)[0])
    # the deadline is the function's 900 s less the 30 s margin kept to stop the job and answer
    assert 860 <= waited <= 870
    assert "concurrent-jobs quota full (5 per Region by default)" in reason
    assert "request a quota increase; job 2 stopped, the live site is unchanged" in reason
    assert status(site, "2") == "CANCELLED"
    assert site.fetch("/") == (200, b"v1")
    # a progress line about once a minute of the ~14 minutes
    progress = [w for w in waits(site) if w["action"] == "still_waiting"]
    assert len(progress) == 14 and [round(p["waited_s"] / 60) for p in progress] == list(range(1, 15))


def test_other_calls_keep_the_bounded_limit_wait(site, sandbox, simulated, monkeypatch):
    """ListJobs refused with LimitExceeded (a quota that never frees, as far as the handler knows) is
    retried for 60 s, not until the deadline; no job is created."""
    from botocore.retries.standard import ExponentialBackoff

    # botocore's own throttling backoff (real sleeps) scaled to 20 ms; the handler's 60 s are simulated
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    sandbox.emulator.set_knobs(throttle_code="LimitExceededException", throttle_next_api_calls=10**6)
    resp = site.invoke(
        "Create", site.props(site.source(site.put_zip({"index.html": "x"}))), seconds=LAMBDA_MAX_S
    )
    sandbox.emulator.set_knobs(throttle_next_api_calls=0)
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(
        f"ListJobs on {site.app_id}/{site.branch} refused (LimitExceededException) for 60 s"
    )
    assert simulated.offset < 120
    assert site.jobs() == []


@pytest.mark.parametrize("seed", range(3))
def test_the_pause_between_tries_stays_short(seed):
    import random

    rand = random.Random(seed)
    pauses = [quota_wait.pause_for(n, rand) for n in range(1, 200)]
    assert all(quota_wait.PAUSE_MIN_S <= p <= quota_wait.PAUSE_MAX_S for p in pauses)
    assert pauses[0] <= 1.0  # the first retry comes within a second
    assert max(pauses[:2]) <= 2.0 and max(pauses[10:]) > 2.5  # grows from 1 s, capped
