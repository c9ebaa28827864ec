"""Regression tests for what the randomized soak (bench/soak, docs/reliability.md "Randomized soak")
found: each test drives the one combination of faults the soak's shrinker reduced a violation to, in
process against the emulator and moto, and asserts the invariant that was broken."""

from __future__ import annotations

from fault_proxy import amplify_operation
from reliability_support import assert_no_secrets, assert_reason


def _deliver_update(site, files: dict[str, str], seconds: float) -> dict:
    """Deliver an Update of the branch to ``files`` (a new zip) to a ``seconds`` function, as the driver
    does, and return its one answer (a second answer, crhelper's timer for one, fails the test)."""
    key = site.put_zip(files)
    event = site.event("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main")
    site.deliver(event, seconds=seconds)
    answers = site.responses(event)
    assert len(answers) == 1, [a["Reason"] for a in answers]
    return answers[0]


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


def test_soak_found_a_stalled_amplify_call_near_the_deadline_is_cut_off_so_the_handler_answers_in_time(
    site, sandbox, amplify_faults
):
    """The first GetJob of the poll hangs (30 s, as long as the client's read timeout) in a 6 s
    invocation. Before the fix the handler waited for it past its deadline: crhelper's timer answered
    "Execution timed out" and the running job was left to go live. Now no Amplify call runs past the
    deadline: the GetJob is given up, the job stopped, and the handler answers once, itself."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(job_duration=600)
    amplify_faults.before(
        "GetJob",
        amplify_operation("GetJob"),
        lambda: sandbox.emulator.set_knobs(stall_seconds=30, stall_next_api_calls=1),
    )
    answer = _deliver_update(site, {"index.html": "v2"}, seconds=6)
    assert_reason(answer, f"GetJob on {site.app_id}/main: no answer before the deadline")
    assert "job 2 stopped, the live site is unchanged" in answer["Reason"]
    assert sandbox.emulator.counters["injected"]["api_stalled"] == 1
    sandbox.emulator.set_knobs(clock_offset=1200)  # long past the job's end
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/index.html") == (200, b"v1")
    assert_no_secrets(site.log_text + str(answer))


def test_soak_found_a_create_deployment_failing_after_a_lost_answer_names_the_orphan_it_stopped(
    site, sandbox, amplify_faults
):
    """The first CreateDeployment is carried out and its answer lost: its orphan job is found and
    stopped. The second is refused until the deadline (a quota). Before the fix the reason named no
    job although the handler had made (and stopped) one; the lost call and the job come first, where
    the reason's 256-character cut cannot drop them behind a long refusal."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(lose_next_create_deployment=1, lost_answer_as="500")
    creates: list[int] = []

    def refuse_the_second() -> None:
        creates.append(1)
        if len(creates) == 2:
            sandbox.emulator.set_knobs(throttle_code="LimitExceededException", throttle_next_api_calls=1000)

    amplify_faults.before(
        "CreateDeployment", amplify_operation("CreateDeployment"), refuse_the_second, times=2
    )
    key = site.put_zip({"index.html": "v2"})
    resp = site.invoke("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main", seconds=8)
    sandbox.emulator.set_knobs(throttle_next_api_calls=0)
    assert len(creates) == 2
    where = f"{site.app_id}/main"
    assert_reason(
        resp,
        f"CreateDeployment on {where} lost its answer (InternalFailureException); job 2 stopped; "
        f"then: CreateDeployment on {where} refused (LimitExceededException)",
    )
    assert [j["status"] for j in site.jobs()] == ["CANCELLED", "SUCCEED"]
    assert site.fetch("/index.html") == (200, b"v1")


def test_soak_found_a_throttled_search_for_a_lost_create_deployments_orphan_still_stops_it(
    site, sandbox, amplify_faults, monkeypatch
):
    """CreateDeployment is carried out and its answer lost; the ListJobs that looks for its orphan
    is throttled as often as botocore tries. Before the fix that ListJobs went through botocore's
    retries, whose throttling backoff (made long here: base 10 s) ran past the deadline: the handler
    gave up and left the orphan PENDING, blocking the branch. Now it goes through the one-attempt
    client with the handler's own pauses (made short here), finds the orphan and stops it."""
    from botocore.retries.standard import ExponentialBackoff

    from amplify_deployment_handler import amplify

    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 10)
    monkeypatch.setattr(amplify, "backoff", lambda attempt, base, cap: 0.05)
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(lose_next_create_deployment=1, lost_answer_as="500")
    lists: list[int] = []

    def throttle_the_search() -> None:
        lists.append(1)
        if len(lists) == 2:  # the first ListJobs waits for a free branch, the second looks for the orphan
            sandbox.emulator.set_knobs(throttle_code="TooManyRequestsException", throttle_next_api_calls=5)

    amplify_faults.before("ListJobs", amplify_operation("ListJobs"), throttle_the_search, times=2)
    key = site.put_zip({"index.html": "v2"})
    resp = site.invoke("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main", seconds=8)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert sandbox.emulator.counters["injected"]["throttled"] == 5
    assert resp["Data"]["JobId"] == "3"
    assert [j["status"] for j in site.jobs()] == ["SUCCEED", "CANCELLED", "SUCCEED"]
    assert site.fetch("/index.html") == (200, b"v2")


def test_soak_found_a_failed_search_for_a_second_orphan_still_names_the_first_one_stopped(
    site, sandbox, amplify_faults
):
    """Two CreateDeployments in a row are carried out and their answers lost. The first orphan is
    found and stopped; the ListJobs that looks for the second is refused (LimitExceeded) until the
    deadline. Before the fix the reason was that ListJobs refusal alone: it named neither the lost
    call nor the job the handler had made and stopped (soak seed final-3, lane 1, deployment 105)."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(lose_next_create_deployment=2, lost_answer_as="500")
    lists: list[int] = []

    def refuse_the_second_search() -> None:
        lists.append(1)
        if len(lists) == 3:  # 1: the branch is free; 2: the first orphan's search; 3: the second's
            sandbox.emulator.set_knobs(throttle_code="LimitExceededException", throttle_next_api_calls=1000)

    amplify_faults.before("ListJobs", amplify_operation("ListJobs"), refuse_the_second_search, times=3)
    key = site.put_zip({"index.html": "v2"})
    resp = site.invoke("Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main", seconds=8)
    sandbox.emulator.set_knobs(throttle_next_api_calls=0)
    assert len(lists) == 3
    assert_reason(resp, f"CreateDeployment on {site.app_id}/main lost its answer (")
    assert "; job 2 stopped; the job it may have made could not be looked for: ListJobs" in resp["Reason"]
    statuses = [j["status"] for j in site.jobs()]
    assert statuses[1:] == ["CANCELLED", "SUCCEED"], statuses  # job 3, the unfound orphan, never started
    assert statuses[0] in ("CREATED", "PENDING"), statuses
    assert site.fetch("/index.html") == (200, b"v1")


def test_soak_found_a_hung_stop_job_in_the_grace_is_tried_again(site, sandbox, amplify_faults):
    """The poll's GetJob hangs past the deadline, and so does the StopJob that follows (two stalled
    calls of 30 s). Before the fix the StopJob's one try used all of the grace: "job 2 could not be
    stopped", and the job was left PENDING. Now a try in the grace gets a third of it, and the next
    one stops the job."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(job_duration=600)
    amplify_faults.before(
        "GetJob",
        amplify_operation("GetJob"),
        lambda: sandbox.emulator.set_knobs(stall_seconds=30, stall_next_api_calls=2),
    )
    answer = _deliver_update(site, {"index.html": "v2"}, seconds=6)
    assert_reason(answer, f"GetJob on {site.app_id}/main: no answer before the deadline")
    assert "job 2 stopped, the live site is unchanged" in answer["Reason"]
    assert sandbox.emulator.counters["injected"]["api_stalled"] == 2
    sandbox.emulator.set_knobs(clock_offset=1200)  # long past the job's end
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/index.html") == (200, b"v1")


def test_soak_found_a_poll_that_hangs_at_the_deadline_leaves_stop_job_time_for_several_tries(
    site, sandbox, amplify_faults
):
    """The poll's GetJob hangs, and so do the next three StopJob tries (four stalled calls of 30 s).
    Before the fix the GetJob was waited for up to the deadline, leaving StopJob only the grace (1 s
    here), too short for three hung tries and a fourth: "job 2 could not be stopped", the job left to
    go live. Now the poll's GetJob must answer a grace before the deadline, and each StopJob try gets
    at most a third of the grace: the fourth try stops the job."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(job_duration=600)
    amplify_faults.before(
        "GetJob",
        amplify_operation("GetJob"),
        lambda: sandbox.emulator.set_knobs(stall_seconds=30, stall_next_api_calls=4),
    )
    answer = _deliver_update(site, {"index.html": "v2"}, seconds=6)
    assert_reason(answer, f"GetJob on {site.app_id}/main: no answer before the deadline")
    assert "job 2 stopped, the live site is unchanged" in answer["Reason"]
    assert sandbox.emulator.counters["injected"]["api_stalled"] == 4
    sandbox.emulator.set_knobs(clock_offset=1200)  # long past the job's end
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/index.html") == (200, b"v1")


def test_soak_found_a_job_started_with_a_lost_answer_that_succeeds_before_the_stop_is_a_success(
    site, sandbox, amplify_faults
):
    """StartDeployment is carried out and its answer lost; the GetJob that would tell whether it
    started hangs until the deadline; meanwhile the job runs to SUCCEED, so the StopJob is refused.
    Before the fix the handler answered FAILED "job 2 could not be stopped" while the new site was
    live. Now the refused stop is settled by the job's end: SUCCESS."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(job_duration=0.5, lose_next_start_deployment=1, lost_answer_as="500")
    amplify_faults.before(
        "GetJob",
        amplify_operation("GetJob"),
        lambda: sandbox.emulator.set_knobs(stall_seconds=30, stall_next_api_calls=1),
    )
    answer = _deliver_update(site, {"index.html": "v2"}, seconds=6)
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["JobId"] == "2"
    assert sandbox.emulator.counters["injected"]["answer_lost"] == 1
    assert sandbox.emulator.counters["injected"]["api_stalled"] == 1
    assert site.job("2")["summary"]["status"] == "SUCCEED"
    assert site.fetch("/index.html") == (200, b"v2")


def test_soak_found_stop_job_tries_are_never_shorter_than_the_answers_amplify_gives(site, sandbox):
    """Every answer of Amplify takes 0.4 s, and the job still runs at the deadline of a 5 s function.
    The soak met this with 0.3 s answers on its loaded machine (seed final-2, lane 0, deployments 240
    and 325; r21-5's one violation too): each StopJob try in the grace got a third of it (0.33 s at
    the 1 s grace), shorter than an answer, so every try, and every read that would have seen the job
    end, was cut off; the handler answered "job 2 could not be stopped" and the job went live behind
    that FAILED. Now a try in the grace gets at least twice the slowest answer of the invocation (at
    most the grace): the first StopJob goes through and the live site is unchanged."""
    site.deploy_live({"index.html": "v1"})
    old = site.props(site.source(site.put_zip({"index.html": "v1"})))
    key = site.put_zip({"index.html": "v2"})
    sandbox.emulator.set_knobs(latency=0.4, job_duration=600)
    event = site.event(
        "Update", site.props(site.source(key)), physical_id=f"{site.app_id}/main", old_props=old
    )
    site.deliver(event, seconds=5)
    answers = site.responses(event)
    assert len(answers) == 1, [a["Reason"] for a in answers]
    assert_reason(answers[0], f"GetJob on {site.app_id}/main: no answer before the deadline")
    assert "job 2 stopped, the live site is unchanged" in answers[0]["Reason"]
    sandbox.emulator.set_knobs(latency=0.0, clock_offset=1200)  # long past the job's end
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/index.html") == (200, b"v1")


def test_soak_found_a_throttle_storm_on_the_reads_after_a_lost_start_still_sees_the_job_succeed(
    site, sandbox, amplify_faults
):
    """An upload stalls (2 s here, 3 s in the soak), StartDeployment is carried out and its answer
    lost, and the next eight
    Amplify calls are throttled (seed final-5, lane 2, deployment 104: an 8 s function, 0.1 s
    answers). Before the fix
    the GetJob that would tell whether the job started went through botocore's own retries, whose
    backoff (up to seconds a try) ran it into the deadline with the job unread; the StopJob tries in
    the 1 s grace used up the rest of the throttling, and the confirming read was given up with half
    a second left: "job 2 could not be stopped", FAILED, while the job went live. Now every GetJob is
    one attempt with our own retries, short near the deadline and the last one fitted to the time
    left: the read sees the job SUCCEED."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(
        job_duration=0.5,
        lose_next_start_deployment=1,
        lost_answer_as="500",
        latency=0.1,
        stall_next_uploads=1,
        stall_seconds=2,  # the retry must fit before the uploads end, a grace early (cefa906)
    )
    amplify_faults.before(
        "GetJob",
        amplify_operation("GetJob"),
        lambda: sandbox.emulator.set_knobs(throttle_next_api_calls=8),
    )
    answer = _deliver_update(site, {"index.html": "v2"}, seconds=8)
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["JobId"] == "2"
    assert sandbox.emulator.counters["injected"]["answer_lost"] == 1
    assert sandbox.emulator.counters["injected"]["throttled"] == 8
    assert site.job("2")["summary"]["status"] == "SUCCEED"
    assert site.fetch("/index.html") == (200, b"v2")
    assert_no_secrets(site.log_text + str(answer))


def test_soak_found_a_stalled_upload_leaves_its_throttled_stop_job_time_to_go_through(
    site, sandbox, amplify_faults
):
    """The upload stalls (30 s) in a 5 s function, and the StopJob that must release the branch is
    refused six times (LimitExceeded; seed final-6, lane 1, deployment 8). Before the fix the upload
    was waited for up to the deadline, leaving the StopJob one grace (1 s), too short for six
    refusals: "job 2 could not be stopped", the job left PENDING on the branch. Now the uploads end
    a grace before the deadline, as the poll's GetJob does: the StopJob has two graces and goes
    through."""
    site.deploy_live({"index.html": "v1"})
    sandbox.emulator.set_knobs(stall_next_uploads=1, stall_seconds=30)
    amplify_faults.before(
        "StopJob",
        amplify_operation("StopJob"),
        lambda: sandbox.emulator.set_knobs(throttle_code="LimitExceededException", throttle_next_api_calls=6),
    )
    answer = _deliver_update(site, {"index.html": "v2"}, seconds=5)
    assert_reason(answer, "upload of the site zip failed (timed out)")
    assert "job 2 stopped, the live site is unchanged" in answer["Reason"]
    assert sandbox.emulator.counters["injected"]["throttled"] == 6
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("/index.html") == (200, b"v1")
