"""Helpers for the handler's tests: zips in memory, CloudFormation events answered to the sandbox's
HTTPS ResponseURL receiver (amplify_sandbox.driver.receiver), and what a test reads back from it.
Events and Lambda contexts come from amplify_sandbox.lambda_env, as the driver builds them."""

from __future__ import annotations

import io
import urllib.request
import uuid
import zipfile
from collections.abc import Mapping
from typing import Any

from amplify_sandbox.driver.receiver import ResponseReceiver
from amplify_sandbox.lambda_env import LambdaContext, custom_resource_event, stack_id

#: the receiver's type, under the name the conftests use
Receiver = ResponseReceiver

STACK_ID = stack_id("site", unique="0b7c2a10-0000-4000-8000-000000000000")
LOGICAL_ID = "SiteDeployment"
#: the first segment of the receiver's ResponseURL path: tests assert no output ever shows it
RESPONSE_PATH = "/cfn/"


def make_zip(files: Mapping[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def context(seconds: float = 120.0) -> LambdaContext:
    """A Lambda context whose invocation ends ``seconds`` from now."""
    return LambdaContext.for_seconds(seconds)


def cfn_event(
    request_type: str,
    props: Mapping[str, Any],
    receiver: ResponseReceiver,
    physical_id: str | None = None,
    old_props: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A CloudFormation request for the test stack's custom resource, answered to ``receiver``."""
    request_id = str(uuid.uuid4())
    return custom_resource_event(
        request_type,
        dict(props),
        response_url=receiver.new_url(STACK_ID, LOGICAL_ID, request_id),
        stack_id=STACK_ID,
        logical_id=LOGICAL_ID,
        request_id=request_id,
        physical_id=physical_id,
        old_properties=dict(old_props) if old_props is not None else None,
    )


def answers(receiver: ResponseReceiver, event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every response body PUT to the event's ResponseURL, in order."""
    return receiver.answers(event["ResponseURL"])


def the_answer(receiver: ResponseReceiver, event: Mapping[str, Any]) -> dict[str, Any]:
    """The one response body PUT to the event's ResponseURL (fails when there were none or several)."""
    got = answers(receiver, event)
    assert len(got) == 1, f"expected exactly one response, got {len(got)}"
    return got[0]


def assert_no_secrets(site: Any, *responses: Any) -> None:
    """No upload URL, signature or ResponseURL path in the handler's log or its answers."""
    text = site.log_text + "".join(str(r) for r in responses)
    assert "X-Amz-" not in text
    assert "/_upload/" not in text
    assert "/cfn/" not in text  # the ResponseURL's path


def race_for_the_branch(site: Any, sandbox: Any, monkeypatch: Any) -> list[int]:
    """Another deployment wins the race between the handler's ListJobs and its next call: right after
    the handler's first wait for a free branch, a job is created, uploaded and started by hand.
    Returns the list the patched wait appends to, once per wait."""
    from amplify_deployment_handler.amplify import Amplify

    real_wait = Amplify.wait_until_free
    calls: list[int] = []

    def wait_then_race(self: Any, abandoned_after_s: float) -> None:
        real_wait(self, abandoned_after_s)
        calls.append(1)
        if len(calls) == 1:
            created = site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)
            req = urllib.request.Request(
                created["zipUploadUrl"], data=make_zip({"index.html": "racer"}), method="PUT"
            )
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
            sandbox.emulator.knobs.job_duration = 0.5
            site.amplify.start_deployment(appId=site.app_id, branchName=site.branch, jobId=created["jobId"])

    monkeypatch.setattr(Amplify, "wait_until_free", wait_then_race)
    return calls


def occupy_the_only_job_slot(site: Any, sandbox: Any) -> None:
    """Another branch's job runs for 1.5 s in the account's only job slot (max_concurrent_jobs=1):
    the handler's StartDeployment meets the concurrent-jobs limit until it ends."""
    other = "other"
    site.amplify.create_branch(appId=site.app_id, branchName=other)
    created = site.amplify.create_deployment(appId=site.app_id, branchName=other)
    req = urllib.request.Request(created["zipUploadUrl"], data=make_zip({"index.html": "o"}), method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
    sandbox.emulator.knobs.job_duration = 1.5
    site.amplify.start_deployment(appId=site.app_id, branchName=other, jobId=created["jobId"])
    sandbox.emulator.knobs.job_duration = 0.2
    sandbox.emulator.knobs.max_concurrent_jobs = 1
