"""Knobs (from Python and over the admin HTTP endpoint) and counters."""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from ._helpers import Emu, amplify_client, make_zip, put


def admin(emu: Emu, path: str, data: dict | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    req = urllib.request.Request(
        emu.emulator.endpoint + path,
        data=None if data is None else json.dumps(data).encode(),
        method="GET" if data is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_admin_endpoint_sets_and_reads_knobs(emu: Emu) -> None:
    status, knobs = admin(emu, "/_sandbox/knobs")
    assert status == 200 and knobs["max_concurrent_jobs"] == 5 and knobs["job_duration"] == 0.2
    status, knobs = admin(emu, "/_sandbox/knobs", {"job_duration": "3", "fail_next_jobs": 2})
    assert status == 200 and knobs["job_duration"] == 3.0 and knobs["fail_next_jobs"] == 2
    assert emu.emulator.knobs.job_duration == 3.0
    status, err = admin(emu, "/_sandbox/knobs", {"no_such_knob": 1})
    assert status == 400 and "unknown knob" in err["message"]
    status, err = admin(emu, "/_sandbox/knobs", {"throttle_code": "Nope"})
    assert status == 400 and emu.emulator.knobs.throttle_code == "TooManyRequestsException"
    with pytest.raises(ValueError, match="must not be negative"):
        emu.emulator.set_knobs(latency=-1)


def test_counters_per_operation_and_bytes(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    body = make_zip({"index.html": "x" * 1000})
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert put(dep["zipUploadUrl"], body)[0] == 200
    emu.client.get_branch(appId=app_id, branchName=branch)
    emu.client.get_branch(appId=app_id, branchName=branch)
    status, counters = admin(emu, "/_sandbox/counters")
    assert status == 200
    assert counters["requests"] == {
        "CreateApp": 1,
        "CreateBranch": 1,
        "CreateDeployment": 1,
        "Upload": 1,
        "GetBranch": 2,
    }
    assert counters["requests_total"] == 6
    assert counters["bytes_received"] == len(body) and counters["uploads_accepted"] == 1


def test_throttle_next_api_calls_with_either_code(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    emu.emulator.set_knobs(throttle_next_api_calls=2)
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            emu.client.get_branch(appId=app_id, branchName=branch)
        assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert emu.client.get_branch(appId=app_id, branchName=branch)["branch"]["branchName"] == branch
    emu.emulator.set_knobs(throttle_next_api_calls=1, throttle_code="LimitExceededException")
    with pytest.raises(emu.client.exceptions.LimitExceededException):
        emu.client.list_jobs(appId=app_id, branchName=branch)
    assert emu.emulator.counters["injected"]["throttled"] == 3
    # boto3's standard retry mode retries throttling: one call succeeds after two 429s
    emu.emulator.set_knobs(throttle_next_api_calls=2)
    retrying = amplify_client(emu.emulator.endpoint, retries={"total_max_attempts": 3, "mode": "standard"})
    assert retrying.get_app(appId=app_id)["app"]["appId"] == app_id
    assert emu.emulator.counters["requests"]["GetApp"] == 3


@pytest.mark.parametrize(
    "code,status",
    [("UnauthorizedException", 401), ("DependentServiceFailureException", 503), ("NotFoundException", 404)],
)
def test_refuse_next_api_calls_answers_any_error_of_the_model_without_running_the_call(
    emu: Emu, code: str, status: int
) -> None:
    emu.emulator.set_knobs(refuse_next_api_calls=1, refuse_code=code)
    with pytest.raises(ClientError) as info:
        emu.client.create_app(name="refused")
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert "injected" in info.value.response["Error"]["Message"]
    assert emu.client.list_apps()["apps"] == []  # the refused CreateApp did not run
    assert emu.emulator.counters["injected"] == {"api_refused": 1}
    with pytest.raises(ValueError, match="refuse_code"):
        emu.emulator.set_knobs(refuse_code="NoSuchError")


def test_fail_and_drop_next_uploads(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    body = make_zip({"index.html": "ok"})
    emu.emulator.set_knobs(fail_next_uploads=1, drop_next_uploads=1)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        put(dep["zipUploadUrl"], body + b"\0" * 3_000_000)  # dropped mid-body (drop goes before fail)
    status, err = put(dep["zipUploadUrl"], body)
    assert status == 500 and b"InternalError" in err
    assert put(dep["zipUploadUrl"], body)[0] == 200
    counters = emu.emulator.counters
    assert counters["injected"] == {"upload_dropped": 1, "upload_failed": 1}
    assert counters["uploads_accepted"] == 1


def test_stall_next_upload_and_api_call(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    emu.emulator.set_knobs(stall_next_uploads=1, stall_next_api_calls=1, stall_seconds=2)
    with pytest.raises((TimeoutError, socket.timeout)):
        put(dep["zipUploadUrl"], make_zip({"index.html": "x"}), timeout=0.3)
    impatient = amplify_client(emu.emulator.endpoint, read_timeout=0.3)
    with pytest.raises(Exception, match="[Tt]imeout|timed out"):
        impatient.get_app(appId=app_id)
    assert emu.emulator.counters["injected"] == {"upload_stalled": 1, "api_stalled": 1}
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200


def test_latency_and_bandwidth_are_applied(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    emu.emulator.set_knobs(latency=0.05, upload_bandwidth=2_000_000)
    payload = make_zip({"index.html": "x", "big.bin": os.urandom(400_000)})  # incompressible
    emu.client.get_app(appId=app_id)
    assert put(dep["zipUploadUrl"], payload)[0] == 200
    counters = emu.emulator.counters
    assert counters["latency_seconds"] == pytest.approx(0.1)  # one API call + one upload
    # 400 kB at 2 MB/s: the uploads waited about 0.2 s in total (the emulator's own accounting)
    assert counters["bandwidth_wait_seconds"] > 0.1


def test_job_duration_and_fail_next_jobs(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    emu.emulator.set_knobs(job_duration=30, fail_next_jobs=1, fail_reason="Injected: disk full")
    job_id = emu.deploy_zip(app_id, branch, {"index.html": "x"}, finish=False)
    emu.clock.advance(29)
    assert emu.job(app_id, branch, job_id)["summary"]["status"] == "RUNNING"
    emu.clock.advance(2)
    job = emu.job(app_id, branch, job_id)
    assert job["summary"]["status"] == "FAILED"
    assert job["steps"][0]["statusReason"].startswith("Injected: disk full")
    job_id = emu.deploy_zip(app_id, branch, {"index.html": "x"}, finish=False)
    emu.clock.advance(31)
    assert emu.job(app_id, branch, job_id)["summary"]["status"] == "SUCCEED"


def test_clock_offset_from_another_process_expires_urls(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert admin(emu, "/_sandbox/knobs", {"clock_offset": 3601})[0] == 200
    status, body = put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))
    assert status == 403 and b"expired" in body


def test_admin_reset_site_url_and_unknown_paths(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    knobs = emu.emulator.knobs
    knobs.job_duration = 9
    status, data = admin(emu, f"/_sandbox/site-url?app={app_id}&branch={branch}")
    assert status == 200 and data["url"] == emu.emulator.site_url(app_id, branch)
    assert admin(emu, f"/_sandbox/site-url?app={app_id}&branch=nope")[0] == 400
    assert admin(emu, "/_sandbox/reset", {})[0] == 200
    assert knobs is emu.emulator.knobs and knobs.job_duration == 0.2  # reset in place, to the defaults
    assert emu.emulator.counters["requests_total"] == 0
    with pytest.raises(emu.client.exceptions.NotFoundException):
        emu.client.get_app(appId=app_id)
    assert admin(emu, "/_sandbox/nothing")[0] == 404
    parts = urlsplit(emu.emulator.endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", "/not/an/operation")
    resp = conn.getresponse()
    assert resp.status == 404 and resp.getheader("x-amzn-ErrorType") == "UnknownOperationException"
