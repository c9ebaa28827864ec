"""The handler under every alternative the emulator's ledger lists (docs/emulator.md, "Ledger"):
unstarted jobs shown PENDING or CREATED, startTime moved at start or kept at creation, starts over
the concurrent-jobs limit refused or queued, lost answers (HTTP 500 or a reset connection), Content-MD5
optional or required, expired upload URLs. No case waits out a long deadline: short function timeouts,
and the outcome is read from the response and the emulator's state and counters."""

from __future__ import annotations

import dataclasses
import time
import urllib.request
from typing import Any

import pytest
from handler_support import make_zip

from amplify_deployment_handler import index
from amplify_deployment_handler.upload import UploadPolicy

FAST_UPLOADS = UploadPolicy(attempts=3, timeout=2.0, backoff_base=0.05, backoff_max=0.1)
UNSTARTED = ["PENDING", "CREATED"]
START_TIMES = ["at_start", "at_creation"]
OVER_LIMIT = ["refused", "queued"]
LOST_AS = ["500", "reset"]


@pytest.fixture(autouse=True)
def fast_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short upload pauses and a 2 s LimitExceeded bound (the shape of both is unchanged)."""
    real = index.settings_from_env
    monkeypatch.setattr(
        index,
        "settings_from_env",
        lambda: dataclasses.replace(real(), upload=FAST_UPLOADS, limit_wait_s=2.0),
    )


def upload_zip(url: str, files: dict[str, str]) -> None:
    req = urllib.request.Request(url, data=make_zip(files), method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def by_hand(site: Any, branch: str, files: dict[str, str], start: bool = True) -> str:
    """A deployment made outside the handler (the console, another tool): created, uploaded, started."""
    created = site.amplify.create_deployment(appId=site.app_id, branchName=branch)
    upload_zip(created["zipUploadUrl"], files)
    if start:
        time.sleep(0.01)  # startTime strictly after commitTime
        site.amplify.start_deployment(appId=site.app_id, branchName=branch, jobId=created["jobId"])
    return str(created["jobId"])


def status(site: Any, job_id: str, branch: str | None = None) -> str:
    job = site.amplify.get_job(appId=site.app_id, branchName=branch or site.branch, jobId=job_id)
    return str(job["job"]["summary"]["status"])


def hold_the_only_slot(site: Any, sandbox: Any, over_limit: str, duration: float) -> None:
    """Another branch's job holds the account's only concurrent-job slot for `duration` seconds."""
    site.amplify.create_branch(appId=site.app_id, branchName="other")
    sandbox.emulator.set_knobs(max_concurrent_jobs=1, over_limit_start=over_limit, job_duration=duration)
    by_hand(site, "other", {"index.html": "other"})
    sandbox.emulator.set_knobs(job_duration=0.2)


# ---------------------------------------------------------------------------- unstarted jobs
@pytest.mark.parametrize("start_time", START_TIMES)
@pytest.mark.parametrize("unstarted", UNSTARTED)
def test_an_abandoned_never_started_job_is_stopped(site, sandbox, handler_env, unstarted, start_time):
    sandbox.emulator.set_knobs(unstarted_status=unstarted, job_start_time=start_time)
    site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)
    assert status(site, "1") == unstarted
    handler_env(AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT="1")
    time.sleep(1.2)  # the job is now older than the function timeout
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "recovered"}))))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert status(site, "1") == "CANCELLED" and resp["Data"]["JobId"] == "2"
    assert f'"stage":"wait","job_id":"1","status":"{unstarted}","action":"stopping"' in site.log_text
    assert site.fetch("/") == (200, b"recovered")


@pytest.mark.parametrize("unstarted", UNSTARTED)
def test_a_young_never_started_job_is_waited_for(site, sandbox, unstarted):
    sandbox.emulator.set_knobs(unstarted_status=unstarted)
    site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "x"}))), seconds=4)
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(f"branch {site.app_id}/{site.branch} is busy: job 1 still {unstarted}")
    assert status(site, "1") == unstarted
    assert sandbox.emulator.counters["requests"].get("StopJob", 0) == 0


@pytest.mark.parametrize("start_time", START_TIMES)
@pytest.mark.parametrize("unstarted", UNSTARTED)
def test_an_old_started_job_queued_for_a_slot_is_never_stopped(
    site, sandbox, handler_env, unstarted, start_time
):
    # the branch has history (a deployment that ran), then someone's started job waits for a slot
    sandbox.emulator.set_knobs(unstarted_status=unstarted, job_start_time=start_time)
    assert (
        site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "v1"}))))["Status"]
        == "SUCCESS"
    )
    hold_the_only_slot(site, sandbox, "queued", duration=60)
    queued = by_hand(site, site.branch, {"index.html": "queued"})
    assert status(site, queued) == "PENDING"
    handler_env(AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT="1")
    time.sleep(1.2)  # older than the function timeout, like an abandoned job
    resp = site.invoke("Update", site.props(site.source(site.put_zip({"index.html": "v2"}))), seconds=4)
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(
        f"branch {site.app_id}/{site.branch} is busy: job {queued} still PENDING"
    )
    # startTime kept at creation: a started job and an abandoned one look alike, and the reason says so
    undecidable = "queued or abandoned, Amplify cannot tell: if abandoned, stop it (StopJob), then retry"
    assert (undecidable in resp["Reason"]) == (start_time == "at_creation")
    assert status(site, queued) == "PENDING"  # never stopped
    assert sandbox.emulator.counters["requests"].get("StopJob", 0) == 0
    assert site.fetch("/") == (200, b"v1")


# ---------------------------------------------------------------------------- the concurrent-jobs limit
@pytest.mark.parametrize("over_limit", OVER_LIMIT)
def test_its_own_job_waits_for_a_concurrency_slot(site, sandbox, over_limit):
    hold_the_only_slot(site, sandbox, over_limit, duration=1.5)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "mine"}))))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"mine")
    starts = sandbox.emulator.counters["requests"]["StartDeployment"]
    # queued: one start each (the other's, ours); refused: ours is refused, then accepted
    assert starts == 2 if over_limit == "queued" else starts >= 3


@pytest.mark.parametrize("over_limit", OVER_LIMIT)
def test_a_slot_that_never_frees_fails_with_the_limit_named(site, sandbox, over_limit):
    hold_the_only_slot(site, sandbox, over_limit, duration=600)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "mine"}))), seconds=8)
    assert resp["Status"] == "FAILED"
    if over_limit == "refused":  # refused until the deadline (the quota may free), then this reason
        assert resp["Reason"].startswith(
            f"StartDeployment on {site.app_id}/{site.branch} refused (LimitExceededException) for "
        )
        assert "request a quota increase" in resp["Reason"] and "job 1 stopped" in resp["Reason"]
    else:  # queued: accepted, PENDING until the deadline, then stopped
        assert resp["Reason"].startswith(
            "Amplify job 1 still PENDING near the Lambda timeout: stopped it (queued"
        )
    assert status(site, "1") == "CANCELLED"


def test_limit_exceeded_is_retried_for_a_bounded_time(site, sandbox, monkeypatch):
    from botocore.retries.standard import ExponentialBackoff

    # botocore's own throttling backoff scaled to 20 ms (as tests/reliability's fast_botocore_backoff)
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    sandbox.emulator.set_knobs(throttle_code="LimitExceededException", throttle_next_api_calls=1000)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "x"}))), seconds=60)
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(
        f"ListJobs on {site.app_id}/{site.branch} refused (LimitExceededException) for 2 s: an Amplify quota"
    )
    sandbox.emulator.set_knobs(throttle_next_api_calls=0)
    assert site.jobs() == []


# ---------------------------------------------------------------------------- lost answers
@pytest.mark.parametrize("unstarted", UNSTARTED)
@pytest.mark.parametrize("lost_as", LOST_AS)
def test_a_lost_create_deployment_answer_stops_the_orphan_and_creates_again(
    site, sandbox, lost_as, unstarted
):
    sandbox.emulator.set_knobs(
        lose_next_create_deployment=1, lost_answer_as=lost_as, unstarted_status=unstarted
    )
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "mine"}))))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["JobId"] == "2"
    assert status(site, "1") == "CANCELLED"  # the orphan
    counters = sandbox.emulator.counters
    assert counters["injected"]["answer_lost"] == 1 and counters["requests"]["CreateDeployment"] == 2
    assert '"job_id":"1","action":"orphan_found"' in site.log_text
    assert site.fetch("/") == (200, b"mine")


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
@pytest.mark.parametrize("start_time", START_TIMES)
@pytest.mark.parametrize("lost_as", LOST_AS)
def test_a_lost_start_deployment_answer_is_settled_by_reading_the_job(
    site, sandbox, lost_as, start_time, mode
):
    sandbox.emulator.set_knobs(
        lose_next_start_deployment=1, lost_answer_as=lost_as, job_start_time=start_time
    )
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "mine"})), mode=mode))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert status(site, "1") == "SUCCEED"
    counters = sandbox.emulator.counters
    assert counters["injected"]["answer_lost"] == 1 and counters["requests"].get("StopJob", 0) == 0
    assert site.fetch("/") == (200, b"mine")


@pytest.mark.parametrize("over_limit", OVER_LIMIT)
def test_a_lost_start_of_a_job_queued_for_a_slot(site, sandbox, over_limit):
    hold_the_only_slot(site, sandbox, over_limit, duration=1.5)
    sandbox.emulator.set_knobs(lose_next_start_deployment=1)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "mine"}))))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"mine")


@pytest.mark.parametrize("lost_as", LOST_AS)
def test_a_lost_stop_job_answer_still_reports_the_job_stopped(site, sandbox, lost_as):
    sandbox.emulator.set_knobs(fail_next_uploads=50, lose_next_stop_job=1, lost_answer_as=lost_as)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "x"}))))
    assert resp["Status"] == "FAILED"
    assert "job 1 stopped, the live site is unchanged" in resp["Reason"]
    assert status(site, "1") == "CANCELLED"


@pytest.mark.parametrize("lost_as", LOST_AS)
def test_lost_get_job_answers_are_retried(site, sandbox, lost_as):
    sandbox.emulator.set_knobs(lose_next_get_job=2, lost_answer_as=lost_as)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "x"}))))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert sandbox.emulator.counters["injected"]["answer_lost"] == 2


# ---------------------------------------------------------------------------- uploads
@pytest.mark.parametrize("content_md5", ["optional", "required"])
def test_files_mode_sends_content_md5(site, sandbox, content_md5):
    sandbox.emulator.set_knobs(upload_content_md5=content_md5)
    files = {"index.html": "<h1>md5</h1>", "a/b.css": "body{}", "empty.txt": ""}
    resp = site.invoke("Create", site.props(site.source(site.put_zip(files)), mode="FILES"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert sandbox.emulator.counters["uploads_rejected"] == 0
    assert site.fetch("/a/b.css") == (200, b"body{}")


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_an_expired_upload_url_is_reported_as_expired(site, sandbox, mode):
    sandbox.emulator.set_knobs(upload_url_expiry=0)
    resp = site.invoke("Create", site.props(site.source(site.put_zip({"index.html": "x"})), mode=mode))
    assert resp["Status"] == "FAILED"
    what = "the site zip" if mode == "ZIP" else "index.html"
    assert resp["Reason"].startswith(f"upload of {what} refused: its upload URL has expired")
    assert "job 1 stopped" in resp["Reason"] or len(resp["Reason"]) == 256
    assert status(site, "1") == "CANCELLED"
    assert sandbox.emulator.counters["requests"].get("StartDeployment", 0) == 0
