"""Regression tests for what the randomized soak (bench/soak, docs/reliability.md "Randomized soak")
found: each test drives the one combination of faults the soak's shrinker reduced a violation to, in
process against the emulator and moto, and asserts the invariant that was broken."""

from __future__ import annotations

from fault_proxy import amplify_operation
from reliability_support import assert_no_secrets, assert_reason


def test_soak_found_a_job_that_succeeds_as_it_is_stopped_at_the_deadline_is_a_success(
    site, sandbox, amplify_faults
):
    """The job is still RUNNING when the deadline comes, and has SUCCEEDED by the time StopJob
    arrives (the emulator's clock jumps past its end right before the StopJob): the StopJob is
    refused, the new site is live. Before the fix the handler answered FAILED "stopped it; the
    previous content stays live" while the branch served the new site."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.knobs.job_duration = 600
    amplify_faults.before(
        "StopJob", amplify_operation("StopJob"), lambda: sandbox.emulator.set_knobs(clock_offset=1200)
    )
    key = site.put_zip({"index.html": "v2"})
    resp = site.invoke("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main", seconds=5)
    assert amplify_faults.hits.get("StopJob") == 1  # the deadline came while the job ran
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["JobId"] == "2"
    assert site.job("2")["summary"]["status"] == "SUCCEED"
    assert site.fetch("/index.html") == (200, b"v2")
    assert_no_secrets(site.log_text + str(resp))


def test_soak_found_a_job_that_can_no_longer_be_read_is_stopped_before_failing(site, sandbox):
    """Every GetJob answer of the poll is lost (the connection reset, more times than botocore
    retries): the handler cannot follow its running job. Before the fix it answered FAILED and left
    the job RUNNING, which then went live behind the FAILED answer."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(job_duration=600, lost_answer_as="reset", lose_next_get_job=50)
    key = site.put_zip({"index.html": "v2"})
    resp = site.invoke("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main", seconds=30)
    assert_reason(resp, "GetJob failed on ")
    assert "job 2 stopped, the live site is unchanged" in resp["Reason"]
    sandbox.emulator.set_knobs(lose_next_get_job=0, clock_offset=1200)  # long past the job's end
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/index.html") == (200, b"v1")


def test_soak_found_create_deployment_losing_every_answer_names_the_jobs_it_stopped(site, sandbox):
    """Every CreateDeployment is carried out and its answer lost: each orphan job is found and
    stopped, then the handler gives up. Before the fix the reason named none of the three jobs."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(lose_next_create_deployment=3, lost_answer_as="500")
    key = site.put_zip({"index.html": "v2"})
    resp = site.invoke("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main")
    assert_reason(resp, f"CreateDeployment on {site.app_id}/main lost its answer 3 times")
    assert "job 2, job 3, job 4 stopped" in resp["Reason"]
    assert [j["status"] for j in site.jobs()] == ["CANCELLED", "CANCELLED", "CANCELLED", "SUCCEED"]
    assert site.fetch("/index.html") == (200, b"v1")
