"""Amplify answering throttling or LimitExceededException (the account's concurrent-jobs limit) on
any call: retried with backoff within the Lambda's remaining time. A FaultProxy in front of the
emulator's API arms the emulator's own `throttle_next_api_calls` knob right before one chosen
operation, so exactly that call (and its retries) is throttled - more times than botocore's own
5 attempts, so the handler's loop must carry it."""

from __future__ import annotations

import re

import pytest
from fault_proxy import amplify_operation
from reliability_support import assert_no_secrets

BOTOCORE_ATTEMPTS = 5  # the handler's botocore config: standard retries, 5 attempts

pytestmark = pytest.mark.usefixtures("fast_botocore_backoff")


def _arm(sandbox, code: str, times: int):
    return lambda: sandbox.emulator.set_knobs(throttle_code=code, throttle_next_api_calls=times)


@pytest.mark.parametrize(
    "operation,code",
    [
        ("ListJobs", "LimitExceededException"),
        ("CreateDeployment", "TooManyRequestsException"),
        ("StartDeployment", "LimitExceededException"),
        ("GetJob", "TooManyRequestsException"),
    ],
)
def test_throttling_on_any_call_is_retried(site, sandbox, amplify_faults, operation, code):
    amplify_faults.before(operation, amplify_operation(operation), _arm(sandbox, code, BOTOCORE_ATTEMPTS + 1))
    key = site.put_zip({"index.html": "throttled but deployed"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert amplify_faults.hits.get(operation) == 1
    assert sandbox.emulator.counters["injected"]["throttled"] == BOTOCORE_ATTEMPTS + 1
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    # 6 throttles of one call, more than botocore's 5 attempts: the handler's own loop carried it
    assert site.fetch("/") == (200, b"throttled but deployed")
    assert_no_secrets(site.log_text + str(resp))


def test_a_throttled_stop_job_is_retried_so_the_branch_is_not_left_blocked(
    site, sandbox, amplify_faults, fast_uploads
):
    """An upload keeps failing, and the StopJob that must release the branch is throttled too."""
    site.deploy_live({"index.html": "live"})
    sandbox.emulator.knobs.fail_next_uploads = 50
    amplify_faults.before(
        "StopJob",
        amplify_operation("StopJob"),
        _arm(sandbox, "LimitExceededException", BOTOCORE_ATTEMPTS + 1),
    )
    key = site.put_zip({"index.html": "never"})
    resp = site.invoke("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main")
    assert amplify_faults.hits.get("StopJob") == 1
    assert resp["Status"] == "FAILED"
    assert "job 2 stopped, the live site is unchanged" in resp["Reason"]
    assert site.job("2")["summary"]["status"] == "CANCELLED"  # the reason's claim holds
    assert site.fetch("/") == (200, b"live")


def test_a_job_that_cannot_be_stopped_or_read_until_the_deadline_fails_saying_so(
    site, sandbox, amplify_faults
):
    """The job still runs at the deadline of a 5 s function, and from the first StopJob on every
    Amplify call is throttled until the invocation has ended: the handler can neither stop the job
    nor see it end. The one true answer is FAILED, once and in time, naming the job and saying that
    it could not be stopped and must be checked before a retry (it may still go live)."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.knobs.job_duration = 600
    throttle_all = _arm(sandbox, "TooManyRequestsException", 10**6)
    amplify_faults.before("StopJob", amplify_operation("StopJob"), throttle_all)
    key = site.put_zip({"index.html": "v2"})
    event = site.event("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main")
    site.deliver(event, seconds=5)
    sandbox.emulator.set_knobs(throttle_next_api_calls=0)
    answers = site.responses(event)
    assert len(answers) == 1, [a["Reason"] for a in answers]
    assert answers[0]["Status"] == "FAILED"
    reason = answers[0]["Reason"]
    status = site.job("2")["summary"]["status"]
    assert status in ("PENDING", "RUNNING"), status  # what the reason says: not stopped
    assert re.match(r"Amplify job 2 still (PENDING|RUNNING) near the Lambda timeout; ", reason), reason
    assert "; job 2 could not be stopped (it blocks the branch until it ends): check it" in reason
    assert amplify_faults.hits.get("StopJob") == 1
    assert sandbox.emulator.counters["injected"]["throttled"] >= 3  # the stop and the reads, each refused
    assert_no_secrets(site.log_text + str(answers))
