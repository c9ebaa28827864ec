"""Pure: job states, failure reasons, the deadline and CloudFormation reasons."""

from __future__ import annotations

import datetime as dt

from amplify_deployment_handler import index
from amplify_deployment_handler.deadline import Deadline, safety_margin
from amplify_deployment_handler.jobs import classify, failure_reason

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def job(job_id, status, age_s):
    return {"jobId": str(job_id), "status": status, "startTime": NOW - dt.timedelta(seconds=age_s)}


def test_classify_waits_for_unfinished_and_abandons_old_pending():
    state = classify(
        [
            job(5, "RUNNING", 10),
            job(4, "PENDING", 1000),
            job(3, "PENDING", 100),
            job(2, "SUCCEED", 5000),
            job(1, "CANCELLING", 5000),
            job(0, "FAILED", 5000),
        ],
        NOW,
        900,
    )
    assert [j["jobId"] for j in state.blocking] == ["5", "3", "1"]
    assert [j["jobId"] for j in state.abandoned] == ["4"]


def test_classify_free_branch():
    state = classify([job(2, "SUCCEED", 1), job(1, "CANCELLED", 1)], NOW, 900)
    assert state.blocking == () and state.abandoned == ()


def test_failure_reason_names_job_step_and_status_reason():
    steps = [
        {"stepName": "BUILD", "status": "SUCCEED", "statusReason": "ok"},
        {"stepName": "DEPLOY", "status": "FAILED", "statusReason": "Missing\n uploads:  index.html"},
    ]
    assert (
        failure_reason("7", "FAILED", steps)
        == "Amplify job 7 FAILED at step DEPLOY: Missing uploads: index.html"
    )
    assert failure_reason("8", "CANCELLED", []) == "Amplify job 8 CANCELLED"
    long = failure_reason(
        "9", "FAILED", [{"stepName": "DEPLOY", "status": "FAILED", "statusReason": "x" * 500}]
    )
    assert len(long) < 200 and long.startswith("Amplify job 9 FAILED at step DEPLOY: xxx")


def test_safety_margin_bounds():
    assert safety_margin(900) == 30
    assert safety_margin(100) == 10
    assert safety_margin(5) == 2


def test_deadline_from_context_keeps_a_margin():
    class Ctx:
        def get_remaining_time_in_millis(self):
            return 100_000

    t = [1000.0]
    d = Deadline.from_context(Ctx(), clock=lambda: t[0])
    assert d.remaining() == 90
    t[0] += 95
    assert d.expired() and d.remaining() == 0


def test_clean_reason_is_one_line_without_urls_and_keeps_the_start():
    reason = index.clean_reason(
        "upload failed\n at https://s3.amazonaws.com/x?X-Amz-Signature=abc now " + "y" * 400
    )
    assert "X-Amz" not in reason and "https" not in reason and "\n" not in reason
    assert reason.startswith("upload failed at <url> now") and len(reason) == 256


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT", "300")
    monkeypatch.setenv("AMPLIFY_DEPLOYMENT_UPLOAD_WORKERS", "8")
    s = index.settings_from_env()
    assert s.abandoned_after_s == 300 and s.workers == 8
    monkeypatch.setenv("AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT", "soon")
    monkeypatch.delenv("AMPLIFY_DEPLOYMENT_UPLOAD_WORKERS")
    s = index.settings_from_env()
    assert s.abandoned_after_s == 900 and s.workers == 32
