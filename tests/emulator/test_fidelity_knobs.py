"""The knobs for what AWS does not document (docs/emulator.md, "Ledger"): each alternative behaves as
its help says, through real boto3 and raw HTTP on loopback, with the fake clock."""

from __future__ import annotations

import base64
import http.client
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from amplify_sandbox.emulator.knobs import LOSABLE_OPERATIONS

from ._helpers import Emu, get, make_zip, md5, put


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def put_with(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request(
        "PUT", f"{parts.path}?{parts.query}", body=body, headers={"Content-Length": str(len(body)), **headers}
    )
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


@pytest.mark.parametrize("unstarted", ["PENDING", "CREATED"])
def test_unstarted_status_is_shown_and_blocks_the_branch(emu: Emu, unstarted: str) -> None:
    emu.emulator.set_knobs(unstarted_status=unstarted)
    app, br = emu.app_branch()
    dep = emu.client.create_deployment(appId=app, branchName=br)
    assert emu.job(app, br, dep["jobId"])["summary"]["status"] == unstarted
    listed = emu.client.list_jobs(appId=app, branchName=br)["jobSummaries"]
    assert [j["status"] for j in listed] == [unstarted]
    with pytest.raises(ClientError, match=r"The last job\(deployment\) 1 was not finished"):
        emu.client.create_deployment(appId=app, branchName=br)
    # once started it is PENDING (first quarter), then RUNNING, whatever the unstarted status
    put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))
    emu.client.start_deployment(appId=app, branchName=br, jobId=dep["jobId"])
    assert emu.job(app, br, dep["jobId"])["summary"]["status"] == "PENDING"
    emu.finish_jobs()
    assert emu.job(app, br, dep["jobId"])["summary"]["status"] == "SUCCEED"


@pytest.mark.parametrize("shown", ["at_start", "at_creation"])
def test_job_start_time(emu: Emu, shown: str) -> None:
    emu.emulator.set_knobs(job_start_time=shown)
    app, br = emu.app_branch()
    dep = emu.client.create_deployment(appId=app, branchName=br)
    summary = emu.job(app, br, dep["jobId"])["summary"]
    assert summary["startTime"] == summary["commitTime"]
    put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))
    emu.clock.advance(10)
    started = emu.client.start_deployment(appId=app, branchName=br, jobId=dep["jobId"])["jobSummary"]
    moved = (started["startTime"] - started["commitTime"]).total_seconds()
    assert moved == (10 if shown == "at_start" else 0)


def test_over_limit_start_refused_leaves_the_job_unstarted(emu: Emu) -> None:
    emu.emulator.set_knobs(max_concurrent_jobs=1, over_limit_start="refused")
    app, _ = emu.app_branch("a")
    emu.client.create_branch(appId=app, branchName="b")
    emu.deploy_zip(app, "a", {"index.html": "a"}, finish=False)
    dep = emu.client.create_deployment(appId=app, branchName="b")
    put(dep["zipUploadUrl"], make_zip({"index.html": "b"}))
    with pytest.raises(ClientError) as err:
        emu.client.start_deployment(appId=app, branchName="b", jobId=dep["jobId"])
    assert code_of(err.value) == "LimitExceededException"
    assert (
        emu.job(app, "b", dep["jobId"])["summary"]["startTime"]
        == emu.job(app, "b", dep["jobId"])["summary"]["commitTime"]
    )
    emu.finish_jobs()
    emu.client.start_deployment(appId=app, branchName="b", jobId=dep["jobId"])


def test_over_limit_start_queued_stays_pending_until_a_slot_frees(emu: Emu) -> None:
    emu.emulator.set_knobs(max_concurrent_jobs=1, over_limit_start="queued", job_duration=10)
    app, _ = emu.app_branch("a")
    emu.client.create_branch(appId=app, branchName="b")
    emu.deploy_zip(app, "a", {"index.html": "a"}, finish=False)
    dep = emu.client.create_deployment(appId=app, branchName="b")
    put(dep["zipUploadUrl"], make_zip({"index.html": "b"}))
    emu.clock.advance(1)
    summary = emu.client.start_deployment(appId=app, branchName="b", jobId=dep["jobId"])["jobSummary"]
    assert summary["status"] == "PENDING" and summary["startTime"] > summary["commitTime"]
    emu.clock.advance(8)  # job a RUNNING, b still queued, no steps yet
    job_b = emu.job(app, "b", dep["jobId"])
    assert job_b["summary"]["status"] == "PENDING" and job_b["steps"] == []
    assert emu.job(app, "a", "1")["summary"]["status"] == "RUNNING"
    # a started job's upload URLs are closed, queued or not
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "late"}))[0] == 403
    emu.clock.advance(2)  # a ended at 10 s; b has the slot from then and runs its full duration
    assert emu.job(app, "a", "1")["summary"]["status"] == "SUCCEED"
    assert emu.job(app, "b", dep["jobId"])["summary"]["status"] == "PENDING"
    emu.clock.advance(3)
    assert emu.job(app, "b", dep["jobId"])["summary"]["status"] == "RUNNING"
    emu.clock.advance(8)
    assert emu.job(app, "b", dep["jobId"])["summary"]["status"] == "SUCCEED"


def test_a_queued_job_can_be_stopped(emu: Emu) -> None:
    emu.emulator.set_knobs(max_concurrent_jobs=1, over_limit_start="queued", job_duration=10)
    app, _ = emu.app_branch("a")
    emu.client.create_branch(appId=app, branchName="b")
    emu.deploy_zip(app, "a", {"index.html": "a"}, finish=False)
    job_b = emu.deploy_zip(app, "b", {"index.html": "b"}, finish=False)
    emu.client.stop_job(appId=app, branchName="b", jobId=job_b)
    emu.finish_jobs()
    assert emu.job(app, "b", job_b)["summary"]["status"] == "CANCELLED"


@pytest.mark.parametrize("operation", ["CreateDeployment", "StartDeployment", "StopJob", "GetJob"])
@pytest.mark.parametrize("lost_as", ["500", "reset"])
def test_a_lost_answer_comes_after_the_call_took_effect(emu: Emu, operation: str, lost_as: str) -> None:
    app, br = emu.app_branch()
    dep = emu.client.create_deployment(appId=app, branchName=br)
    put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))
    knob = {
        "CreateDeployment": "lose_next_create_deployment",
        "StartDeployment": "lose_next_start_deployment",
        "StopJob": "lose_next_stop_job",
        "GetJob": "lose_next_get_job",
    }[operation]
    assert LOSABLE_OPERATIONS[operation] == knob and hasattr(emu.emulator.knobs, knob)
    if operation == "CreateDeployment":
        emu.client.stop_job(appId=app, branchName=br, jobId=dep["jobId"])
    emu.emulator.set_knobs(**{knob: 1, "lost_answer_as": lost_as})
    calls: dict[str, Any] = {
        "CreateDeployment": lambda: emu.client.create_deployment(appId=app, branchName=br),
        "StartDeployment": lambda: emu.client.start_deployment(appId=app, branchName=br, jobId="1"),
        "StopJob": lambda: emu.client.stop_job(appId=app, branchName=br, jobId="1"),
        "GetJob": lambda: emu.client.get_job(appId=app, branchName=br, jobId="1"),
    }
    emu.clock.advance(1)
    expected = ClientError if lost_as == "500" else ConnectionClosedError
    with pytest.raises(expected) as err:
        calls[operation]()
    if lost_as == "500":
        assert code_of(err.value) == "InternalFailureException"  # type: ignore[arg-type]
    assert emu.emulator.counters["injected"]["answer_lost"] == 1
    jobs = emu.client.list_jobs(appId=app, branchName=br)["jobSummaries"]
    effect = {
        "CreateDeployment": lambda: [j["jobId"] for j in jobs] == ["2", "1"],
        "StartDeployment": lambda: (
            jobs[0]["status"] == "PENDING" and jobs[0]["startTime"] > jobs[0]["commitTime"]
        ),
        "StopJob": lambda: jobs[0]["status"] == "CANCELLED",
        "GetJob": lambda: True,
    }[operation]
    assert effect(), jobs
    calls["GetJob"]()  # the knob was used up: the next answer arrives


def test_content_md5_optional_is_checked_when_sent(emu: Emu) -> None:
    app, br = emu.app_branch()
    body = b"<h1>x</h1>"
    dep = emu.client.create_deployment(appId=app, branchName=br, fileMap={"index.html": md5(body)})
    url = dep["fileUploadUrls"]["index.html"]
    assert parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"] == ["host"]
    status, answer = put_with(url, body, {"Content-MD5": base64.b64encode(b"\0" * 16).decode()})
    assert status == 400 and b"<Code>BadDigest</Code>" in answer
    assert put_with(url, body, {})[0] == 200


def test_content_md5_required_is_signed(emu: Emu) -> None:
    emu.emulator.set_knobs(upload_content_md5="required")
    app, br = emu.app_branch()
    body = b"<h1>x</h1>"
    dep = emu.client.create_deployment(appId=app, branchName=br, fileMap={"index.html": md5(body)})
    url = dep["fileUploadUrls"]["index.html"]
    assert parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"] == ["content-md5;host"]
    status, answer = put_with(url, body, {})
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer
    status, answer = put_with(
        url, b"other", {"Content-MD5": base64.b64encode(bytes.fromhex(md5(b"other"))).decode()}
    )
    assert status == 403 and b"SignatureDoesNotMatch" in answer
    good = base64.b64encode(bytes.fromhex(md5(body))).decode()
    status, answer = put_with(url, b"<h1>y</h1>", {"Content-MD5": good})
    assert status == 400 and b"<Code>BadDigest</Code>" in answer
    assert put_with(url, body, {"Content-MD5": good})[0] == 200
    # a zip URL has no md5 to sign: unchanged
    dep2_app, dep2_br = emu.app_branch("zip")
    zdep = emu.client.create_deployment(appId=dep2_app, branchName=dep2_br)
    assert parse_qs(urlsplit(zdep["zipUploadUrl"]).query)["X-Amz-SignedHeaders"] == ["host"]


@pytest.mark.parametrize("limit", [5 * 1024**3, 5_000_000_000])
def test_max_upload_bytes(emu: Emu, limit: int) -> None:
    emu.emulator.set_knobs(max_upload_bytes=limit)
    app, br = emu.app_branch()
    dep = emu.client.create_deployment(appId=app, branchName=br)
    parts = urlsplit(dep["zipUploadUrl"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("PUT", f"{parts.path}?{parts.query}")
    conn.putheader("Content-Length", str(limit + 1))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 400 and b"EntityTooLarge" in resp.read()
    conn.close()


def test_upload_url_expiry_zero_expires_at_once(emu: Emu) -> None:
    emu.emulator.set_knobs(upload_url_expiry=0)
    app, br = emu.app_branch()
    dep = emu.client.create_deployment(appId=app, branchName=br)
    emu.clock.advance(0.5)
    status, answer = put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))
    assert status == 403 and b"<Message>Request has expired</Message>" in answer


# ---------------------------------------------------------------------------- file_upload_urls (U12)
V1 = {"index.html": b"<h1>v1</h1>", "same.css": b"body{}", "old/name.js": b"moved()", "gone.txt": b"bye"}
V2 = {"index.html": b"<h1>v2</h1>", "same.css": b"body{}", "new/name.js": b"moved()", "added.txt": b"hi"}


def _served(emu: Emu, app_id: str, branch: str, path: str) -> tuple[int, bytes]:
    status, _, body = get(emu.emulator.site_url(app_id, branch) + path)
    return status, body


@pytest.mark.parametrize("live_mode", ["FILES", "ZIP"])
def test_file_upload_urls_changed_gives_urls_only_for_md5s_the_live_deployment_lacks(
    emu: Emu, live_mode: str
) -> None:
    emu.emulator.set_knobs(file_upload_urls="changed")
    app, br = emu.app_branch()
    if live_mode == "FILES":
        emu.deploy_files(app, br, V1)  # the first deployment: no live content, one URL per key
    else:
        emu.deploy_zip(app, br, dict(V1))
    dep = emu.client.create_deployment(
        appId=app, branchName=br, fileMap={name: md5(body) for name, body in V2.items()}
    )
    # same.css (same path) and new/name.js (renamed, same md5) are held: no URL for them
    assert set(dep["fileUploadUrls"]) == {"index.html", "added.txt"}
    for name, url in dep["fileUploadUrls"].items():
        assert put(url, V2[name])[0] == 200
    emu.client.start_deployment(appId=app, branchName=br, jobId=dep["jobId"])
    emu.finish_jobs()
    assert emu.job(app, br, dep["jobId"])["summary"]["status"] == "SUCCEED"
    for name, body in V2.items():  # the whole new fileMap, exactly
        assert _served(emu, app, br, name) == (200, body)
    assert _served(emu, app, br, "gone.txt")[0] != 200
    assert _served(emu, app, br, "old/name.js")[0] != 200


def test_file_upload_urls_changed_a_stopped_job_leaves_the_live_files(emu: Emu) -> None:
    emu.emulator.set_knobs(file_upload_urls="changed")
    app, br = emu.app_branch()
    emu.deploy_files(app, br, V1)
    dep = emu.client.create_deployment(
        appId=app, branchName=br, fileMap={name: md5(body) for name, body in V2.items()}
    )
    emu.client.stop_job(appId=app, branchName=br, jobId=dep["jobId"])
    emu.finish_jobs()
    for name, body in V1.items():
        assert _served(emu, app, br, name) == (200, body)


def test_file_upload_urls_all_gives_one_url_per_key_over_a_live_deployment(emu: Emu) -> None:
    assert emu.emulator.knobs.file_upload_urls == "all"
    app, br = emu.app_branch()
    emu.deploy_files(app, br, V1)
    dep = emu.client.create_deployment(appId=app, branchName=br, fileMap={n: md5(b) for n, b in V1.items()})
    assert set(dep["fileUploadUrls"]) == set(V1)


def test_a_queued_job_runs_from_the_moment_its_slot_freed_not_from_the_next_call(emu: Emu) -> None:
    """Amplify's scheduler hands a freed slot over when it frees; the emulator works it out at the next
    call. Three jobs, one slot, 10 s each, and no call for 40 s: a ran 0..10, b 10..20, c 20..30."""
    emu.emulator.set_knobs(max_concurrent_jobs=1, over_limit_start="queued", job_duration=10)
    app, _ = emu.app_branch("a")
    for name in ("b", "c"):
        emu.client.create_branch(appId=app, branchName=name)
    for name in ("a", "b", "c"):
        emu.deploy_zip(app, name, {"index.html": name}, finish=False)
    emu.clock.advance(40)
    summaries = {name: emu.job(app, name, "1")["summary"] for name in ("a", "b", "c")}
    assert all(s["status"] == "SUCCEED" for s in summaries.values())
    ends = [summaries[name]["endTime"].timestamp() for name in ("a", "b", "c")]
    assert [round(e - ends[0]) for e in ends] == [0, 10, 20]
