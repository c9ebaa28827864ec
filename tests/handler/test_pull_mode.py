"""UploadMode PULL end to end: the handler invoked as Lambda does, against the Amplify emulator and
moto S3 on 127.0.0.1. Amplify (the emulator) fetches the source zip itself through a presigned GET
URL; the handler makes no CreateDeployment, uploads nothing and reads no byte of the zip's files (only
its end record and central directory, to count the files it adds, changes and removes)."""

from __future__ import annotations

import io
import time
import urllib.parse
import urllib.request
import zipfile

import pytest
from handler_support import make_zip, occupy_the_only_job_slot, race_for_the_branch

from amplify_deployment_handler import index, pull
from amplify_deployment_handler.deadline import safety_margin


@pytest.fixture
def s3_calls(monkeypatch):
    """The S3 operations the handler's own client makes (HeadObject, GetObject, ...), in order."""
    calls: list[str] = []
    real = index._clients

    def record(model, params, **kw):
        calls.append(model.name if "Range" not in params else f"{model.name} {params['Range']}")

    def clients(workers):
        s3, *amplify_clients = real(workers)
        s3.meta.events.register("before-parameter-build.s3.*", record)
        return (s3, *amplify_clients)

    monkeypatch.setattr(index, "_clients", clients)
    return calls


def upload(url, files):
    req = urllib.request.Request(url, data=make_zip(files), method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def source_url(site, job_id):
    return site.job(job_id)["summary"]["sourceUrl"]


def assert_url_kept_secret(site, url, *responses):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    signature = query["X-Amz-Signature"][0]
    text = site.log_text + "".join(str(r) for r in responses)
    assert url not in text and signature not in text
    assert "X-Amz-" not in text
    assert "/cfn/" not in text  # the ResponseURL's path


def test_pull_deploys_the_zip_without_reading_it(site, sandbox, s3_calls):
    files = {"index.html": "<h1>pulled</h1>", "css/site.css": "body{}", "about/index.html": "about"}
    data = make_zip(files)
    key = site.put_bytes(data)
    requests_before = dict(sandbox.emulator.counters["requests"])
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"), seconds=120)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["PhysicalResourceId"] == f"{site.app_id}/{site.branch}"
    assert resp["Data"] == {
        "JobId": "1",
        "BranchUrl": f"https://feature-site.{site.app_id}.amplifyapp.com",
        "FileCount": "",  # not known: the handler does not read the zip
        "ByteCount": "",
        "FilesAdded": "3",  # from the zip's central directory
        "FilesChanged": "0",
        "FilesRemoved": "0",
    }
    for path, body in files.items():
        assert site.fetch("/" + path) == (200, body.encode())
    # Amplify fetched the zip: no CreateDeployment, no upload, one StartDeployment with a sourceUrl
    requests = sandbox.emulator.counters["requests"]
    assert requests.get("CreateDeployment", 0) == requests_before.get("CreateDeployment", 0)
    assert requests["StartDeployment"] == requests_before.get("StartDeployment", 0) + 1
    assert site.job("1")["summary"]["sourceUrlType"] == "ZIP"
    # the handler's own S3 calls: HeadObject, then the 22-byte end record and exactly the central
    # directory (to count the files added): no byte of any file's content
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        directory = zf.start_dir
    size = len(data)
    assert s3_calls == [
        "HeadObject",
        "HeadObject",
        f"GetObject bytes={size - 22}-{size - 1}",
        f"GetObject bytes={directory}-{size - 23}",
    ]
    assert '"stage":"plan","mode":"PULL","sources":1,"zip_bytes":' in site.log_text
    assert '"action":"created"' not in site.log_text and '"stage":"upload"' not in site.log_text
    assert '"action":"starting","source":"presigned GET of s3://' in site.log_text
    assert_url_kept_secret(site, source_url(site, "1"), resp)


def test_the_presigned_url_is_sigv4_and_expires_after_the_deadline(site):
    key = site.put_zip({"index.html": "x"})
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"), seconds=300)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    url = source_url(site, "1")
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    assert parts.path == f"/{site.bucket}/{key}"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]  # SigV4: required for SSE-KMS objects
    expires = int(query["X-Amz-Expires"][0])
    deadline = 300 - safety_margin(300)  # the handler's own deadline in this invocation
    assert deadline < expires <= deadline + pull.URL_GRACE_S + 1
    assert len(url) <= pull.SOURCE_URL_MAX


def test_pull_replaces_the_live_site_on_update(site):
    first = site.deploy_live({"index.html": "v1", "old.txt": "old"})
    key = site.put_zip({"index.html": "v2"})
    resp = site.invoke(
        "Update",
        site.props(site.source(key), mode="PULL"),
        physical_id=first["PhysicalResourceId"],
        old_props=site.props(),
    )
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["JobId"] == "2"
    assert site.fetch("/") == (200, b"v2")
    assert site.fetch("/old.txt")[0] != 200  # the zip replaced the whole site


def test_a_failed_job_is_reported_with_its_id_and_the_old_site_stays(site, sandbox):
    live = site.deploy_live({"index.html": "good"})
    sandbox.emulator.knobs.fail_next_jobs = 1
    sandbox.emulator.knobs.fail_reason = "Disk full on the deploy fleet."
    key = site.put_zip({"index.html": "bad"})
    resp = site.invoke(
        "Update", site.props(site.source(key), mode="PULL"), physical_id=live["PhysicalResourceId"]
    )
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("Amplify job 2 FAILED at step ")
    assert "Disk full on the deploy fleet." in resp["Reason"]
    assert resp["PhysicalResourceId"] == live["PhysicalResourceId"]
    assert site.fetch("/") == (200, b"good")
    assert_url_kept_secret(site, source_url(site, "2"), resp)


def test_an_object_that_is_not_a_zip_fails_the_job_with_amplifys_reason(site):
    key = site.put_bytes(b"this is not a zip")
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("Amplify job 1 FAILED at step ")
    assert "did not return a valid zip" in resp["Reason"]
    assert_url_kept_secret(site, source_url(site, "1"), resp)


def test_a_missing_source_fails_before_any_job(site, s3_calls):
    resp = site.invoke("Create", site.props(site.source("assets/missing.zip"), mode="PULL"))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(f"cannot read source s3://{site.bucket}/assets/missing.zip")
    assert site.jobs() == []
    assert s3_calls == ["HeadObject"]


@pytest.mark.parametrize(
    "sources,reason",
    [
        (
            2,
            "UploadMode PULL deploys exactly one source zip, got 2 sources; use UploadMode ZIP",
        ),
        (
            "markers",
            "UploadMode PULL cannot substitute deploy-time values (Sources[0] has Markers); "
            "use UploadMode ZIP",
        ),
    ],
)
def test_properties_pull_cannot_deploy_are_refused_before_any_job(site, s3_calls, sources, reason):
    key = site.put_zip({"index.html": "x"})
    if sources == 2:
        srcs = [site.source(key), site.source(site.put_zip({"a.txt": "a"}))]
    else:
        srcs = [site.source(key, {"<<marker:0xbaba:0>>": "v"})]
    resp = site.invoke("Create", site.props(*srcs, mode="PULL"))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"] == reason
    assert site.jobs() == []
    assert s3_calls == []  # refused from the properties alone


def test_a_busy_branch_is_waited_for(site, sandbox):
    # another deployment runs on the branch (started by hand, as a second stack would)
    sandbox.emulator.knobs.job_duration = 1.5
    created = site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)
    upload(created["zipUploadUrl"], {"index.html": "other"})
    site.amplify.start_deployment(appId=site.app_id, branchName=site.branch, jobId=created["jobId"])
    sandbox.emulator.knobs.job_duration = 0.2
    key = site.put_zip({"index.html": "mine"})
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["JobId"] == "2"
    assert site.job("1")["summary"]["status"] == "SUCCEED"
    assert '"stage":"wait","job_id":"1","status":"' in site.log_text and '"action":"waiting"' in site.log_text
    assert site.fetch("/") == (200, b"mine")


def test_an_abandoned_pending_job_is_stopped_first(site, handler_env):
    site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)  # never started
    handler_env(AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT="1")
    time.sleep(1.2)  # the job is now older than the function timeout
    key = site.put_zip({"index.html": "recovered"})
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.job("1")["summary"]["status"] == "CANCELLED"
    assert resp["Data"]["JobId"] == "2"
    assert site.fetch("/") == (200, b"recovered")


def test_a_job_that_takes_the_branch_before_start_is_waited_for(site, sandbox, monkeypatch):
    # another deployment wins the race between our ListJobs and our StartDeployment
    calls = race_for_the_branch(site, sandbox, monkeypatch)
    key = site.put_zip({"index.html": "mine"})
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert len(calls) == 2 and resp["Data"]["JobId"] == "2"
    assert "another job took the branch before StartDeployment" in site.log_text
    assert site.fetch("/") == (200, b"mine")


def test_a_job_still_running_near_the_deadline_is_stopped(site, sandbox):
    live = site.deploy_live({"index.html": "live"})
    sandbox.emulator.knobs.job_duration = 60
    key = site.put_zip({"index.html": "slow"})
    resp = site.invoke(
        "Update",
        site.props(site.source(key), mode="PULL"),
        physical_id=live["PhysicalResourceId"],
        seconds=5,
    )
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("Amplify job 2 still ")
    assert "near the Lambda timeout: stopped it" in resp["Reason"]
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/") == (200, b"live")


def test_a_too_long_presigned_url_is_refused_before_any_job(site, monkeypatch):
    monkeypatch.setattr(pull, "SOURCE_URL_MAX", 50)
    key = site.put_zip({"index.html": "x"})
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("the presigned URL of the source is ")
    assert resp["Reason"].endswith("StartDeployment accepts at most 50; use UploadMode ZIP")
    assert site.jobs() == []
    assert "X-Amz-" not in site.log_text


def test_start_waits_for_a_concurrency_slot(site, sandbox):
    occupy_the_only_job_slot(site, sandbox)
    key = site.put_zip({"index.html": "mine"})
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"mine")


def test_pull_is_a_known_mode_and_needs_one_plain_source():
    from amplify_deployment_handler.props import parse_props

    src = {"BucketName": "b", "ObjectKey": "k.zip"}
    props = parse_props({"AppId": "d1", "BranchName": "main", "UploadMode": "pull", "Sources": [src]})
    assert props.upload_mode == "PULL"
    assert pull.pull_problem(props) is None


@pytest.mark.parametrize(
    "reshape", [{"Exclude": ["*.map"]}, {"Include": ["*.html"]}, {"DestinationKeyPrefix": "docs/"}]
)
def test_pull_refuses_filters_and_prefix(reshape):
    from amplify_deployment_handler.props import parse_props

    src = {"BucketName": "b", "ObjectKey": "k.zip"}
    raw = {"AppId": "d1", "BranchName": "main", "UploadMode": "PULL", "Sources": [src], **reshape}
    problem = pull.pull_problem(parse_props(raw))
    assert (
        problem is not None
        and "without Exclude, Include or DestinationKeyPrefix; use UploadMode ZIP" in problem
    )


@pytest.mark.parametrize("lost_as", ["500", "reset"])
def test_a_lost_start_deployment_answer_is_settled_from_the_job_list(site, sandbox, lost_as):
    """StartDeployment(sourceUrl) took effect but its answer was lost: the job it started is found in
    ListJobs by its sourceUrl and followed; no second job deploys the site again."""
    sandbox.emulator.set_knobs(lose_next_start_deployment=1, lost_answer_as=lost_as)
    key = site.put_zip({"index.html": "pulled once"})
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["JobId"] == "1"
    assert [j["jobId"] for j in site.jobs()] == ["1"]
    counters = sandbox.emulator.counters
    assert counters["injected"]["answer_lost"] == 1 and counters["requests"]["StartDeployment"] == 1
    assert "StartDeployment answer lost" in site.log_text
    assert '"job_id":"1","action":"start_confirmed"' in site.log_text
    assert site.fetch("/") == (200, b"pulled once")
    assert_url_kept_secret(site, source_url(site, "1"), resp)


def test_find_pulled_matches_only_a_newer_job_with_our_source_url():
    from amplify_deployment_handler.lost_answers import find_pulled

    ours, theirs = "https://b.s3.amazonaws.com/k.zip?X-Amz-Signature=ours", "https://x/other.zip"
    page = [
        {"jobId": "4", "status": "RUNNING", "sourceUrl": theirs},
        {"jobId": "3", "status": "PENDING"},  # CreateDeployment's job: no sourceUrl
        {"jobId": "2", "status": "SUCCEED", "sourceUrl": ours},  # not newer than the free branch's
    ]
    assert find_pulled(page, ours, newest_seen=2) is None  # the call had no effect: start again
    assert find_pulled([{"jobId": "5", "status": "PROVISIONING", "sourceUrl": ours}, *page], ours, 2) == "5"


@pytest.fixture
def get_job_statuses(monkeypatch):
    """The status of every GetJob answer the handler's own Amplify clients receive, in order; a test
    may add a callback run on each (``statuses.on_status``)."""
    statuses = GetJobStatuses()
    real = index._clients

    def clients(workers):
        s3, *amplify_clients = real(workers)
        for client in amplify_clients:
            client.meta.events.register("after-call.amplify.GetJob", statuses.record)
        return (s3, *amplify_clients)

    monkeypatch.setattr(index, "_clients", clients)
    return statuses


class GetJobStatuses(list):
    on_status = None

    def record(self, parsed, **kwargs):
        status = parsed.get("job", {}).get("summary", {}).get("status")
        self.append(status)
        if self.on_status is not None:
            self.on_status(status)


def incompressible_zip(size: int) -> dict[str, bytes]:
    import random

    return {"index.html": b"<h1>slow pull</h1>", "blob.bin": random.Random(7).randbytes(size)}


def test_a_download_slower_than_the_poll_interval_is_followed_until_it_deploys(
    site, sandbox, get_job_statuses
):
    """StartDeployment answers at once with the job PROVISIONING (as Amplify does); the download then
    outlasts several of the handler's polls (its first pause is 0.5 s). The emulator's download is
    capped at 8 KiB/s (over 30 s for this zip) until the handler has seen PROVISIONING twice; the cap
    is then lifted, so the test takes no longer than those polls."""
    sandbox.emulator.knobs.source_url_bandwidth = 8 * 1024

    def lift_the_cap_after_two_polls(status):
        if get_job_statuses.count("PROVISIONING") >= 2:
            sandbox.emulator.knobs.source_url_bandwidth = 0

    get_job_statuses.on_status = lift_the_cap_after_two_polls
    files = incompressible_zip(256 * 1024)
    key = site.put_zip(files)
    resp = site.invoke("Create", site.props(site.source(key), mode="PULL"), seconds=120)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["JobId"] == "1"
    assert get_job_statuses[:2] == ["PROVISIONING", "PROVISIONING"]
    assert get_job_statuses[-1] == "SUCCEED"
    assert '"job_id":"1","status":"PROVISIONING"' in site.log_text
    assert site.fetch("/") == (200, files["index.html"])
    assert [j["jobId"] for j in site.jobs()] == ["1"]  # one start, no retried one
    assert sandbox.emulator.counters["requests"]["StartDeployment"] == 1


def test_a_download_that_outlasts_the_deadline_is_stopped_while_provisioning(site, sandbox):
    live = site.deploy_live({"index.html": "live"})
    sandbox.emulator.knobs.source_url_bandwidth = 1024  # this zip would take minutes
    key = site.put_zip(incompressible_zip(256 * 1024))
    resp = site.invoke(
        "Update",
        site.props(site.source(key), mode="PULL"),
        physical_id=live["PhysicalResourceId"],
        seconds=5,
    )
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("Amplify job 2 still PROVISIONING near the Lambda timeout: stopped it")
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/") == (200, b"live")
