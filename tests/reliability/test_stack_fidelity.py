"""Issue 11's whole-stack cases through the local driver, under each alternative the emulator's ledger
lists (docs/emulator.md, "Ledger"): a real CDK app (apps/versioned_site) synthesized once for the
module, deployed and updated by LocalStack with the handler in its Lambda-like subprocess, a real
CloudFormation event and an HTTPS ResponseURL.

- An update over a branch whose abandoned job never started (shown ``PENDING`` or ``CREATED``,
  knob ``unstarted_status``): the handler stops it and deploys the new content.
- A lost StartDeployment answer (the call is carried out, its answer lost as HTTP 500 or a reset
  connection, knob ``lost_answer_as``), on a create and on an update: the handler reads the job,
  follows it, never stops it; the stack completes.

The update deploys the same cloud assembly with another value of its ``Version`` parameter (what
``cdk deploy --parameters Version=v2`` does), so there is one synth for the module. No case waits out
a deadline: the app's handler takes a never-started job older than 1 s as abandoned (its
AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT), and every outcome is read from the stack's result, the jobs'
statuses, the emulator's counters and the served page, never from elapsed time.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from amplify_sandbox.driver import DeployResult, LocalStack, copy_app

APPS = Path(__file__).resolve().parent / "apps"
STACK = "VersionedSite"
BRANCH = "main"
#: the app's AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT: a never-started job older than this is abandoned
ABANDONED_AFTER_S = 1.0
UNSTARTED = ["PENDING", "CREATED"]
LOST_AS = ["500", "reset"]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app synthesized once for the module (each test deploys its own copy of the assembly)."""
    app = copy_app(APPS / "versioned_site", tmp_path_factory.mktemp("synth") / "versioned_site")
    LocalStack(app, None, log=lambda _line: None).synth()
    return app / "cdk.out"


class VersionedStack:
    """A folder whose cdk.json points at its own copy of the synthesized assembly; ``deploy(version)``
    deploys it with that value of the ``Version`` parameter (the page shows it)."""

    def __init__(self, sb: Any, assembly: Path, folder: Path) -> None:
        self.sb = sb
        self.folder = folder
        shutil.copytree(assembly, folder / "cdk.out")
        (folder / "cdk.json").write_text(json.dumps({"app": "cdk.out"}))
        self.template = folder / "cdk.out" / f"{STACK}.template.json"
        self.lines: list[str] = []

    def deploy(self, version: str) -> DeployResult:
        template = json.loads(self.template.read_text())
        template["Parameters"]["Version"]["Default"] = version
        self.template.write_text(json.dumps(template, indent=1))
        return LocalStack(self.folder, self.sb, log=self.lines.append).deploy()

    @property
    def amplify(self) -> Any:
        return self.sb.client("amplify")

    def statuses(self, app_id: str) -> dict[str, str]:
        jobs = self.amplify.list_jobs(appId=app_id, branchName=BRANCH)["jobSummaries"]
        return {str(j["jobId"]): str(j["status"]) for j in jobs}

    def served(self, app_id: str) -> bytes:
        with urllib.request.urlopen(self.sb.emulator.site_url(app_id, BRANCH), timeout=10) as resp:
            return bytes(resp.read())


def _completed(result: DeployResult, stack_status: str, request_type: str) -> Any:
    """The stack ended in ``stack_status`` with one request of ``request_type``, answered SUCCESS."""
    assert result.ok, result.stacks[0].reason
    assert result.stack(STACK).status == stack_status
    (request,) = result.requests
    assert (request.request_type, request.status) == (request_type, "SUCCESS"), request.reason
    return request


@pytest.mark.parametrize("unstarted", UNSTARTED)
def test_an_update_over_a_branch_with_an_abandoned_never_started_job_stops_it_and_deploys(
    sandbox: Any, assembly: Path, tmp_path: Path, unstarted: str
) -> None:
    sb = sandbox
    sb.emulator.set_knobs(unstarted_status=unstarted)
    stack = VersionedStack(sb, assembly, tmp_path / "app")
    created = stack.deploy("v1")
    create = _completed(created, "CREATE_COMPLETE", "Create")
    ((app_id, _branch),) = created.branches
    assert create.data["JobId"] == "1" and stack.served(app_id) == b"<h1>v1</h1>\n"

    # a crashed attempt left a job on the branch: created, never started
    abandoned = str(stack.amplify.create_deployment(appId=app_id, branchName=BRANCH)["jobId"])
    assert stack.statuses(app_id)[abandoned] == unstarted
    time.sleep(ABANDONED_AFTER_S + 0.2)  # now older than the handler's function timeout

    updated = stack.deploy("v2")
    update = _completed(updated, "UPDATE_COMPLETE", "Update")
    assert update.data["JobId"] == "3"
    # the abandoned job was stopped (not waited for), then the update's own job deployed v2
    assert stack.statuses(app_id) == {"1": "SUCCEED", abandoned: "CANCELLED", "3": "SUCCEED"}
    assert sb.emulator.counters["requests"].get("StopJob", 0) == 1
    stopping = f'"stage":"wait","job_id":"{abandoned}","status":"{unstarted}","action":"stopping"'
    assert any(stopping in line for line in stack.lines), "\n".join(stack.lines)
    assert stack.served(app_id) == b"<h1>v2</h1>\n"


@pytest.mark.parametrize("lost_as", LOST_AS)
def test_a_lost_start_deployment_answer_on_a_create_and_an_update_completes_the_stack(
    sandbox: Any, assembly: Path, tmp_path: Path, lost_as: str
) -> None:
    sb = sandbox
    stack = VersionedStack(sb, assembly, tmp_path / "app")

    sb.emulator.set_knobs(lose_next_start_deployment=1, lost_answer_as=lost_as)
    created = stack.deploy("v1")
    create = _completed(created, "CREATE_COMPLETE", "Create")
    ((app_id, _branch),) = created.branches
    assert create.data["JobId"] == "1" and stack.served(app_id) == b"<h1>v1</h1>\n"

    sb.emulator.set_knobs(lose_next_start_deployment=1, lost_answer_as=lost_as)
    updated = stack.deploy("v2")
    update = _completed(updated, "UPDATE_COMPLETE", "Update")
    assert update.data["JobId"] == "2"

    counters = sb.emulator.counters
    assert counters["injected"]["answer_lost"] == 2  # both starts were carried out, their answers lost
    # each start was sent once (its job was read, not started blindly again) and never stopped
    assert counters["requests"]["StartDeployment"] == 2
    assert counters["requests"].get("StopJob", 0) == 0
    assert stack.statuses(app_id) == {"1": "SUCCEED", "2": "SUCCEED"}
    assert sum("StartDeployment answer lost" in line for line in stack.lines) == 2
    assert stack.served(app_id) == b"<h1>v2</h1>\n"
