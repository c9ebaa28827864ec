"""Several deployments at once, and the same request delivered twice - each invocation in its own
process, as on Lambda (the driver's local Lambda runtime), against the emulator and moto."""

from __future__ import annotations

import threading
import time
import urllib.request
import uuid

from handler_support import make_zip
from lambda_process import kill_function_processes

BUCKET = "cdk-assets-concurrency"


def _app(sb, name: str, branch: str = "main") -> str:
    amplify = sb.client("amplify")
    app_id = amplify.create_app(name=name)["app"]["appId"]
    amplify.create_branch(appId=app_id, branchName=branch)
    return app_id


def _source(sb, files) -> dict:
    key = f"assets/{uuid.uuid4().hex}.zip"
    sb.client("s3").put_object(Bucket=BUCKET, Key=key, Body=make_zip(files))
    return {"BucketName": BUCKET, "ObjectKey": key}


def _props(app_id: str, source: dict, branch: str = "main") -> dict:
    return {"AppId": app_id, "BranchName": branch, "UploadMode": "ZIP", "Sources": [source]}


def _served(sb, app_id: str, path: str = "", branch: str = "main") -> bytes:
    with urllib.request.urlopen(sb.emulator.site_url(app_id, branch) + path, timeout=10) as resp:
        return resp.read()


def _start_by_hand(sb, app_id: str, content: str, branch: str = "main") -> str:
    amplify = sb.client("amplify")
    created = amplify.create_deployment(appId=app_id, branchName=branch)
    req = urllib.request.Request(
        created["zipUploadUrl"], data=make_zip({"index.html": content}), method="PUT"
    )
    urllib.request.urlopen(req, timeout=10).read()
    amplify.start_deployment(appId=app_id, branchName=branch, jobId=created["jobId"])
    return created["jobId"]


def _run_all(host, sb, events, **kw):
    threads = [threading.Thread(target=host.invoke, args=(sb, e), kwargs=kw) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return [host.response(e) for e in events]


def test_more_stacks_than_the_concurrent_jobs_limit_all_succeed(sandbox, lambda_host):
    """7 stacks deploy at once with the account's limit at 5 concurrent jobs, while 5 jobs started by
    hand on other apps hold every slot at first: StartDeployment answers LimitExceeded until slots
    free, and every deployment still ends SUCCESS with its own content live."""
    sb = sandbox
    sb.client("s3").create_bucket(Bucket=BUCKET)
    sb.emulator.set_knobs(max_concurrent_jobs=5, job_duration=6)
    for i in range(5):
        _start_by_hand(sb, _app(sb, f"busy-{i}"), f"busy {i}")
    sb.emulator.set_knobs(job_duration=1)
    apps = [_app(sb, f"stack-{i}") for i in range(7)]
    events = [
        lambda_host.event("Create", _props(app_id, _source(sb, {"index.html": f"stack {i}"})))
        for i, app_id in enumerate(apps)
    ]
    responses = _run_all(lambda_host, sb, events)
    for i, (app_id, resp) in enumerate(zip(apps, responses, strict=True)):
        assert resp is not None and resp.status == "SUCCESS", resp and resp.reason
        assert resp.physical_resource_id == f"{app_id}/main"
        assert _served(sb, app_id) == f"stack {i}".encode()
    # ours (7) + the hand-started ones (5) + at least one refused for the limit
    assert sb.emulator.counters["requests"]["StartDeployment"] > 12


def test_parallel_deployments_on_one_branch_wait_for_each_other(sandbox, lambda_host):
    """Three deployments of one branch at once (two resources of one stack, another stack, the
    console): each waits for the branch, all SUCCESS, and the newest job's content is live."""
    sb = sandbox
    sb.client("s3").create_bucket(Bucket=BUCKET)
    sb.emulator.set_knobs(job_duration=1)
    app_id = _app(sb, "shared")
    events = [
        lambda_host.event(
            "Create", _props(app_id, _source(sb, {"index.html": f"writer {i}"})), logical_id=f"Site{i}"
        )
        for i in range(3)
    ]
    responses = _run_all(lambda_host, sb, events)
    assert all(r is not None and r.status == "SUCCESS" for r in responses), [
        r and r.reason for r in responses
    ]
    job_ids = sorted(int(r.data["JobId"]) for r in responses)
    assert job_ids == [1, 2, 3]
    newest = max(range(3), key=lambda i: int(responses[i].data["JobId"]))
    assert _served(sb, app_id) == f"writer {newest}".encode()
    jobs = sb.client("amplify").list_jobs(appId=app_id, branchName="main")["jobSummaries"]
    assert [j["status"] for j in jobs] == ["SUCCEED"] * 3


def test_killed_mid_upload_then_delivered_again_deploys_the_new_content(sandbox, lambda_host):
    """The function is killed (SIGKILL, no answer) while its upload is stalled: the job it created
    stays PENDING. The same request delivered again (what Lambda's retry would do; the construct
    turns those retries off, so here by hand) stops that abandoned job and deploys: the right content
    is live and the one response CloudFormation gets is a correct SUCCESS."""
    sb = sandbox
    sb.client("s3").create_bucket(Bucket=BUCKET)
    app_id = _app(sb, "killed")
    first = lambda_host.event("Create", _props(app_id, _source(sb, {"index.html": "v1"})))
    lambda_host.invoke(sb, first)
    assert lambda_host.response(first).status == "SUCCESS"

    sb.emulator.set_knobs(stall_next_uploads=1, stall_seconds=120)
    props = _props(app_id, _source(sb, {"index.html": "v2"}))
    update = lambda_host.event(
        "Update",
        props,
        PhysicalResourceId=f"{app_id}/main",
        OldResourceProperties=first["ResourceProperties"],
    )
    outcome = {}
    # AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT=3: a PENDING job older than 3 s is abandoned (the function's
    # timeout in the construct; short here so the second delivery need not wait 15 minutes)
    worker = threading.Thread(
        target=lambda: outcome.update(inv=lambda_host.invoke(sb, update, timeout=60, function_timeout_env=3))
    )
    worker.start()
    for _ in range(600):
        if sb.emulator.counters["injected"].get("upload_stalled"):
            break
        time.sleep(0.05)
    assert sb.emulator.counters["injected"].get("upload_stalled") == 1
    assert kill_function_processes() == 1
    worker.join(60)
    assert outcome["inv"].errored and lambda_host.response(update) is None  # killed, never answered
    amplify = sb.client("amplify")
    assert (
        amplify.get_job(appId=app_id, branchName="main", jobId="2")["job"]["summary"]["status"] == "PENDING"
    )
    assert _served(sb, app_id) == b"v1"

    lambda_host.invoke(sb, update, timeout=60, function_timeout_env=3)  # the second delivery
    resp = lambda_host.response(update)
    assert resp.status == "SUCCESS", resp.reason
    assert resp.physical_resource_id == f"{app_id}/main"
    assert resp.data["JobId"] == "3" and resp.data["BranchUrl"] == f"https://main.{app_id}.amplifyapp.com"
    assert (
        amplify.get_job(appId=app_id, branchName="main", jobId="2")["job"]["summary"]["status"] == "CANCELLED"
    )
    assert _served(sb, app_id) == b"v2"


def test_a_request_delivered_twice_after_success_answers_success_twice(site):
    """A second delivery of a request that already succeeded (Lambda retrying an invocation that
    answered, then crashed): deployed again, the same physical id, the right content live."""
    site.deploy_live({"index.html": "v1"})
    event = site.event(
        "Update",
        site.props(site.source(site.put_zip({"index.html": "v2"}))),
        physical_id=f"{site.app_id}/main",
    )
    site.deliver(event)
    site.deliver(event)
    first, second = site.responses(event)
    assert (first["Status"], second["Status"]) == ("SUCCESS", "SUCCESS")
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == f"{site.app_id}/main"
    assert (first["Data"]["JobId"], second["Data"]["JobId"]) == ("2", "3")
    assert site.fetch("/") == (200, b"v2")
