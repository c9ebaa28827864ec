"""Full stack runs through the local driver (synth, assets, the handler in a Lambda-like subprocess
with a real CloudFormation event and HTTPS ResponseURL, rollback): the example app with faults
injected, a stall near the function's timeout, and every log line of those runs checked for
presigned URLs."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from e2e.site_checks import assert_served, copy_files, site_files
from fault_proxy import FaultProxy, amplify_operation
from reliability_support import assert_no_secrets

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack

REPO = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"


class _ProxiedSandbox:
    """The sandbox as the driver sees it, except that the functions it runs reach Amplify through a
    FaultProxy (env()); the driver's own calls go straight to the emulator."""

    def __init__(self, sb: Sandbox, proxy: FaultProxy) -> None:
        self._sb, self._proxy = sb, proxy

    def __getattr__(self, name: str):
        return getattr(self._sb, name)

    def env(self) -> dict[str, str]:
        return {**self._sb.env(), "AWS_ENDPOINT_URL_AMPLIFY": self._proxy.endpoint}


@pytest.fixture
def raw_function_output(monkeypatch):
    """The driver removes the ResponseURL and any X-Amz-Signature from what a function prints;
    switch that off so the test sees exactly what the handler printed."""
    monkeypatch.setattr(
        "amplify_sandbox.driver.provisioners.custom_resource.redact", lambda text, secrets: text
    )


def _hand_started_job(sb, app_id: str, seconds: float) -> str:
    from handler_support import make_zip

    amplify = sb.client("amplify")
    sb.emulator.set_knobs(job_duration=seconds)
    created = amplify.create_deployment(appId=app_id, branchName="main")
    req = urllib.request.Request(
        created["zipUploadUrl"], data=make_zip({"index.html": "console"}), method="PUT"
    )
    urllib.request.urlopen(req, timeout=10).read()
    amplify.start_deployment(appId=app_id, branchName="main", jobId=created["jobId"])
    sb.emulator.set_knobs(job_duration=0.2)
    return created["jobId"]


def test_example_stack_with_faults_ends_success_and_no_url_is_ever_printed(tmp_path, raw_function_output):
    app = copy_files(REPO, tmp_path / "example", ["app.py", "cdk.json", "site"])
    lines: list[str] = []
    with Sandbox(state_dir=app / ".amplify-sandbox" / "emulator") as sb:
        proxy = FaultProxy(sb.amplify_endpoint)
        try:
            driver = lambda: LocalStack(app, _ProxiedSandbox(sb, proxy), log=lines.append)  # noqa: E731
            created = driver().deploy()
            assert created.ok, created.stacks[0].reason
            ((app_id, _branch, url),) = driver().site_urls(created)
            assert_served(url, site_files(app / "site"))

            # v2 with one failing upload, one throttle and a busy branch. Right before the handler's
            # first Amplify call (ListJobs, through the proxy), a deployment is started on the branch
            # "from the console" (3 s long) and that ListJobs is throttled.
            index = app / "site" / "index.html"
            index.write_text(index.read_text().replace("It works.", "It works under faults."))
            busy: list[str] = []

            def console_deploy_and_throttle() -> None:
                busy.append(_hand_started_job(sb, app_id, seconds=3))
                sb.emulator.set_knobs(
                    throttle_code="TooManyRequestsException", throttle_next_api_calls=1, fail_next_uploads=1
                )

            proxy.before("busy+throttle", amplify_operation("ListJobs"), console_deploy_and_throttle)
            updated = driver().deploy()
            assert updated.ok, updated.stacks[0].reason
            (update,) = updated.requests
            assert (update.request_type, update.status) == ("Update", "SUCCESS")
            assert proxy.hits == {"busy+throttle": 1}
            assert int(update.data["JobId"]) == int(busy[0]) + 1
            injected = sb.emulator.counters["injected"]
            assert (injected.get("throttled"), injected.get("upload_failed")) == (1, 1)
            # the console job finished on its own (it was waited for, not stopped), and ours came next:
            # the emulator refuses CreateDeployment while a job is unfinished on the branch
            amplify = sb.client("amplify")
            console = amplify.get_job(appId=app_id, branchName="main", jobId=busy[0])["job"]["summary"]
            assert console["status"] == "SUCCEED"
            assert_served(url, site_files(app / "site"))
            jobs = amplify.list_jobs(appId=app_id, branchName="main")["jobSummaries"]
            assert [j["status"] for j in jobs] == ["SUCCEED"] * 3

            # a failing run too: the upload fails on all 5 attempts; FAILED, rolled back, v2 still live
            v2 = site_files(app / "site")
            index.write_text(index.read_text().replace("under faults", "v3"))
            sb.emulator.set_knobs(fail_next_uploads=5)
            failed = driver().deploy()
            assert not failed.ok and failed.stacks[0].status == "UPDATE_ROLLBACK_COMPLETE"
            bad, rollback = failed.requests
            assert bad.reason.startswith(
                "upload of the site zip failed after 5 attempts (HTTP 500 InternalError)"
            )
            assert rollback.rollback and rollback.status == "SUCCESS"
            assert_served(url, v2)
        finally:
            proxy.close()

    # every line the driver printed, the function's own stdout/stderr unredacted, plus what every
    # response carried back: no upload URL, no ResponseURL
    text = "\n".join(lines)
    handler_lines = [
        line
        for line in lines
        if " λ | " in line and not line.split(" λ | ", 1)[1].startswith(("START", "END", "REPORT"))
    ]
    # the handler's own lines are in the capture, from successful and failed invocations
    assert any("SUCCESS" in line for line in handler_lines) and any(
        "FAILED" in line for line in handler_lines
    )
    responses = [(r.reason, r.data) for r in created.requests + updated.requests + failed.requests]
    assert_no_secrets(text + repr(responses))


def test_a_stalled_upload_near_the_function_timeout_fails_in_time_and_rolls_back(tmp_path):
    """The function (timeout 12 s) is stuck in an upload that never answers: it answers FAILED
    itself before Lambda would kill it (no 'No response', so no hour-long wait on AWS), the job is
    stopped, and the rollback - an Update with the old properties - deploys the previous content."""
    app = copy_files(APPS / "short_timeout", tmp_path / "short", ["app.py", "cdk.json", "site"])
    lines: list[str] = []
    with Sandbox(state_dir=app / ".amplify-sandbox" / "emulator") as sb:
        driver = lambda: LocalStack(app, sb, log=lines.append)  # noqa: E731
        created = driver().deploy()
        assert created.ok, created.stacks[0].reason
        ((app_id, _branch, url),) = driver().site_urls(created)
        v1 = site_files(app / "site")
        (app / "site" / "index.html").write_text("<h1>v2</h1>\n")
        sb.emulator.set_knobs(stall_next_uploads=1, stall_seconds=120)
        failed = driver().deploy()
        assert not failed.ok and failed.stacks[0].status == "UPDATE_ROLLBACK_COMPLETE"
        bad, rollback = failed.requests
        assert bad.status == "FAILED"
        assert bad.reason.startswith("upload of the site zip failed (timed out)"), bad.reason
        assert bad.reason.endswith("job 2 stopped, the live site is unchanged")
        assert "Task timed out" not in "\n".join(lines)  # answered before the kill
        assert (rollback.request_type, rollback.rollback, rollback.status) == ("Update", True, "SUCCESS")
        assert rollback.resource_properties == created.requests[0].resource_properties
        jobs = sb.client("amplify").list_jobs(appId=app_id, branchName="main")["jobSummaries"]
        assert [j["status"] for j in jobs] == ["SUCCEED", "CANCELLED", "SUCCEED"]
        assert_served(url, v1)
