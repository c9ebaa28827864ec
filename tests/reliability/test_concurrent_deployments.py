"""Several deployments of one stack meet the account's concurrent-job limit, end to end: the local
driver runs a stack's independent resources at once, as CloudFormation does, so three
AmplifyDeployment resources (three branches of one app) start their jobs together against a limit
of two, and all three still deploy.

The three handlers' StartDeployment calls are held at a barrier in front of the emulator until all
three have arrived, then sent together: the limit is met by construction, not by timing (and a
driver that ran the resources one after the other would break the barrier). Parametrized over the
emulator's alternatives for a StartDeployment beyond the limit (knob ``over_limit_start``:
refused with LimitExceededException, or queued as PENDING) where the knob exists; without it the
emulator refuses. One synth for the module, one deploy per alternative.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy, amplify_operation

from amplify_sandbox.driver import LocalStack, copy_app
from amplify_sandbox.emulator.knobs import Knobs

APPS = Path(__file__).resolve().parent / "apps"
STACK = "ThreeBranches"
BRANCHES = ("one", "two", "three")
JOB_SECONDS = 3.0  # long enough that the first two jobs still run when the third start arrives


def _over_limit_alternatives() -> list[str | None]:
    """The values of the emulator's over_limit_start knob in this tree, or [None] (no knob: refused)."""
    fields = {f.name: f for f in dataclasses.fields(Knobs)}
    knob = fields.get("over_limit_start")
    return list(knob.metadata["choices"]) if knob is not None else [None]


class _ProxiedSandbox:
    """The sandbox as the driver sees it, except that the functions it runs reach Amplify through a
    FaultProxy; the driver's own calls go straight to the emulator."""

    def __init__(self, sb: Any, proxy: FaultProxy) -> None:
        self._sb, self._proxy = sb, proxy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sb, name)

    def env(self) -> dict[str, str]:
        return {**self._sb.env(), "AWS_ENDPOINT_URL_AMPLIFY": self._proxy.endpoint}


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app synthesized once for the module (the deploys use it as a prebuilt cloud assembly)."""
    app = copy_app(APPS / "three_branches", tmp_path_factory.mktemp("synth") / "three_branches")
    LocalStack(app, None, log=lambda _line: None).synth()
    return app / "cdk.out"


def _app_on(assembly: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "cdk.json").write_text(json.dumps({"app": str(assembly)}))
    return folder


def _served(sb: Any, app_id: str, branch: str) -> bytes:
    with urllib.request.urlopen(sb.emulator.site_url(app_id, branch), timeout=10) as resp:
        return bytes(resp.read())


@pytest.mark.parametrize("over_limit", _over_limit_alternatives())
def test_three_deployments_of_one_stack_against_a_limit_of_two_concurrent_jobs_all_deploy(
    sandbox: Any, assembly: Path, tmp_path: Path, over_limit: str | None
) -> None:
    sb = sandbox
    knobs: dict[str, Any] = {"max_concurrent_jobs": 2, "job_duration": JOB_SECONDS}
    if over_limit is not None:
        knobs["over_limit_start"] = over_limit
    sb.emulator.set_knobs(**knobs)
    proxy = FaultProxy(sb.amplify_endpoint)
    barrier = threading.Barrier(len(BRANCHES), timeout=120)
    met: list[bool] = []

    def all_three_together() -> None:
        try:
            barrier.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)

    proxy.before("together", amplify_operation("StartDeployment"), all_three_together, times=len(BRANCHES))
    try:
        app = _app_on(assembly, tmp_path / "app")
        lines: list[str] = []
        result = LocalStack(app, _ProxiedSandbox(sb, proxy), log=lines.append).deploy()
    finally:
        proxy.close()

    assert result.ok, result.stacks[0].reason
    # the three first StartDeployment calls were in flight at once (two slots for three jobs)
    assert met == [True, True, True], lines
    creates = [r for r in result.requests if r.request_type == "Create"]
    assert len(creates) == 3 and all(r.status == "SUCCESS" for r in creates)
    assert max(r.sent_at for r in creates) < min(r.ended_at for r in creates)  # all three at once
    starts = sb.emulator.counters["requests"]["StartDeployment"]
    if over_limit == "queued":
        assert starts == 3  # the third was accepted and waited as PENDING for a free slot
    else:
        assert starts > 3  # refused with LimitExceededException at least once, then started again
    app_id = result.branches[0][0]
    for name in BRANCHES:
        assert _served(sb, app_id, name) == f"<h1>branch {name}</h1>\n".encode()
