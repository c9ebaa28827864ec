"""The handler end to end, invoked the way Lambda does (index.handler(event, context)) with real
CloudFormation-shaped events, against the project's Amplify emulator and moto S3 on 127.0.0.1; the
response is read from what the local HTTPS "ResponseURL" receiver got."""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
import urllib.request
from collections import namedtuple

import pytest
from handler_support import assert_no_secrets, make_zip, occupy_the_only_job_slot, race_for_the_branch

from amplify_deployment_handler import index
from amplify_deployment_handler.upload import UploadPolicy

shutil_usage = namedtuple("shutil_usage", "total used free")
FAST_UPLOADS = UploadPolicy(attempts=3, timeout=2.0, backoff_base=0.05, backoff_max=0.1)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    """Upload retries with short pauses (the policy's shape is unchanged; only the waits shrink)."""
    real = index.settings_from_env
    monkeypatch.setattr(index, "settings_from_env", lambda: dataclasses.replace(real(), upload=FAST_UPLOADS))


def upload_zip(url, files):
    req = urllib.request.Request(url, data=make_zip(files), method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_create_deploys_the_site(site, mode):
    key = site.put_zip(
        {"index.html": "<h1>v1</h1>", "css/site.css": "body{}", "about/index.html": "about", "empty.txt": ""}
    )
    resp = site.invoke("Create", site.props(site.source(key), mode=mode))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["PhysicalResourceId"] == f"{site.app_id}/{site.branch}"
    assert resp["Data"] == {
        "JobId": "1",
        "BranchUrl": f"https://feature-site.{site.app_id}.amplifyapp.com",
        "FileCount": "4",
        "ByteCount": str(len("<h1>v1</h1>") + len("body{}") + len("about")),
        "FilesAdded": "4",  # a Create adds every file
        "FilesChanged": "0",
        "FilesRemoved": "0",
    }
    assert site.fetch("/") == (200, b"<h1>v1</h1>")
    assert site.fetch("/css/site.css") == (200, b"body{}")
    assert site.fetch("/about/") == (200, b"about")
    assert site.fetch("/empty.txt") == (200, b"")
    assert ('"mode":"ZIP direct"' if mode == "ZIP" else '"mode":"FILES"') in site.log_text
    assert_no_secrets(site, resp)


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_large_files_arrive_intact(site, mode):
    blob = random.Random(7).randbytes(3 * 1024 * 1024)
    text = ("line of text\n" * 200_000).encode()
    key = site.put_zip({"index.html": "i", "assets/blob.bin": blob, "assets/big.txt": text})
    resp = site.invoke("Create", site.props(site.source(key), mode=mode))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["ByteCount"] == str(1 + len(blob) + len(text))
    assert site.fetch("/assets/blob.bin") == (200, blob)
    assert site.fetch("/assets/big.txt") == (200, text)


def test_a_zip_whose_names_need_rewriting_is_rebuilt(site):
    key = site.put_zip({"./index.html": "dotted", "css//a.css": "a"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert '"mode":"ZIP merged"' in site.log_text
    assert site.fetch("/") == (200, b"dotted")
    assert site.fetch("/css/a.css") == (200, b"a")


def test_the_merged_zip_spool_is_removed(site, handler_env, tmp_path):
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    handler_env(AMPLIFY_DEPLOYMENT_TMP_DIR=str(spool_dir))
    k1, k2 = site.put_zip({"index.html": "a"}), site.put_zip({"b.txt": "b"})
    resp = site.invoke("Create", site.props(site.source(k1), site.source(k2)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert '"stage":"prepare","merged_zip_bytes":' in site.log_text
    assert list(spool_dir.iterdir()) == []


def test_too_little_tmp_space_fails_before_any_job(site, monkeypatch):
    from amplify_deployment_handler import merged_zip

    monkeypatch.setattr(merged_zip.shutil, "disk_usage", lambda path: shutil_usage(total=10, used=10, free=0))
    k1, k2 = site.put_zip({"index.html": "a"}), site.put_zip({"b.txt": "b"})
    resp = site.invoke("Create", site.props(site.source(k1), site.source(k2)))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(
        "the merged site zip does not fit in /tmp: raise the function's ephemeral"
    )
    assert site.amplify.list_jobs(appId=site.app_id, branchName=site.branch)["jobSummaries"] == []


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_several_sources_later_wins(site, mode):
    k1 = site.put_zip({"index.html": "old", "a.txt": "from one", "shared/x.js": "one"})
    k2 = site.put_zip({"index.html": "new", "shared/x.js": "two"})
    resp = site.invoke("Create", site.props(site.source(k1), site.source(k2), mode=mode))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["FileCount"] == "3"
    assert site.fetch("/") == (200, b"new")
    assert site.fetch("/a.txt") == (200, b"from one")
    assert site.fetch("/shared/x.js") == (200, b"two")


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
@pytest.mark.parametrize("json_escape", [False, True])
def test_markers_are_substituted(site, mode, json_escape):
    key = site.put_zip(
        {
            "index.html": "<p><<marker:0xbaba:0>></p>",
            "config.json": '{"api": "<<marker:0xbaba:1>>", "n": "<<marker:0xbaba:0>>"}',
        }
    )
    markers = {"<<marker:0xbaba:0>>": "Hello", "<<marker:0xbaba:1>>": 'https://api.example.com/"v1"'}
    resp = site.invoke("Create", site.props(site.source(key, markers, json_escape), mode=mode))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    api = 'https://api.example.com/\\"v1\\"' if json_escape else 'https://api.example.com/"v1"'
    assert site.fetch("/") == (200, b"<p>Hello</p>")
    assert site.fetch("/config.json") == (200, f'{{"api": "{api}", "n": "Hello"}}'.encode())


def test_update_replaces_content_and_delete_leaves_it(site):
    k1 = site.put_zip({"index.html": "v1"})
    first = site.invoke("Create", site.props(site.source(k1)))
    assert first["Status"] == "SUCCESS", first["Reason"]
    k2 = site.put_zip({"index.html": "v2"})
    pid = first["PhysicalResourceId"]
    second = site.invoke(
        "Update", site.props(site.source(k2)), physical_id=pid, old_props=site.props(site.source(k1))
    )
    assert second["Status"] == "SUCCESS", second["Reason"]
    assert second["PhysicalResourceId"] == pid and second["Data"]["JobId"] == "2"
    assert site.fetch("/") == (200, b"v2")
    gone = site.invoke("Delete", site.props(site.source(k2)), physical_id=pid)
    assert gone["Status"] == "SUCCESS" and gone["PhysicalResourceId"] == pid
    assert site.fetch("/") == (200, b"v2")
    jobs = site.amplify.list_jobs(appId=site.app_id, branchName=site.branch)["jobSummaries"]
    assert len(jobs) == 2  # Delete did not touch Amplify
    assert_no_secrets(site, first, second, gone)


def test_delete_does_not_sleep_even_with_a_long_timeout(site):
    # crhelper sleeps 120 s on Delete by default when that much time is left; ours must not
    done = []
    worker = threading.Thread(
        target=lambda: done.append(site.invoke("Delete", site.props(), physical_id="d1/main", seconds=900))
    )
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "Delete is still sleeping"
    assert done[0]["Status"] == "SUCCESS" and done[0]["PhysicalResourceId"] == "d1/main"


def test_a_failed_job_names_job_and_step_and_keeps_the_old_site(site, sandbox):
    k1 = site.put_zip({"index.html": "good"})
    first = site.invoke("Create", site.props(site.source(k1)))
    assert first["Status"] == "SUCCESS", first["Reason"]
    sandbox.emulator.knobs.fail_next_jobs = 1
    sandbox.emulator.knobs.fail_reason = "Disk full on the deploy fleet."
    k2 = site.put_zip({"index.html": "bad"})
    resp = site.invoke(
        "Update", site.props(site.source(k2)), physical_id=first["PhysicalResourceId"], old_props={}
    )
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("Amplify job 2 FAILED at step ")
    assert "Disk full on the deploy fleet." in resp["Reason"]
    assert len(resp["Reason"]) <= 256 and "\n" not in resp["Reason"]
    assert resp["PhysicalResourceId"] == first["PhysicalResourceId"]
    assert site.fetch("/") == (200, b"good")
    assert_no_secrets(site, resp)


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_an_upload_failing_then_succeeding_is_retried(site, sandbox, mode):
    sandbox.emulator.knobs.fail_next_uploads = 2
    key = site.put_zip({"index.html": "retried"})
    resp = site.invoke("Create", site.props(site.source(key), mode=mode))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"retried")
    assert sandbox.emulator.counters["injected"]["upload_failed"] == 2
    assert "retrying" in site.log_text
    assert_no_secrets(site, resp)


def test_a_stalled_upload_is_retried(site, sandbox):
    sandbox.emulator.knobs.stall_next_uploads = 1
    sandbox.emulator.knobs.stall_seconds = 4
    key = site.put_zip({"index.html": "after stall"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert sandbox.emulator.counters["injected"]["upload_stalled"] == 1
    assert "timed out" in site.log_text
    assert site.fetch("/") == (200, b"after stall")


def test_a_dropped_upload_connection_is_retried(site, sandbox):
    sandbox.emulator.knobs.drop_next_uploads = 1
    key = site.put_zip({"index.html": "after drop"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"after drop")


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_an_upload_that_keeps_failing_stops_the_job_before_start(site, sandbox, mode):
    k1 = site.put_zip({"index.html": "live"})
    assert site.invoke("Create", site.props(site.source(k1)))["Status"] == "SUCCESS"
    sandbox.emulator.knobs.fail_next_uploads = 50
    k2 = site.put_zip({"index.html": "never"})
    resp = site.invoke(
        "Update", site.props(site.source(k2), mode=mode), physical_id=f"{site.app_id}/{site.branch}"
    )
    assert resp["Status"] == "FAILED"
    what = "index.html" if mode == "FILES" else "the site zip"
    assert resp["Reason"].startswith(f"upload of {what} failed after 3 attempts (HTTP 500")
    assert "job 2 stopped, the live site is unchanged" in resp["Reason"]
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/") == (200, b"live")
    # the branch is not blocked: the next deployment goes through
    sandbox.emulator.knobs.fail_next_uploads = 0
    again = site.invoke(
        "Update", site.props(site.source(k2), mode=mode), physical_id=f"{site.app_id}/{site.branch}"
    )
    assert again["Status"] == "SUCCESS", again["Reason"]
    assert site.fetch("/") == (200, b"never")
    assert_no_secrets(site, resp, again)


def test_a_busy_branch_is_waited_for(site, sandbox):
    # another deployment is running on the branch (started by hand, like a second stack would)
    sandbox.emulator.knobs.job_duration = 1.5
    created = site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)
    upload_zip(created["zipUploadUrl"], {"index.html": "other"})
    site.amplify.start_deployment(appId=site.app_id, branchName=site.branch, jobId=created["jobId"])
    sandbox.emulator.knobs.job_duration = 0.2
    key = site.put_zip({"index.html": "mine"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["JobId"] == "2"
    assert site.job("1")["summary"]["status"] == "SUCCEED"
    assert '"stage":"wait","job_id":"1","status":"' in site.log_text and '"action":"waiting"' in site.log_text
    assert site.fetch("/") == (200, b"mine")


def test_a_job_that_takes_the_branch_before_create_is_waited_for(site, sandbox, monkeypatch):
    # another deployment wins the race between our ListJobs and our CreateDeployment
    calls = race_for_the_branch(site, sandbox, monkeypatch)
    key = site.put_zip({"index.html": "mine"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert len(calls) == 2 and resp["Data"]["JobId"] == "2"
    assert "another job took the branch" in site.log_text
    assert site.fetch("/") == (200, b"mine")


def test_a_job_cancelled_by_someone_else_fails_with_its_reason(site, sandbox):
    sandbox.emulator.knobs.job_duration = 30
    key = site.put_zip({"index.html": "x"})

    def stop_when_running():
        for _ in range(100):
            jobs = site.amplify.list_jobs(appId=site.app_id, branchName=site.branch)["jobSummaries"]
            if (
                jobs
                and jobs[0]["status"] in ("PENDING", "RUNNING")
                and jobs[0]["startTime"] != jobs[0]["commitTime"]
            ):
                site.amplify.stop_job(appId=site.app_id, branchName=site.branch, jobId=jobs[0]["jobId"])
                return
            time.sleep(0.05)

    stopper = threading.Thread(target=stop_when_running)
    stopper.start()
    resp = site.invoke("Create", site.props(site.source(key)))
    stopper.join()
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("Amplify job 1 CANCELLED at step ")
    assert "cancelled by StopJob" in resp["Reason"]


def test_an_abandoned_pending_job_is_stopped(site, handler_env):
    # a crashed invocation left a created-but-never-started job: it blocks the branch until stopped
    site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)
    handler_env(AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT="1")
    time.sleep(1.2)  # the job is now older than the function timeout
    key = site.put_zip({"index.html": "recovered"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.job("1")["summary"]["status"] == "CANCELLED"
    assert resp["Data"]["JobId"] == "2"
    assert '"stage":"wait","job_id":"1","status":"PENDING","action":"stopping"' in site.log_text
    assert site.fetch("/") == (200, b"recovered")


def test_a_young_pending_job_is_not_stolen(site, handler_env):
    # a PENDING job younger than the function timeout may belong to a live invocation: wait, then give up
    site.amplify.create_deployment(appId=site.app_id, branchName=site.branch)
    key = site.put_zip({"index.html": "x"})
    resp = site.invoke("Create", site.props(site.source(key)), seconds=5)
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(f"branch {site.app_id}/{site.branch} is busy: job 1 still PENDING")
    assert site.job("1")["summary"]["status"] == "PENDING"


def test_a_job_still_running_near_the_deadline_is_stopped(site, sandbox):
    k1 = site.put_zip({"index.html": "live"})
    assert site.invoke("Create", site.props(site.source(k1)))["Status"] == "SUCCESS"
    sandbox.emulator.knobs.job_duration = 60
    k2 = site.put_zip({"index.html": "slow"})
    resp = site.invoke(
        "Update", site.props(site.source(k2)), physical_id=f"{site.app_id}/{site.branch}", seconds=5
    )
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("Amplify job 2 still ")
    assert "near the Lambda timeout: stopped it" in resp["Reason"]
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/") == (200, b"live")


def test_throttled_create_deployment_is_retried(site, sandbox):
    sandbox.emulator.knobs.throttle_code = "LimitExceededException"
    sandbox.emulator.knobs.throttle_next_api_calls = 2
    key = site.put_zip({"index.html": "throttled"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert sandbox.emulator.counters["injected"]["throttled"] == 2


def test_start_deployment_waits_for_a_concurrency_slot(site, sandbox):
    # the account's only job slot is taken by another branch; StartDeployment answers LimitExceeded
    occupy_the_only_job_slot(site, sandbox)
    key = site.put_zip({"index.html": "mine"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"mine")
    # the other branch's start, our refused start(s), our accepted start
    assert sandbox.emulator.counters["requests"]["StartDeployment"] >= 3


@pytest.mark.parametrize(
    "props,fragment",
    [
        ({"BranchName": "main", "Sources": []}, "invalid properties: AppId is required"),
        ({"AppId": "d1", "BranchName": "main", "UploadMode": "TAR", "Sources": []}, "UploadMode must be"),
        ({"AppId": "d1", "BranchName": "main", "Sources": "s3://x"}, "Sources must be a non-empty list"),
    ],
)
def test_malformed_props_fail_with_a_one_line_reason(site, props, fragment):
    resp = site.invoke("Create", props)
    assert resp["Status"] == "FAILED"
    assert fragment in resp["Reason"]
    assert "\n" not in resp["Reason"] and "Traceback" not in resp["Reason"]
    assert "Traceback" not in site.log_text
    assert resp["PhysicalResourceId"]  # crhelper made one up: CloudFormation needs it to roll back


def test_unsafe_zip_fails_before_any_job(site):
    key = site.put_zip({"../escape.html": "x", "index.html": "y"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"] == "Sources[0]: entry '../escape.html' contains '..'"
    assert site.amplify.list_jobs(appId=site.app_id, branchName=site.branch)["jobSummaries"] == []


def test_missing_source_object_is_named(site):
    resp = site.invoke("Create", site.props(site.source("assets/missing.zip")))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(f"cannot read source s3://{site.bucket}/assets/missing.zip")


def test_a_site_without_index_html_deploys_with_a_warning(site):
    key = site.put_zip({"app/main.js": "x"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    warnings = [r for r in site.records if r.levelno == logging.WARNING]
    assert any("no index.html" in r.getMessage() for r in warnings)
