"""CreateDeployment / StartDeployment / GetJob / ListJobs / StopJob and the rules of manual deployments."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from ._helpers import Emu, get, make_zip, md5, put, wait_while_provisioning

UNFINISHED_MESSAGE = (
    "The last job(deployment) {n} was not finished, please wait until it finish or use StopJob operation to "
    "cancel it before creating a new deployment."
)


def site(emu: Emu, app_id: str, branch: str, path: str = "") -> tuple[int, bytes]:
    status, _, body = get(emu.emulator.site_url(app_id, branch) + path)
    return status, body


def test_zip_deployment_goes_pending_running_succeed_and_serves(emu: Emu) -> None:
    emu.emulator.knobs.job_duration = 10
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert dep["jobId"] == "1" and dep["fileUploadUrls"] == {}
    query = parse_qs(urlsplit(dep["zipUploadUrl"]).query)
    assert {"X-Amz-Signature", "X-Amz-Expires", "X-Amz-Date", "X-Amz-Credential"} <= set(query)
    assert len(dep["zipUploadUrl"]) <= 1000
    assert emu.job(app_id, branch, "1")["summary"]["status"] == "PENDING"
    status, body = put(dep["zipUploadUrl"], make_zip({"index.html": "<h1>v1</h1>"}))
    assert status == 200, body
    started = emu.client.start_deployment(appId=app_id, branchName=branch, jobId="1")["jobSummary"]
    assert (started["jobId"], started["status"]) == ("1", "PENDING")
    emu.clock.advance(5)
    job = emu.job(app_id, branch, "1")
    assert job["summary"]["status"] == "RUNNING"
    assert job["steps"][0]["status"] == "RUNNING"
    assert site(emu, app_id, branch)[0] == 404  # nothing live before the job ends
    emu.clock.advance(6)
    job = emu.job(app_id, branch, "1")
    assert job["summary"]["status"] == "SUCCEED"
    step = job["steps"][0]
    assert (step["stepName"], step["status"]) == ("DEPLOY", "SUCCEED")
    assert step["statusReason"] and job["summary"]["endTime"] >= job["summary"]["startTime"]
    log_status, _, log = get(step["logUrl"])
    assert log_status == 200 and b"SUCCEED" in log
    assert site(emu, app_id, branch) == (200, b"<h1>v1</h1>")
    assert emu.client.get_branch(appId=app_id, branchName=branch)["branch"]["activeJobId"] == "1"


def test_filemap_deployment(emu: Emu) -> None:
    app_id, branch = emu.app_branch("feature/x")
    files = {"index.html": b"<p>home</p>", "css/a.css": b"body{}", "docs/index.html": b"docs"}
    dep = emu.client.create_deployment(
        appId=app_id, branchName=branch, fileMap={n: md5(b) for n, b in files.items()}
    )
    assert set(dep["fileUploadUrls"]) == set(files) and dep["zipUploadUrl"] == ""
    assert len({urlsplit(u).path for u in dep["fileUploadUrls"].values()}) == 3
    for name, url in dep["fileUploadUrls"].items():
        status, _ = put(url, files[name])
        assert status == 200
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.finish_jobs()
    assert emu.job(app_id, branch, dep["jobId"])["summary"]["status"] == "SUCCEED"
    assert site(emu, app_id, branch) == (200, b"<p>home</p>")
    assert site(emu, app_id, branch, "css/a.css") == (200, b"body{}")
    assert site(emu, app_id, branch, "docs/") == (200, b"docs")


def test_upload_rejects_wrong_md5_bad_zip_and_missing_length(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch, fileMap={"a.txt": md5(b"right")})
    status, body = put(dep["fileUploadUrls"]["a.txt"], b"wrong")
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    emu.client.stop_job(appId=app_id, branchName=branch, jobId=dep["jobId"])
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    status, body = put(dep["zipUploadUrl"], b"this is not a zip")
    assert status == 400 and b"InvalidZip" in body
    # no Content-Length: a chunked body is refused like S3 does
    import http.client

    parts = urlsplit(dep["zipUploadUrl"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    # Headers only: the emulator answers 411 before any body, and sending one could race its close.
    conn.putrequest("PUT", f"{parts.path}?{parts.query}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 411 and b"MissingContentLength" in resp.read()
    assert emu.emulator.counters["uploads_rejected"] == 3


def test_upload_urls_expire_are_signed_and_bound_to_one_job(emu: Emu) -> None:
    emu.emulator.knobs.upload_url_expiry = 600
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    url = dep["zipUploadUrl"]
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["600"]
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    status, body = put(tampered, make_zip({"index.html": "x"}))
    assert status == 403 and b"SignatureDoesNotMatch" in body
    emu.clock.advance(601)
    status, body = put(url, make_zip({"index.html": "x"}))
    assert status == 403 and b"Request has expired" in body
    # another job's slot with this job's signature is refused: URLs are bound to their job
    emu.client.stop_job(appId=app_id, branchName=branch, jobId="1")
    dep2 = emu.client.create_deployment(appId=app_id, branchName=branch)
    other = dep2["zipUploadUrl"].split("?")[0] + "?" + url.split("?")[1]
    assert put(other, make_zip({"index.html": "x"}))[0] == 403
    assert put(dep2["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200
    # once started, the job's upload URLs are closed
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep2["jobId"])
    status, body = put(dep2["zipUploadUrl"], make_zip({"index.html": "late"}))
    assert status == 403 and b"already" in body


def test_unfinished_job_blocks_the_branch_until_stopped(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    emu.client.create_deployment(appId=app_id, branchName=branch)  # never started: PENDING
    with pytest.raises(emu.client.exceptions.BadRequestException) as info:
        emu.client.create_deployment(appId=app_id, branchName=branch)
    assert info.value.response["Error"]["Message"] == UNFINISHED_MESSAGE.format(n=1)
    stopped = emu.client.stop_job(appId=app_id, branchName=branch, jobId="1")["jobSummary"]
    assert stopped["status"] == "CANCELLED"
    dep2 = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert dep2["jobId"] == "2"
    # a started, running job blocks too
    emu.emulator.knobs.job_duration = 100
    assert put(dep2["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId="2")
    emu.clock.advance(50)
    assert emu.job(app_id, branch, "2")["summary"]["status"] == "RUNNING"
    with pytest.raises(emu.client.exceptions.BadRequestException) as info:
        emu.client.create_deployment(appId=app_id, branchName=branch)
    assert info.value.response["Error"]["Message"] == UNFINISHED_MESSAGE.format(n=2)
    emu.clock.advance(51)
    assert emu.client.create_deployment(appId=app_id, branchName=branch)["jobId"] == "3"


def test_stop_job_on_a_never_started_job_keeps_its_creation_time_and_no_steps(emu: Emu) -> None:
    """Ledger J13: what the handler reads to tell "never started" from "started" survives StopJob."""
    app_id, branch = emu.app_branch()
    emu.client.create_deployment(appId=app_id, branchName=branch)  # never started
    emu.clock.advance(120)
    stopped = emu.client.stop_job(appId=app_id, branchName=branch, jobId="1")["jobSummary"]
    job = emu.job(app_id, branch, "1")
    for summary in (stopped, job["summary"]):
        assert summary["status"] == "CANCELLED"
        assert summary["startTime"] == summary["commitTime"]  # not moved to the stop time
        assert summary["endTime"] - summary["commitTime"] == datetime.timedelta(seconds=120)
    assert job["steps"] == []
    # a started job that is stopped keeps its start and shows its step
    emu.emulator.knobs.job_duration = 100
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200
    emu.clock.advance(5)
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.clock.advance(50)
    emu.client.stop_job(appId=app_id, branchName=branch, jobId=dep["jobId"])
    started = emu.job(app_id, branch, dep["jobId"])
    assert started["summary"]["startTime"] - started["summary"]["commitTime"] == datetime.timedelta(seconds=5)
    assert [(s["stepName"], s["status"]) for s in started["steps"]] == [("DEPLOY", "CANCELLED")]


def test_stop_job_on_finished_job_is_refused(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    job_id = emu.deploy_zip(app_id, branch, {"index.html": "x"})
    with pytest.raises(emu.client.exceptions.BadRequestException, match="already SUCCEED"):
        emu.client.stop_job(appId=app_id, branchName=branch, jobId=job_id)
    with pytest.raises(emu.client.exceptions.NotFoundException):
        emu.client.stop_job(appId=app_id, branchName=branch, jobId="42")


def test_start_more_than_8_hours_after_create_fails(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200
    emu.clock.advance(8 * 3600 + 1)
    with pytest.raises(emu.client.exceptions.BadRequestException, match="8 hours"):
        emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    job = emu.job(app_id, branch, dep["jobId"])
    assert job["summary"]["status"] == "FAILED" and "8 hours" in job["steps"][0]["statusReason"]
    # the failed job no longer blocks the branch; just under the deadline works
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200
    emu.clock.advance(8 * 3600 - 1)
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.finish_jobs()
    assert emu.job(app_id, branch, dep["jobId"])["summary"]["status"] == "SUCCEED"


def test_start_twice_and_unknown_job(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    job_id = emu.deploy_zip(app_id, branch, {"index.html": "x"}, finish=False)
    with pytest.raises(emu.client.exceptions.BadRequestException, match="already started"):
        emu.client.start_deployment(appId=app_id, branchName=branch, jobId=job_id)
    with pytest.raises(emu.client.exceptions.NotFoundException):
        emu.client.start_deployment(appId=app_id, branchName=branch, jobId="7")


def test_concurrent_jobs_per_account_are_limited(emu: Emu) -> None:
    emu.emulator.knobs.job_duration = 100
    apps = [emu.app_branch(f"b{i}") for i in range(6)]
    for app_id, branch in apps[:5]:
        emu.deploy_zip(app_id, branch, {"index.html": "x"}, finish=False)
    app_id, branch = apps[5]
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200
    with pytest.raises(emu.client.exceptions.LimitExceededException) as info:
        emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert emu.job(app_id, branch, dep["jobId"])["summary"]["status"] == "PENDING"
    emu.client.stop_job(appId=apps[0][0], branchName=apps[0][1], jobId="1")  # frees a slot
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.emulator.knobs.max_concurrent_jobs = 10
    emu.clock.advance(101)
    assert emu.job(app_id, branch, dep["jobId"])["summary"]["status"] == "SUCCEED"


def test_manual_deployments_need_an_app_without_repository(emu: Emu) -> None:
    app_id, branch = emu.app_branch(repository="https://github.com/example/site", oauthToken="t")
    with pytest.raises(emu.client.exceptions.BadRequestException, match="not connected to a repository"):
        emu.client.create_deployment(appId=app_id, branchName=branch)


def test_incomplete_upload_fails_the_job_with_a_clear_reason(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.finish_jobs()
    job = emu.job(app_id, branch, dep["jobId"])
    assert job["summary"]["status"] == "FAILED"
    assert "No zip was uploaded" in job["steps"][0]["statusReason"]
    files = {"index.html": b"i", "b.js": b"b"}
    dep = emu.client.create_deployment(
        appId=app_id, branchName=branch, fileMap={n: md5(v) for n, v in files.items()}
    )
    assert put(dep["fileUploadUrls"]["index.html"], b"i")[0] == 200
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.finish_jobs()
    job = emu.job(app_id, branch, dep["jobId"])
    assert job["summary"]["status"] == "FAILED"
    assert (
        "1 of the 2 files" in job["steps"][0]["statusReason"] and "'b.js'" in job["steps"][0]["statusReason"]
    )


def test_failed_and_cancelled_jobs_leave_the_previous_content_live(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    emu.deploy_zip(app_id, branch, {"index.html": "v1", "old.html": "old"})
    assert site(emu, app_id, branch) == (200, b"v1")
    emu.emulator.set_knobs(fail_next_jobs=1, fail_reason="Build exploded")
    job_id = emu.deploy_files(app_id, branch, {"index.html": b"v2", "new.html": b"new"})
    job = emu.job(app_id, branch, job_id)
    assert job["summary"]["status"] == "FAILED" and "Build exploded" in job["steps"][0]["statusReason"]
    assert site(emu, app_id, branch) == (200, b"v1")
    assert site(emu, app_id, branch, "old.html") == (200, b"old")
    assert site(emu, app_id, branch, "new.html")[0] == 403  # no file and no rule: AccessDenied
    # cancelled while running: still v1
    emu.emulator.knobs.job_duration = 50
    job_id = emu.deploy_zip(app_id, branch, {"index.html": "v3"}, finish=False)
    emu.clock.advance(20)
    emu.client.stop_job(appId=app_id, branchName=branch, jobId=job_id)
    emu.clock.advance(100)
    assert emu.job(app_id, branch, job_id)["summary"]["status"] == "CANCELLED"
    assert site(emu, app_id, branch) == (200, b"v1")
    # the next success replaces the whole site
    emu.deploy_zip(app_id, branch, {"index.html": "v4"})
    assert site(emu, app_id, branch) == (200, b"v4")
    assert site(emu, app_id, branch, "old.html")[0] == 403  # no file and no rule: AccessDenied


def test_list_jobs_newest_first_with_pagination(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    for _ in range(7):
        emu.deploy_zip(app_id, branch, {"index.html": "x"})
    page = emu.client.list_jobs(appId=app_id, branchName=branch, maxResults=3)
    assert [j["jobId"] for j in page["jobSummaries"]] == ["7", "6", "5"]
    ids = [j["jobId"] for j in page["jobSummaries"]]
    while "nextToken" in page:
        page = emu.client.list_jobs(
            appId=app_id, branchName=branch, maxResults=3, nextToken=page["nextToken"]
        )
        ids += [j["jobId"] for j in page["jobSummaries"]]
    assert ids == ["7", "6", "5", "4", "3", "2", "1"]
    everything = emu.client.list_jobs(appId=app_id, branchName=branch)
    assert len(everything["jobSummaries"]) == 7 and "nextToken" not in everything
    assert {j["status"] for j in everything["jobSummaries"]} == {"SUCCEED"}
    paginated = emu.client.get_paginator("list_jobs").paginate(
        appId=app_id, branchName=branch, PaginationConfig={"PageSize": 2}
    )
    assert [j["jobId"] for p in paginated for j in p["jobSummaries"]] == ids
    with pytest.raises(emu.client.exceptions.BadRequestException):
        emu.client.list_jobs(appId=app_id, branchName=branch, nextToken="garbage!")


def test_start_deployment_from_a_source_url(sandbox) -> None:  # type: ignore[no-untyped-def]
    """sourceUrl + ZIP: the emulator fetches a loopback URL (here a presigned GET from moto S3)."""
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="assets")
    s3.put_object(Bucket="assets", Key="site.zip", Body=make_zip({"index.html": "from s3"}))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "assets", "Key": "site.zip"})
    amplify = sandbox.client("amplify")
    app_id = amplify.create_app(name="src")["app"]["appId"]
    amplify.create_branch(appId=app_id, branchName="main")
    summary = amplify.start_deployment(appId=app_id, branchName="main", sourceUrl=url, sourceUrlType="ZIP")
    assert summary["jobSummary"]["sourceUrlType"] == "ZIP"
    assert summary["jobSummary"]["status"] == "PROVISIONING"  # answered before the download (Q5)
    wait_while_provisioning(amplify, app_id, "main", summary["jobSummary"]["jobId"])
    sandbox.emulator.knobs.clock_offset = 5
    job = amplify.get_job(appId=app_id, branchName="main", jobId=summary["jobSummary"]["jobId"])["job"]
    assert job["summary"]["status"] == "SUCCEED"
    assert get(sandbox.emulator.site_url(app_id, "main"))[2] == b"from s3"
    with pytest.raises(ClientError, match="BUCKET_PREFIX"):
        amplify.start_deployment(
            appId=app_id, branchName="main", sourceUrl="s3://assets/site/", sourceUrlType="BUCKET_PREFIX"
        )
    missing = s3.generate_presigned_url("get_object", Params={"Bucket": "assets", "Key": "nope.zip"})
    summary = amplify.start_deployment(
        appId=app_id, branchName="main", sourceUrl=missing, sourceUrlType="ZIP"
    )
    wait_while_provisioning(amplify, app_id, "main", summary["jobSummary"]["jobId"])
    sandbox.emulator.knobs.clock_offset = 10
    job = amplify.get_job(appId=app_id, branchName="main", jobId=summary["jobSummary"]["jobId"])["job"]
    assert job["summary"]["status"] == "FAILED" and "HTTP 404" in job["steps"][0]["statusReason"]
    assert get(sandbox.emulator.site_url(app_id, "main"))[2] == b"from s3"


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/site.zip", "file:///tmp/site.zip", "127.0.0.1/site.zip", "https://x/" + "a" * 2991],
)
def test_a_source_url_outside_the_models_constraints_is_refused(emu: Emu, url: str) -> None:
    """The model: sourceUrl matches ^(s3|https|http)://, at most 3000 characters; no job is created."""
    app_id, branch = emu.app_branch()
    with pytest.raises(emu.client.exceptions.BadRequestException, match="sourceUrl"):
        emu.client.start_deployment(appId=app_id, branchName=branch, sourceUrl=url, sourceUrlType="ZIP")
    assert emu.client.list_jobs(appId=app_id, branchName=branch)["jobSummaries"] == []


def test_a_source_url_start_is_refused_like_a_new_deployment(emu: Emu) -> None:
    """Ledger Q2-Q4: an unknown sourceUrlType, jobId with sourceUrl, and an unfinished last job."""
    app_id, branch = emu.app_branch()
    url = "http://127.0.0.1:1/site.zip"
    with pytest.raises(emu.client.exceptions.BadRequestException, match="sourceUrlType"):
        emu.client.start_deployment(appId=app_id, branchName=branch, sourceUrl=url, sourceUrlType="TAR")
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    with pytest.raises(emu.client.exceptions.BadRequestException, match="not both"):
        emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"], sourceUrl=url)
    with pytest.raises(emu.client.exceptions.BadRequestException) as info:
        emu.client.start_deployment(appId=app_id, branchName=branch, sourceUrl=url)
    assert info.value.response["Error"]["Message"] == UNFINISHED_MESSAGE.format(n=dep["jobId"])
    assert [j["jobId"] for j in emu.client.list_jobs(appId=app_id, branchName=branch)["jobSummaries"]] == [
        "1"
    ]


def test_content_md5_header_is_checked_like_s3(emu: Emu) -> None:
    import base64
    import hashlib
    import http.client

    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    body = make_zip({"index.html": "x"})
    parts = urlsplit(dep["zipUploadUrl"])
    for digest_of, expected in ((b"other", 400), (body, 200)):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        content_md5 = base64.b64encode(hashlib.md5(digest_of).digest()).decode()
        conn.request("PUT", f"{parts.path}?{parts.query}", body=body, headers={"Content-MD5": content_md5})
        resp = conn.getresponse()
        answer = resp.read()
        assert resp.status == expected, answer
        if expected == 400:
            assert b"BadDigest" in answer


def test_an_emulator_bug_is_answered_as_internal_failure(emu: Emu, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(app_id: str, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(emu.emulator.backend, "get_app", broken)
    with pytest.raises(emu.client.exceptions.InternalFailureException, match="RuntimeError: boom") as info:
        emu.client.get_app(appId="dabc")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
