"""Twenty branches, one account: an AmplifyStaticSite with 20 branches (apps/twenty_branches) deployed
through the local driver against the account's default quota of 5 concurrent jobs, under each
alternative of a start beyond it (knob ``over_limit_start``: refused with LimitExceededException, or
queued as PENDING), each paired with one alternative of ``fileUploadUrls`` (knob
``file_upload_urls``: one URL per key, or only for the files Amplify does not hold).

Every branch deploys on create, after a content change (the ``Version`` parameter on every page) and
after adding two branches and removing two; no deployment fails. The driver provisions all twenty
deployments at once, as CloudFormation would (``AMPLIFY_SANDBOX_MAX_PARALLEL``), with short jobs;
bench/branches.py runs the same stack with realistic ones. Two synths for the module (the branch
lists), one prebuilt assembly per deploy.

Also the rehearsal a user runs, through the CLI the README shows: ``amplify-sandbox deploy --knob
max_concurrent_jobs=2 --knob job_duration=...``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from amplify_sandbox.driver import DeployResult, LocalStack, copy_app

APPS = Path(__file__).resolve().parent / "apps"
STACK = "TwentyBranches"
BEFORE = [f"b{i:02d}" for i in range(1, 21)]
AFTER = [f"b{i:02d}" for i in range(3, 23)]  # b01, b02 removed; b21, b22 added
QUOTA = 5
JOB_SECONDS = 1.5
#: (over_limit_start, file_upload_urls): each alternative of both knobs, in two runs
ALTERNATIVES = [("refused", "all"), ("queued", "changed")]
SCRIPT = Path(sys.executable).parent / "amplify-sandbox"


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The app synthesized with its twenty default branches, and with b01/b02 replaced by b21/b22."""
    out = {}
    for key, names in (("before", BEFORE), ("after", AFTER)):
        app = copy_app(APPS / "twenty_branches", tmp_path_factory.mktemp("synth") / key)
        LocalStack(app, None, context={"branches": ",".join(names)}, log=lambda _line: None).synth()
        out[key] = app / "cdk.out"
    return out


class Stack:
    """A folder whose cdk.json points at its own copy of a synthesized assembly."""

    def __init__(self, sb: Any, folder: Path) -> None:
        self.sb, self.folder = sb, folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cdk.json").write_text(json.dumps({"app": "cdk.out"}))
        self.lines: list[str] = []

    def use(self, assembly: Path, version: str) -> None:
        shutil.rmtree(self.folder / "cdk.out", ignore_errors=True)
        shutil.copytree(assembly, self.folder / "cdk.out")
        template_path = self.folder / "cdk.out" / f"{STACK}.template.json"
        template = json.loads(template_path.read_text())
        template["Parameters"]["Version"]["Default"] = version
        template_path.write_text(json.dumps(template, indent=1))

    def deploy(self, assembly: Path, version: str) -> DeployResult:
        self.use(assembly, version)
        return LocalStack(self.folder, self.sb, log=self.lines.append).deploy()


def served(sb: Any, app_id: str, branch: str, path: str = "") -> bytes:
    with urllib.request.urlopen(sb.emulator.site_url(app_id, branch) + path, timeout=10) as resp:
        return bytes(resp.read())


def check_every_branch(sb: Any, result: DeployResult, names: list[str], version: str) -> str:
    assert result.ok, result.error or result.stacks[0].reason
    assert not [r for r in result.requests if r.status != "SUCCESS"]
    app_ids = {app_id for app_id, _ in result.branches}
    assert len(app_ids) == 1
    app_id = app_ids.pop()
    assert sorted(b for _, b in result.branches) == names
    for name in names:
        assert served(sb, app_id, name) == f"<h1>{version} {name}</h1>\n".encode(), name
        assert served(sb, app_id, name, "css/site.css") == b"body { font-family: sans-serif; }\n"
    return app_id


def most_at_once(sb: Any, app_id: str, names: list[str], since: Any) -> int:
    """The most jobs started since `since` that were between StartDeployment and their end at once
    (running, or queued for a slot)."""
    amplify = sb.client("amplify")
    edges: list[tuple[Any, int]] = []
    for name in names:
        for job in amplify.list_jobs(appId=app_id, branchName=name)["jobSummaries"]:
            if job["startTime"] > since and "endTime" in job:
                edges += [(job["startTime"], 1), (job["endTime"], -1)]
    level = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        level += step
        peak = max(peak, level)
    return peak


@pytest.mark.parametrize("over_limit,urls", ALTERNATIVES)
def test_twenty_branches_deploy_through_a_quota_of_five(
    sandbox: Any,
    assemblies: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    over_limit,
    urls,
) -> None:
    sb = sandbox
    monkeypatch.setenv("AMPLIFY_SANDBOX_MAX_PARALLEL", "20")
    sb.emulator.set_knobs(
        max_concurrent_jobs=QUOTA,
        job_duration=JOB_SECONDS,
        over_limit_start=over_limit,
        file_upload_urls=urls,
    )
    stack = Stack(sb, tmp_path / "app")
    # create: twenty deployments, twenty jobs, at most five at a time
    began = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    result = stack.deploy(assemblies["before"], "v1")
    app_id = check_every_branch(sb, result, BEFORE, "v1")
    assert sorted(r.request_type for r in result.requests) == ["Create"] * 20
    starts = sb.emulator.counters["requests"]["StartDeployment"]
    if over_limit == "refused":
        assert starts > 20  # refused with LimitExceededException, waited out, started again
        assert '"call":"StartDeployment","on":' in "\n".join(stack.lines)
    else:
        assert starts == 20  # each accepted at once; more than five were between start and end at once
        assert most_at_once(sb, app_id, BEFORE, began) > QUOTA

    # a content change: every branch's page changes, so all twenty deploy again
    uploads = sb.emulator.counters["uploads_accepted"]
    result = stack.deploy(assemblies["before"], "v2")
    assert check_every_branch(sb, result, BEFORE, "v2") == app_id
    assert sorted(r.request_type for r in result.requests) == ["Update"] * 20
    files_uploads = sb.emulator.counters["uploads_accepted"] - uploads - 10  # less the ten ZIP uploads
    # FILES branches: 3 files each; Amplify holding the unchanged ones, only index.html travels
    assert files_uploads == (10 if urls == "changed" else 30)

    # two branches added, two removed: the others are untouched
    result = stack.deploy(assemblies["after"], "v2")
    assert check_every_branch(sb, result, AFTER, "v2") == app_id
    assert sorted((r.request_type, r.resource_properties.get("BranchName")) for r in result.requests) == [
        ("Create", "b21"),
        ("Create", "b22"),
        ("Delete", "b01"),
        ("Delete", "b02"),
    ]
    amplify = sb.client("amplify")
    for gone in ("b01", "b02"):
        with pytest.raises(amplify.exceptions.NotFoundException):
            amplify.get_branch(appId=app_id, branchName=gone)


def test_a_rehearsal_through_the_cli_with_a_small_quota(assemblies: dict[str, Path], tmp_path: Path) -> None:
    """What a user runs before deploying to AWS: the README's command with knobs."""
    stack = Stack(None, tmp_path / "app")
    stack.use(assemblies["before"], "v1")
    env = {**os.environ, "AMPLIFY_SANDBOX_MAX_PARALLEL": "20"}
    command = [str(SCRIPT), "deploy", str(stack.folder), "--once"]
    knobs = [
        "--knob",
        "max_concurrent_jobs=2",
        "--knob",
        "job_duration=0.5",
        "--knob",
        "over_limit_start=refused",
    ]
    run = subprocess.run([*command, *knobs], capture_output=True, text=True, env=env, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "Emulator knobs: max_concurrent_jobs=2, job_duration=0.5, over_limit_start=refused" in out
    assert (
        sorted(line.split("branch ")[1].rstrip(")") for line in out.splitlines() if line.startswith("Site: "))
        == BEFORE
    )
    # the handlers met the small quota and waited it out
    assert '"stage":"wait","call":"StartDeployment"' in out and '"action":"accepted"' in out

    # a bad knob is refused before anything starts
    bad = subprocess.run(
        [*command, "--knob", "max_concurrent_jobs=two"], capture_output=True, text=True, env=env, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: knob 'max_concurrent_jobs' wants a int, got 'two'"
